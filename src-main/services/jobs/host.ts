import type { Worker } from 'node:worker_threads';
import { resolve } from 'node:path';
import { FieldcalError, type JobProgress, type RunRecord } from '../../../src-shared/ipc';
import type { AppEvents } from '../events';
import type { ProjectStore } from '../project/store';
import type { JobMessage, JobResult, JobWorkerData } from './jobWorker';
import { checkJobSpec, parseJobSpec, type JobSpec } from './specs';
import { JOB_WORKER_YOUNG_MB, startWorker } from './workerEntry';

interface Active {
  runId: number;
  worker: Worker;
  cancel: Int32Array;
}

interface Pending {
  runId: number;
  spec: JobSpec;
  outDir: string;
  resume: unknown;
}

/** What the host stores in a run's options: the resolved spec and where its outputs go. */
export interface StoredJob {
  spec: JobSpec;
  outDir: string;
}

/**
 * The job service's engine: every calibration runs in its own worker thread (never on the main
 * loop), jobs queue beyond `concurrency`, progress streams as `jobs.onProgress` events, checkpoints
 * are stored in the project as they arrive, and the run's row follows its life (queued, running,
 * succeeded / failed / cancelled; interrupted when the process died, resumable from its checkpoint).
 */
export class JobHost {
  private readonly queue: Pending[] = [];
  private readonly active = new Map<number, Active>();
  private readonly waiters = new Map<number, Array<(r: RunRecord) => void>>();
  private readonly results = new Map<number, JobResult>();
  private readonly listeners = new Set<(p: JobProgress) => void>();

  /**
   * `keepResults`: how many finished jobs' in-memory results (evaluation tables, info) stay readable
   * through {@link result}; older ones are dropped so a long-running app does not accumulate them
   * (everything that lasts is in the project).
   */
  constructor(
    private readonly store: ProjectStore,
    private readonly events?: AppEvents,
    private readonly concurrency = 1,
    private readonly keepResults = 8,
  ) {}

  /** Validates a job from outside (a file, a test: typed errors name the field; nothing is recorded when it is refused), records its run and queues it. */
  submit(input: unknown, o: { outDir: string | ((runId: number) => string); name?: string }): RunRecord {
    return this.enqueue(parseJobSpec(input), o);
  }

  /** Queues a spec that already passed src-shared's schema (jobs.submit over IPC): only main's checks run. */
  submitParsed(spec: JobSpec, o: { outDir: string | ((runId: number) => string); name?: string }): RunRecord {
    return this.enqueue(checkJobSpec(spec), o);
  }

  private enqueue(
    spec: JobSpec,
    o: { outDir: string | ((runId: number) => string); name?: string },
  ): RunRecord {
    const run = this.store.transaction(() => {
      const r = this.store.runs.create({
        name: o.name ?? `${spec.kind} ${spec.method}`,
        method: spec.method,
        options: {},
        seed: spec.seed,
      });
      // each run writes into its own folder, which may be named after its id
      const outDir = resolve(typeof o.outDir === 'function' ? o.outDir(r.id) : o.outDir);
      this.store.runs.setOptions(r.id, { spec, outDir } satisfies StoredJob as unknown as Record<
        string,
        unknown
      >);
      return this.store.runs.get(r.id);
    });
    this.queue.push({
      runId: run.id,
      spec,
      outDir: (run.options as unknown as StoredJob).outDir,
      resume: null,
    });
    this.pump();
    // the record as it is now (running when a slot was free): its status event has already gone out
    return this.store.runs.get(run.id);
  }

