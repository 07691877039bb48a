import type { AppEvents } from '../events';
import type { ProjectStore } from '../project/store';
import { JobHost } from './host';
import type { SweepChildEvent, SweepChildTask, SweepExecutor } from './sweepExecutor';

/**
 * Runs a sweep's children on this machine: a {@link JobHost} of the project with `concurrency` job
 * slots (each child in its own worker thread, checkpoints stored and resumable like any job). The
 * host records each child run's status, progress, checkpoints, metrics and artifacts as it does for
 * `jobs.submit`; the events below tell the coordinator when a child started and ended.
 */
export class LocalSweepExecutor implements SweepExecutor {
  readonly where = 'local';
  private readonly host: JobHost;
  private readonly tasks = new Map<number, SweepChildTask>();
  private readonly started = new Set<number>();
  private readonly listeners = new Set<(e: SweepChildEvent) => void>();

  constructor(
    private readonly store: ProjectStore,
    events?: AppEvents,
    concurrency = 1,
  ) {
    this.host = new JobHost(store, events, concurrency, Math.max(8, concurrency * 2));
    this.host.onProgress((p) => {
      const t = this.tasks.get(p.runId);
      if (!t) return;
      // the worker's first message ('preparing') is posted as it starts
      if (!this.started.has(p.runId)) {
        this.started.add(p.runId);
        this.emit({ type: 'started', key: t.key, worker: 'local' });
      }
      this.emit({
        type: 'progress',
        key: t.key,
        progress: {
          phase: p.phase,
          iteration: p.iteration,
          total: p.total ?? 0,
          objective: p.objective ?? Number.NaN,
          losses: p.losses,
        },
      });
    });
  }

  private emit(e: SweepChildEvent): void {
    for (const l of this.listeners) l(e);
  }

  submit(children: SweepChildTask[]): Promise<void> {
    for (const c of children) {
      this.tasks.set(c.runId, c);
      this.host.runRecorded(c.runId, c.spec, c.outDir, c.resume ?? null);
      void this.host.wait(c.runId).then((run) => this.ended(c, run.status, run.error));
    }
    return Promise.resolve();
  }

  /** A child's end, read back from what the host recorded. */
  private ended(t: SweepChildTask, status: string, error: string | null): void {
    this.tasks.delete(t.runId);
    this.started.delete(t.runId);
    if (status === 'succeeded' || status === 'cancelled') {
      const detail = this.store.runs.detail(t.runId);
      this.emit({
        type: 'result',
        key: t.key,
        worker: 'local',
        result: {
          cancelled: status === 'cancelled',
          metrics: detail.metrics.map((m) => ({ ...m, value: m.value ?? Number.NaN })),
          artifacts: detail.artifacts.map((a) => ({
            kind: a.kind,
            path: a.path,
            sizeBytes: a.sizeBytes ?? 0,
            checksum: a.checksum ?? '',
          })),
          info: this.host.result(t.runId)?.info,
          seconds: this.host.result(t.runId)?.seconds ?? 0,
        },
      });
      return;
    }
    // the host records failures as `CODE: message`
    const m = /^([A-Z_]+): ([\s\S]*)$/.exec(error ?? '');
    this.emit({
      type: 'error',
      key: t.key,
      worker: 'local',
      error: m ? { code: m[1]!, message: m[2]! } : { code: 'JOB_FAILED', message: error ?? status },
    });
  }

  onEvent(listener: (e: SweepChildEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  pending(sweepId: number): Promise<string[]> {
    return Promise.resolve([...this.tasks.values()].filter((t) => t.sweepId === sweepId).map((t) => t.key));
  }

  cancel(keys: string[]): Promise<void> {
    const want = new Set(keys);
    for (const t of this.tasks.values()) if (want.has(t.key)) this.host.cancel(t.runId);
    return Promise.resolve();
  }

  async close(): Promise<void> {
    await this.host.close();
  }
}
