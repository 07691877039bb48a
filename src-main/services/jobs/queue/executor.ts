import { readFile } from 'node:fs/promises';
import { Queue, QueueEvents, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { SweepChildEvent, SweepChildTask, SweepExecutor } from '../sweepExecutor';
import { parseQueueUrl, probeQueue, redisOptions, type QueueConnection } from './connection';
import {
  KEEP_SECONDS,
  QUEUE_NAME,
  cancelKey,
  errorOfReason,
  jobIdOf,
  keyOfJobId,
  type ChildProgress,
  type ChildReturn,
} from './protocol';

export interface QueueExecutorOptions {
  /**
   * Keeps this coordinator's children apart from other projects' on the same Redis (child keys are
   * `<sweepId>:<index>`, unique within one project only): e.g. the project's id. Default: none.
   */
  namespace?: string;
  /** Environment read for FIELDCAL_QUEUE_INSECURE / FIELDCAL_QUEUE_REMOTE (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** BullMQ queue name (default {@link QUEUE_NAME}; the workers must use the same). */
  queueName?: string;
}

const LIVE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'] as const;

/**
 * Runs sweep children on a BullMQ queue served by `fieldcal worker` processes (issue 18). The URL
 * is checked when constructed (password, loopback: typed VALIDATION errors naming `queue`); the
 * connection (a wrong password is UNAUTHORIZED, an unreachable server IO) when {@link ready}
 * settles, which every method awaits. Events: started / progress / checkpoint from the workers' job
 * progress, result from the job's return value, error from a failed job; a child's final event
 * (result or error) goes to the listeners at most once per executor, and a child that finished
 * while no coordinator listened is read back by {@link pending} (register the listener first).
 */
export class QueueSweepExecutor implements SweepExecutor {
  readonly where: string;
  /** Settles once Redis answered with the password: rejects with the typed connection error. */
  readonly ready: Promise<void>;
  private readonly conn: QueueConnection;
  private readonly namespace: string;
  private readonly queueName: string;
  private readonly listeners = new Set<(e: SweepChildEvent) => void>();
  private readonly finished = new Set<string>();
  private queue: Queue | null = null;
  private events: QueueEvents | null = null;
  private client: Redis | null = null;
  private closed = false;

  constructor(url: string, opts: QueueExecutorOptions = {}) {
    this.conn = parseQueueUrl(url, opts.env);
    this.where = this.conn.where;
    this.namespace = opts.namespace ?? '';
    this.queueName = opts.queueName ?? QUEUE_NAME;
    this.ready = this.open();
    // a caller that never calls a method still gets the error from `ready`, not an unhandled rejection
    this.ready.catch(() => undefined);
  }

  /** Constructs and waits for the connection: typed errors for the URL and the connection alike. */
  static async connect(url: string, opts: QueueExecutorOptions = {}): Promise<QueueSweepExecutor> {
    const ex = new QueueSweepExecutor(url, opts);
    try {
      await ex.ready;
    } catch (e) {
      await ex.close();
      throw e;
    }
    return ex;
  }

  private async open(): Promise<void> {
    this.client = await probeQueue(this.conn);
    if (this.closed) {
      this.client.disconnect();
      return;
    }
    const connection = redisOptions(this.conn);
    this.queue = new Queue(this.queueName, {
      connection,
      defaultJobOptions: {
        attempts: 1,
        removeOnComplete: { age: KEEP_SECONDS },
        removeOnFail: { age: KEEP_SECONDS },
      },
    });
    this.queue.on('error', () => undefined);
    this.events = new QueueEvents(this.queueName, { connection });
    this.events.on('error', () => undefined);
    this.events.on('progress', ({ jobId, data }) => void this.onProgress(jobId, data));
    this.events.on('completed', ({ jobId, returnvalue }) => this.onCompleted(jobId, returnvalue));
    this.events.on('failed', ({ jobId, failedReason }) => void this.onFailed(jobId, failedReason));
    await this.queue.waitUntilReady();
    // events are read from the stream's end onwards: the listener is live before anything is added
    await this.events.waitUntilReady();
  }

  private mine(jobId: string): string | null {
    const { namespace, key } = keyOfJobId(jobId);
    return namespace === this.namespace ? key : null;
  }

  private emit(e: SweepChildEvent): void {
    if (e.type === 'result' || e.type === 'error') {
      if (this.finished.has(e.key)) return;
      this.finished.add(e.key);
    }
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        // a listener's failure is its own
      }
    }
  }

  private async onProgress(jobId: string, data: unknown): Promise<void> {
    const key = this.mine(jobId);
    if (!key || typeof data !== 'object' || data === null) return;
    const m = data as ChildProgress;
    if (m.kind === 'started') this.emit({ type: 'started', key, worker: m.worker });
    else if (m.kind === 'progress')
      // JSON carries NaN (no objective yet) as null
      this.emit({
        type: 'progress',
        key,
        progress: { ...m.progress, objective: m.progress.objective ?? Number.NaN },
      });
    else if (m.kind === 'checkpoint') {
      // the state itself stays in the shared run folder; read it from there (it may be large)
      try {
        const saved = JSON.parse(await readFile(m.file, 'utf8')) as { iteration: number; state: unknown };
        this.emit({ type: 'checkpoint', key, iteration: saved.iteration, state: saved.state });
      } catch {
        // a newer checkpoint replaced it while reading, or the folder is not shared: the next one comes
      }
    }
  }

  private onCompleted(jobId: string, returnvalue: unknown): void {
    const key = this.mine(jobId);
    if (!key) return;
    this.emitReturn(key, returnvalue);
  }

  private emitReturn(key: string, returnvalue: unknown): void {
    let r: ChildReturn | null = null;
    try {
      r = (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as ChildReturn;
    } catch {
      r = null;
    }
    if (r && r.kind === 'result' && r.result)
      this.emit({ type: 'result', key, worker: r.worker, result: r.result });
    else
      this.emit({
        type: 'error',
        key,
        worker: null,
        error: { code: 'INTERNAL', message: 'the worker returned no result message' },
      });
  }

  private async onFailed(jobId: string, failedReason: string): Promise<void> {
    const key = this.mine(jobId);
    if (!key || this.finished.has(key)) return;
    const job = await this.queue?.getJob(jobId).catch(() => undefined);
    this.emitFailure(key, job, failedReason);
  }

  private emitFailure(key: string, job: Job | undefined, failedReason: string): void {
    const p = job?.progress as ChildProgress | undefined;
    if (p && typeof p === 'object' && p.kind === 'error')
      this.emit({ type: 'error', key, worker: p.worker, error: p.error });
    else this.emit({ type: 'error', key, worker: null, error: errorOfReason(failedReason) });
  }

  async submit(children: SweepChildTask[]): Promise<void> {
    await this.ready;
    const q = this.queue!;
    const ids = children.map((c) => jobIdOf(c.key, this.namespace));
    // a child handed over before (same key) is not queued again; one that already finished is reported
    const states = await Promise.all(ids.map((id) => q.getJobState(id)));
    const fresh = children.filter((_, i) => states[i] === 'unknown');
    if (fresh.length)
      await q.addBulk(
        fresh.map((c) => ({
          name: 'child',
          data: { ...c, namespace: this.namespace },
          opts: { jobId: jobIdOf(c.key, this.namespace) },
        })),
      );
    await Promise.all(
      children.map(async (c, i) => {
        if (states[i] === 'completed' || states[i] === 'failed') await this.replay(c.key, ids[i]!);
      }),
    );
  }

  /** Reports a finished job's outcome (its return value or failure) to the listeners. */
  private async replay(key: string, jobId: string): Promise<void> {
    const job = await this.queue!.getJob(jobId);
    if (!job) return;
    const state = await job.getState();
    if (state === 'completed') this.emitReturn(key, job.returnvalue);
    else if (state === 'failed') this.emitFailure(key, job, job.failedReason);
  }

  onEvent(listener: (e: SweepChildEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The keys of the sweep's children still waiting or running on the queue. Children of the sweep
   * that finished meanwhile (a restarted coordinator) are reported to the listeners now, from the
   * completed jobs' return values and the failed jobs' errors (once per key per executor; the
   * coordinator records idempotently by key).
   */
  async pending(sweepId: number): Promise<string[]> {
    await this.ready;
    const q = this.queue!;
    const ofSweep = (j: Job | undefined): j is Job =>
      !!j?.id &&
      this.mine(j.id) !== null &&
      typeof j.data === 'object' &&
      j.data !== null &&
      (j.data as { sweepId?: unknown }).sweepId === sweepId;
    const live = (await q.getJobs([...LIVE_STATES])).filter(ofSweep);
    const done = (await q.getJobs(['completed', 'failed'])).filter(ofSweep);
    for (const j of done) await this.replay(this.mine(j.id!)!, j.id!);
    return [...new Set(live.map((j) => this.mine(j.id!)!))].sort();
  }

  /**
   * Cancels children: one still waiting is removed and reported cancelled; one running is flagged
   * and its worker stops it at the next iteration (its result says `cancelled`, with what it kept).
   */
  async cancel(keys: string[]): Promise<void> {
    await this.ready;
    const q = this.queue!;
    for (const key of keys) {
      const id = jobIdOf(key, this.namespace);
      const state = await q.getJobState(id);
      if (state === 'active') {
        await this.client!.set(cancelKey(id), '1', 'EX', KEEP_SECONDS);
        continue;
      }
      if (state === 'unknown' || state === 'completed' || state === 'failed') continue;
      const removed = await q.remove(id).catch(() => 0);
      if (removed)
        this.emit({
          type: 'result',
          key,
          worker: 'queue',
          result: { cancelled: true, metrics: [], artifacts: [], seconds: 0 },
        });
      // taken by a worker meanwhile: flag it
      else await this.client!.set(cancelKey(id), '1', 'EX', KEEP_SECONDS);
    }
  }

  /** Stops listening and disconnects; queued children stay on the queue for the workers. */
  async close(): Promise<void> {
    this.closed = true;
    await this.ready.catch(() => undefined);
    await this.events?.close().catch(() => undefined);
    await this.queue?.close().catch(() => undefined);
    this.client?.disconnect();
    this.listeners.clear();
  }
}
