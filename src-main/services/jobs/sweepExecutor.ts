import type { JobSpec } from '../../../src-shared/ipc';

/**
 * Where a sweep's children run (issue 18): the local job host (default) or a BullMQ queue served by
 * `fieldcal worker` processes. The sweep coordinator (the one process that writes the project) hands
 * each child to an executor and records the sweep's side of what comes back (the child's end, the
 * table, the winner). Who records the child run itself depends on where it ran: the local executor's
 * job host is the coordinator's own and records status, progress, metrics and artifacts as for any
 * job; for queued children the coordinator records them from the result, and queue workers never
 * write the project.
 */

/** One child to run: a stable key (idempotent recording: `<sweepId>:<index>`), its parsed spec and run folder. */
export interface SweepChildTask {
  key: string;
  sweepId: number;
  index: number;
  /** The child's run id in the project (recorded queued before it is handed over). */
  runId: number;
  spec: JobSpec;
  /** The child's run folder (shared with the workers for a queue: artifacts and checkpoints go there). */
  outDir: string;
  /** Checksums of the dataset files as recorded by the coordinator; a worker whose data differ refuses the child. */
  dataChecksums?: Record<string, string> | undefined;
  /** The last checkpoint of an earlier attempt (a worker killed mid-child): the child resumes from it. */
  resume?: unknown;
}

/** What a child reports while it runs (the job host's progress) and when it ends. */
export type SweepChildEvent =
  | {
      type: 'progress';
      key: string;
      progress: {
        phase: string;
        iteration: number;
        total: number;
        objective: number;
        losses?: Record<string, number>;
      };
    }
  | { type: 'checkpoint'; key: string; iteration: number; state: unknown }
  | { type: 'started'; key: string; worker: string }
  | {
      type: 'result';
      key: string;
      worker: string;
      /** The job worker's result message (metrics, artifacts with checksums, info, seconds). */
      result: {
        cancelled: boolean;
        metrics: Array<{ period: string; target: string; metric: string; value: number | null }>;
        artifacts: Array<{ kind: string; path: string; sizeBytes: number; checksum: string }>;
        info?: unknown;
        seconds: number;
      };
    }
  | {
      type: 'error';
      key: string;
      worker: string | null;
      error: { code: string; message: string; details?: unknown };
    };

export interface SweepExecutor {
  /** `local` or the queue's URL without its password. */
  readonly where: string;
  /** Hands children over; events arrive through `onEvent` (in any order across children, at least once each). */
  submit(children: SweepChildTask[]): Promise<void>;
  onEvent(listener: (e: SweepChildEvent) => void): () => void;
  /** Children handed over earlier that are still pending or running (a restarted coordinator re-attaches to them). */
  pending(sweepId: number): Promise<string[]>;
  cancel(keys: string[]): Promise<void>;
  close(): Promise<void>;
}
