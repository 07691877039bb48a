import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { FieldcalError } from '../../../src-shared/ipc';

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
