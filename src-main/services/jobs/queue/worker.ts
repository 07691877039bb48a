import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { hostname } from 'node:os';
import type { Worker as Thread } from 'node:worker_threads';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { FieldcalError } from '../../../../src-shared/ipc';
import { writeFileAtomic } from '../../common/atomicFile';
import type { JobMessage, JobResult, JobWorkerData } from '../jobWorker';
import { JOB_WORKER_YOUNG_MB, startWorker } from '../workerEntry';
import type { SweepChildTask } from '../sweepExecutor';
import { parseQueueUrl, probeQueue, redisOptions } from './connection';
import {
  KEEP_SECONDS,
  QUEUE_NAME,
  cancelKey,
  checkpointFile,
  parseChildTask,
  verifyDataChecksums,
  type ChildProgress,
  type ChildReturn,
} from './protocol';

export interface QueueWorkerOptions {
  url: string;
  /** Children run at once, each in its own job-worker thread (default 1). */
  concurrency?: number;
  /** How this worker is named in the sweep's table (default `<hostname>:<pid>`). */
  name?: string;
  /**
   * BullMQ's job lock (ms, default 30000): a worker that died (SIGKILL, power) stops renewing it,
   * and its child goes to another worker once it expired (checked as often).
   */
  lockMs?: number;
  env?: NodeJS.ProcessEnv;
  queueName?: string;
  /** One line per child taken and finished (the CLI writes them to stderr). */
  log?: (line: string) => void;
}

export interface QueueWorkerHandle {
  name: string;
  where: string;
  /** Stops taking children; running ones are stopped (another worker takes them from their checkpoint). */
  close(): Promise<void>;
}

/** How often a running child's cancel flag is read (ms). */
const CANCEL_POLL_MS = 500;

/**
 * `fieldcal worker`: takes sweep children from the queue and runs each exactly as the local job
 * host does (a job-worker thread, the same spec, seed and messages), without a project: the
 * artifacts and checkpoints go to the child's shared `outDir`, the last checkpoint also to
 * `<outDir>/checkpoints/last.json`, from which a child given to another worker (this one killed)
 * resumes. Before running, the dataset files are checked against the coordinator's checksums. A
 * malformed job fails with a VALIDATION error; the worker goes on with the next.
 */
export async function startQueueWorker(o: QueueWorkerOptions): Promise<QueueWorkerHandle> {
  const conn = parseQueueUrl(o.url, o.env);
  const client = await probeQueue(conn);
  const name = o.name ?? `${hostname()}:${process.pid}`;
  const log = o.log ?? (() => undefined);
  const threads = new Set<Thread>();
  const lost = new Map<string, () => void>();
  const lockDuration = o.lockMs ?? 30_000;
  const worker = new Worker(
    o.queueName ?? QUEUE_NAME,
    async (job: Job) => runChild(job, { name, client, threads, lost, log }),
    {
      connection: redisOptions(conn),
      concurrency: o.concurrency ?? 1,
      lockDuration,
      stalledInterval: lockDuration,
      // a child whose workers keep dying is failed after 3 takeovers rather than retried forever
      maxStalledCount: 3,
      removeOnComplete: { age: KEEP_SECONDS },
      removeOnFail: { age: KEEP_SECONDS },
    },
  );
  worker.on('error', (e) => log(`worker ${name}: ${e.message.replaceAll(conn.password ?? '\u0000', '***')}`));
  // a lock this worker could not renew (its process stalled past lockMs) lets another worker take the
  // child from its checkpoint: this one stops its copy rather than run it twice into the same folder
  worker.on('lockRenewalFailed', (ids: string[]) => {
    for (const id of ids) lost.get(id)?.();
  });
  await worker.waitUntilReady();
  log(`worker ${name}: taking sweep children from ${conn.where}`);
  return {
    name,
    where: conn.where,
    close: async () => {
      await Promise.all([...threads].map((t) => t.terminate()));
      await worker.close(true).catch(() => undefined);
      client.disconnect();
    },
  };
}