  /**
   * Resumes an interrupted run from its last checkpoint (or from the start when it has none). The
   * run is queued (status event `queued`), then started when a slot is free (`running`); the
   * record returned is the run as it is after that, never the stale `interrupted` one, so a caller
   * that writes it over the events it received shows the true status.
   */
  resume(runId: number): RunRecord {
    // a run queued or started by another live process is that process's: never resumed here
    this.store.refuseIfOwnedElsewhere(runId, 'resume');
    const run = this.store.runs.get(runId);
    if (run.status !== 'interrupted')
      throw new FieldcalError('CONFLICT', `run ${runId} is ${run.status}; only interrupted runs resume`, {
        id: runId,
        status: run.status,
      });
    const stored = run.options as unknown as StoredJob;
    const spec = parseJobSpec(stored.spec, `run ${runId} options`);
    const cp = this.store.runs.checkpoint(runId);
    this.events?.emit('jobs.onStatus', this.store.runs.setStatus(runId, 'queued'));
    this.queue.push({ runId, spec, outDir: stored.outDir, resume: cp?.state ?? null });
    this.pump();
    return this.store.runs.get(runId);
  }

  /**
   * Queues a run already recorded `queued` by its caller (a sweep's child, recorded with its parent in
   * one transaction), with its stored spec and folder; `resume` is its last checkpoint's state, if any.
   */
  runRecorded(runId: number, spec: JobSpec, outDir: string, resume: unknown = null): void {
    this.queue.push({ runId, spec, outDir, resume });
    this.pump();
  }

  /** Cancels a queued or running job; a running one stops at its next iteration and keeps its results so far. */
  cancel(runId: number): boolean {
    const q = this.queue.findIndex((p) => p.runId === runId);
    if (q >= 0) {
      this.queue.splice(q, 1);
      this.finish(runId, () => this.store.runs.setStatus(runId, 'cancelled'));
      return true;
    }
    const a = this.active.get(runId);
    if (!a) return false;
    Atomics.store(a.cancel, 0, 1);
    return true;
  }

  /** Resolves with the run's record once it has finished (whatever the outcome). */
  wait(runId: number): Promise<RunRecord> {
    const run = this.store.runs.get(runId);
    if (!this.active.has(runId) && !this.queue.some((p) => p.runId === runId)) return Promise.resolve(run);
    return new Promise((res) => this.waiters.set(runId, [...(this.waiters.get(runId) ?? []), res]));
  }

  /** The result a finished job reported in this process (the last `keepResults` of them). */
  result(runId: number): JobResult | undefined {
    return this.results.get(runId);
  }

