import type { RunRecord } from '../../../../src-shared/ipc';

/**
 * Keeps replies from overwriting newer status events. Every `jobs.onStatus` event of a run bumps
 * that run's counter; a call remembers the counters when it starts (`begin`), and its reply is
 * applied to a run only if no status event of that run arrived meanwhile (`fresh`). Main emits an
 * event for every status change, so an event that arrived during the call is at least as new as
 * the reply.
 */
export class RunTracker {
  private seq = new Map<number, number>();
  private all = 0;

  /** Records a status event of a run. */
  event(runId: number): void {
    this.seq.set(runId, (this.seq.get(runId) ?? 0) + 1);
    this.all += 1;
  }

  /** A token for a call starting now. */
  begin(): RunToken {
    return { seq: new Map(this.seq), all: this.all };
  }

  /** Whether no status event of this run arrived since the token was taken. */
  fresh(token: RunToken, runId: number): boolean {
    return (this.seq.get(runId) ?? 0) === (token.seq.get(runId) ?? 0);
  }
}

export interface RunToken {
  readonly seq: ReadonlyMap<number, number>;
  readonly all: number;
}

/** The runs list with `run` put in (replacing the same id, or appended). */
export function upsertRun(runs: readonly RunRecord[], run: RunRecord): RunRecord[] {
  return runs.some((r) => r.id === run.id) ? runs.map((r) => (r.id === run.id ? run : r)) : [...runs, run];
}

/**
 * A list reply merged into the runs shown: each run the reply has is taken from it unless a status
 * event of that run arrived after the call started (then the shown one, which came from that event,
 * stays); runs the reply lacks are dropped unless they came from an event during the call.
 */
export function mergeRunList(
  shown: readonly RunRecord[],
  reply: readonly RunRecord[],
  tracker: RunTracker,
  token: RunToken,
): RunRecord[] {
  const byId = new Map(shown.map((r) => [r.id, r]));
  const out = reply.map((r) => (tracker.fresh(token, r.id) ? r : (byId.get(r.id) ?? r)));
  const inReply = new Set(reply.map((r) => r.id));
  for (const r of shown) if (!inReply.has(r.id) && !tracker.fresh(token, r.id)) out.push(r);
  return out.sort((a, b) => a.id - b.id);
}

/** The current time as ISO 8601 (a live progress point's time stamp). */
export const nowIso = (): string => new Date().toISOString();
