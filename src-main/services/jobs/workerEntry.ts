import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { FieldcalError } from '../../../src-shared/ipc';

/**
 * Young-generation size of the job workers, in MB (64 MB semi-spaces; V8's default is 16 MB).
 * Training with tfjs makes a few thousand short-lived objects per step; with the default, scavenges
 * take ~15 % of a GAN-PO step (measured: median step 86 ms → 63 ms in a worker). Same as the
 * `--max-semi-space-size=64` that `npm run bench` runs with.
 */
export const JOB_WORKER_YOUNG_MB = 192;

/**
 * Starts a worker thread on the one worker entry: the built bundle's out/main/worker.js, or, when
 * running from source (tests, `tsx`), worker.ts after registering tsx's loader in the new thread
 * (Node does not pass `--import` hooks to workers).
 */
export function startWorker(options: WorkerOptions): Worker {
  const here = import.meta.url;
  if (/\.ts$/.test(here)) {
    const entry = new URL('./worker.ts', here).href;
    const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
    return new Worker(boot, { ...options, eval: true });
  }
  for (const rel of ['./worker.js', '../worker.js']) {
    const u = new URL(rel, here);
    if (existsSync(fileURLToPath(u))) return new Worker(u, options);
  }
  throw new FieldcalError('INTERNAL', `worker entry not found next to ${here}; rebuild with npm run build`);
}