async function runChild(
  job: Job,
  w: {
    name: string;
    client: Redis;
    threads: Set<Thread>;
    /** Per job id being run: stops it when its lock was lost. */
    lost: Map<string, () => void>;
    log: (line: string) => void;
  },
): Promise<ChildReturn> {
  const key = typeof job.data?.key === 'string' ? (job.data.key as string) : String(job.id);
  const fail = async (e: FieldcalError): Promise<never> => {
    w.log(`worker ${w.name}: child ${key} failed: ${e.code}: ${e.message}`);
    const msg: ChildProgress = {
      kind: 'error',
      key,
      worker: w.name,
      error: { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) },
    };
    await job.updateProgress(msg).catch(() => undefined);
    throw new UnrecoverableError(`${e.code}: ${e.message}`);
  };
  let task: SweepChildTask;
  try {
    task = parseChildTask(job.data);
    await verifyDataChecksums(task);
  } catch (err) {
    return fail(err instanceof FieldcalError ? err : new FieldcalError('INTERNAL', (err as Error).message));
  }
  // a child taken over from a worker that died resumes from the checkpoint it left in the run folder
  const cpFile = checkpointFile(task.outDir);
  let resume: unknown = task.resume ?? null;
  let resumedAt: number | null = null;
  try {
    const saved = JSON.parse(await readFile(cpFile, 'utf8')) as { iteration: number; state: unknown };
    resume = saved.state;
    resumedAt = saved.iteration;
  } catch {
    // none yet
  }
  w.log(
    `worker ${w.name}: child ${key} (run ${task.runId}, ${task.spec.method})${resumedAt !== null ? ` resumes from iteration ${resumedAt}` : ''}`,
  );
  await job.updateProgress({ kind: 'started', key, worker: w.name } satisfies ChildProgress);
  const cancel = new Int32Array(new SharedArrayBuffer(4));
  const data: JobWorkerData = {
    role: 'job',
    runId: task.runId,
    spec: task.spec,
    outDir: task.outDir,
    cancel: cancel.buffer as SharedArrayBuffer,
    resume,
  };
  const thread = startWorker({
    workerData: data,
    resourceLimits: { maxYoungGenerationSizeMb: JOB_WORKER_YOUNG_MB },
  });
  w.threads.add(thread);
  let lockLost = false;
  w.lost.set(job.id!, () => {
    lockLost = true;
    void thread.terminate();
  });
  const poll = setInterval(() => {
    w.client
      .exists(cancelKey(job.id!))
      .then((n) => {
        if (n) Atomics.store(cancel, 0, 1);
      })
      .catch(() => undefined);
  }, CANCEL_POLL_MS);
  // checkpoints are written one after the other: an older one never lands over a newer one
  let writes: Promise<void> = Promise.resolve();
  try {
    const outcome = await new Promise<{ ok: true; result: JobResult } | { ok: false; error: FieldcalError }>(
      (resolve) => {
        thread.on('message', (m: JobMessage) => {
          if (m.type === 'progress') {
            const p = m.progress;
            void job
              .updateProgress({
                kind: 'progress',
                key,
                progress: {
                  phase: p.phase,
                  iteration: p.iteration,
                  total: p.total,
                  objective: p.objective,
                  ...(p.losses ? { losses: p.losses } : {}),
                },
              } satisfies ChildProgress)
              .catch(() => undefined);
          } else if (m.type === 'checkpoint') {
            writes = writes.then(async () => {
              try {
                await mkdir(dirname(cpFile), { recursive: true });
                await writeFileAtomic(cpFile, (tmp) =>
                  writeFile(tmp, JSON.stringify({ iteration: m.iteration, state: m.state })),
                );
                await job.updateProgress({
                  kind: 'checkpoint',
                  key,
                  iteration: m.iteration,
                  file: cpFile,
                } satisfies ChildProgress);
              } catch {
                // the next checkpoint tries again; the child goes on
              }
            });
          } else if (m.type === 'result') resolve({ ok: true, result: m.result });
          else if (m.type === 'error')
            resolve({
              ok: false,
              error: new FieldcalError(
                m.error.code as FieldcalError['code'],
                m.error.message,
                m.error.details,
              ),
            });
        });
        thread.on('error', (e) =>
          resolve({ ok: false, error: new FieldcalError('INTERNAL', `worker error: ${e.message}`) }),
        );
        thread.on('exit', (code) =>
          resolve({ ok: false, error: new FieldcalError('INTERNAL', `job worker exited with code ${code}`) }),
        );
      },
    );
    await writes;
    if (lockLost) {
      // the child is another worker's now: nothing is reported from here (BullMQ refuses this
      // worker's outcome without the lock anyway)
      w.log(`worker ${w.name}: child ${key} stopped: its lock was lost, another worker takes it over`);
      throw new Error(`lock lost for child ${key}`);
    }
    if (!outcome.ok) return await fail(outcome.error);
    // finished: its checkpoint is spent (a cancelled child keeps it to resume later)
    if (!outcome.result.cancelled) await rm(cpFile, { force: true });
    w.log(
      `worker ${w.name}: child ${key} ${outcome.result.cancelled ? 'cancelled' : 'done'} in ${outcome.result.seconds.toFixed(1)} s`,
    );
    // the evaluation tables stay in the run folder (result.json): the return value is what is recorded
    // (a metric without a value, null in RunMetric, is carried as null)
    const { evaluation: _e, truthEvaluation: _t, ...result } = outcome.result;
    return { kind: 'result', key, worker: w.name, result: result as ChildReturn['result'] };
  } finally {
    clearInterval(poll);
    w.lost.delete(job.id!);
    w.threads.delete(thread);
    await thread.terminate().catch(() => undefined);
    await w.client.del(cancelKey(job.id!)).catch(() => undefined);
  }
}