  onProgress(listener: (p: JobProgress) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops every job (their runs become interrupted when the project is next opened, or cancelled here). */
  async close(): Promise<void> {
    for (const p of this.queue.splice(0))
      this.finish(p.runId, () => this.store.runs.setStatus(p.runId, 'cancelled'));
    await Promise.all([...this.active.values()].map((a) => a.worker.terminate()));
  }

  private pump(): void {
    while (this.active.size < this.concurrency && this.queue.length) this.start(this.queue.shift()!);
  }

  private start(p: Pending): void {
    this.store.runs.setStatus(p.runId, 'running');
    this.events?.emit('jobs.onStatus', this.store.runs.get(p.runId));
    const cancel = new Int32Array(new SharedArrayBuffer(4));
    const data: JobWorkerData = {
      role: 'job',
      runId: p.runId,
      spec: p.spec,
      outDir: p.outDir,
      cancel: cancel.buffer as SharedArrayBuffer,
      resume: p.resume,
    };
    const worker = startWorker({
      workerData: data,
      resourceLimits: { maxYoungGenerationSizeMb: JOB_WORKER_YOUNG_MB },
    });
    this.active.set(p.runId, { runId: p.runId, worker, cancel });
    let settled = false;
    worker.on('message', (m: JobMessage) => {
      if (m.type === 'progress') {
        const pr: JobProgress = {
          runId: p.runId,
          phase: m.progress.phase,
          iteration: m.progress.iteration,
          total: m.progress.total || null,
          objective: Number.isFinite(m.progress.objective) ? m.progress.objective : null,
          losses: {
            ...(m.progress.losses ?? {}),
            ...(m.progress.valid !== undefined && Number.isFinite(m.progress.valid)
              ? { valid: m.progress.valid }
              : {}),
          },
          etaSeconds: m.progress.etaSeconds ?? null,
          message: null,
        };
        // the loss curve (jobs.history): every iteration the worker saw since its last message, in
        // one transaction; a project that cannot take it does not stop the job
        try {
          const points = m.points?.length
            ? m.points.map((q) => ({
                phase: pr.phase,
                iteration: q.iteration,
                objective: Number.isFinite(q.objective) ? q.objective : null,
                losses: {
                  ...(q.losses ?? {}),
                  ...(q.valid !== undefined && Number.isFinite(q.valid) ? { valid: q.valid } : {}),
                },
              }))
            : [pr];
          this.store.transaction(() => {
            for (const q of points) this.store.runs.addProgress(p.runId, q);
          });
        } catch {
          // the progress event still goes out; the history misses this point
        }
        for (const l of this.listeners) l(pr);
        this.events?.emit('jobs.onProgress', pr);
      } else if (m.type === 'checkpoint') {
        this.store.runs.saveCheckpoint(p.runId, m.iteration, m.state);
      } else if (m.type === 'result') {
        settled = true;
        this.results.set(p.runId, m.result);
        // a Map iterates in insertion order: drop the oldest beyond the limit
        for (const id of this.results.keys()) {
          if (this.results.size <= this.keepResults) break;
          this.results.delete(id);
        }
        this.finish(p.runId, () =>
          this.store.transaction(() => {
            this.store.runs.addMetrics(p.runId, m.result.metrics);
            for (const a of m.result.artifacts) this.store.runs.addArtifact({ runId: p.runId, ...a });
            this.store.runs.setStatus(p.runId, m.result.cancelled ? 'cancelled' : 'succeeded');
          }),
        );
      } else if (m.type === 'error') {
        settled = true;
        // a run failing after training hands back what it kept (gaugesJob: the learned fields)
        const kept = keptArtifacts(m.error.details);
        this.finish(p.runId, () =>
          this.store.transaction(() => {
            for (const a of kept) this.store.runs.addArtifact({ runId: p.runId, ...a });
            this.store.runs.setStatus(p.runId, 'failed', `${m.error.code}: ${m.error.message}`);
          }),
        );
      }
    });
    worker.on('error', (e) => {
      if (settled) return;
      settled = true;
      this.finish(p.runId, () => this.store.runs.setStatus(p.runId, 'failed', `worker error: ${e.message}`));
    });
    worker.on('exit', (code) => {
      if (!settled) {
        settled = true;
        this.finish(p.runId, () =>
          this.store.runs.setStatus(p.runId, 'failed', `worker exited with code ${code}`),
        );
      }
    });
  }

  private finish(runId: number, record: () => unknown): void {
    try {
      record();
    } finally {
      this.active.delete(runId);
      const run = this.store.runs.get(runId);
      this.events?.emit('jobs.onStatus', run);
      for (const w of this.waiters.get(runId) ?? []) w(run);
      this.waiters.delete(runId);
      this.pump();
    }
  }
}

/** The artifacts a failed job kept (`details.keptArtifacts`), each checked for its shape. */
function keptArtifacts(
  details: Record<string, unknown> | undefined,
): Array<{ kind: string; path: string; sizeBytes: number; checksum: string }> {
  const list = details?.keptArtifacts;
  if (!Array.isArray(list)) return [];
  return list.filter(
    (a): a is { kind: string; path: string; sizeBytes: number; checksum: string } =>
      typeof a === 'object' &&
      a !== null &&
      typeof (a as { kind?: unknown }).kind === 'string' &&
      typeof (a as { path?: unknown }).path === 'string' &&
      typeof (a as { sizeBytes?: unknown }).sizeBytes === 'number' &&
      typeof (a as { checksum?: unknown }).checksum === 'string',
  );
}
