import type Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { FieldcalError } from '../../../src-shared/ipc';
import { pidAlive } from '../common/pid';

/**
 * How a process writes to a project. `owner`: the app, `fieldcal serve`, a CLI job host; one at a
 * time, it runs jobs, resumes and marks dead writers' runs interrupted. `recorder`: a CLI command
 * (`evaluate --project`, `calibrate --project`) that only appends its own run; it may write beside
 * a live owner, each write in one transaction.
 */
export type WriterRole = 'owner' | 'recorder';

/** One row of `project_writers`. */
export interface WriterRow {
  owner_id: string;
  role: WriterRole;
  pid: number;
  hostname: string;
  since: string;
  heartbeat_ms: number;
  ttl_ms: number;
}

/** What an error names about a writer holding the project. */
export interface WriterInfo {
  ownerId: string;
  role: WriterRole;
  pid: number;
  hostname: string;
  since: string;
  heartbeatAgeMs: number;
}

/** Lease lifetime and heartbeat period. Defaults: 15 s, beat every 3 s; `FIELDCAL_LEASE_TTL_MS` overrides the lifetime. */
export interface LeaseTiming {
  ttlMs: number;
  heartbeatMs: number;
}

export function leaseTiming(o: Partial<LeaseTiming> = {}): LeaseTiming {
  const env = Number(process.env.FIELDCAL_LEASE_TTL_MS);
  const ttlMs = Math.max(50, Math.round(o.ttlMs ?? (Number.isFinite(env) && env > 0 ? env : 15_000)));
  // five beats per lifetime: a writer is declared dead only after missing several in a row
  const heartbeatMs = Math.max(10, Math.round(o.heartbeatMs ?? ttlMs / 5));
  return { ttlMs, heartbeatMs };
}

const HOST = hostname();
/** Lease ids this process holds now (acquired, not released): its own rows are alive exactly while listed. */
const liveHere = new Set<string>();

/**
 * On this host, a writer whose process still exists keeps its lease this many lifetimes without a
 * heartbeat (its event loop may be blocked by long synchronous work); beyond, the pid is taken to
 * have been reused by another program.
 */
const SAME_HOST_GRACE = 20;

/**
 * Whether a writer holds its lease. Another host's writer: while its heartbeat is younger than its
 * own ttl. A writer on this host: never once its pid is gone (SIGKILL, crash: dead at once), and
 * while the pid exists, for {@link SAME_HOST_GRACE} lifetimes after its last heartbeat.
 */
export function writerAlive(w: WriterRow, nowMs = Date.now()): boolean {
  const age = nowMs - w.heartbeat_ms;
  if (w.hostname !== HOST) return age <= w.ttl_ms;
  if (w.pid === process.pid) return liveHere.has(w.owner_id);
  if (!pidAlive(w.pid)) return false;
  return age <= w.ttl_ms * SAME_HOST_GRACE;
}

export const writerInfo = (w: WriterRow, nowMs = Date.now()): WriterInfo => ({
  ownerId: w.owner_id,
  role: w.role,
  pid: w.pid,
  hostname: w.hostname,
  since: w.since,
  heartbeatAgeMs: Math.max(0, nowMs - w.heartbeat_ms),
});

/** `pid 1234 on host h (since 2026-…)`. */
export const describeWriter = (w: WriterInfo) => `pid ${w.pid} on host ${w.hostname} (since ${w.since})`;

/**
 * This process's lease on one project file: a row of `project_writers` refreshed every
 * `heartbeatMs` (an unref'd timer, so it never keeps a CLI alive) and deleted by {@link release}.
 */
export class ProjectLease {
  readonly ownerId = randomBytes(12).toString('hex');
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly db: Database.Database,
    readonly role: WriterRole,
    readonly timing: LeaseTiming,
  ) {}

  /** Every writer row, alive or not. */
  writers(): WriterRow[] {
    return this.db.prepare('SELECT * FROM project_writers ORDER BY since').all() as WriterRow[];
  }

  /** Live writers other than this lease. */
  others(nowMs = Date.now()): WriterRow[] {
    return this.writers().filter((w) => w.owner_id !== this.ownerId && writerAlive(w, nowMs));
  }

  /**
   * Takes the lease inside the caller's transaction: an owner is refused (CONFLICT, `details.reason`
   * 'locked', naming the live owner in `details.owner`) when another process's owner lease is alive; rows of dead writers are removed and
   * their ids returned (their runs and temporary files are now orphans).
   */
  acquire(path: string): { dead: string[] } {
    const now = Date.now();
    const rows = this.writers();
    const dead = rows.filter((w) => !writerAlive(w, now)).map((w) => w.owner_id);
    if (this.role === 'owner') {
      const holder = rows.find(
        (w) => w.role === 'owner' && writerAlive(w, now) && !(w.pid === process.pid && w.hostname === HOST),
      );
      if (holder) {
        const info = writerInfo(holder, now);
        throw new FieldcalError(
          'CONFLICT',
          `${path} is open in another Fieldcal process: ${describeWriter(info)}; close it there first`,
          { path, reason: 'locked', owner: info },
        );
      }
    }
    const del = this.db.prepare('DELETE FROM project_writers WHERE owner_id = ?');
    for (const id of dead) del.run(id);
    this.db
      .prepare(
        'INSERT INTO project_writers (owner_id, role, pid, hostname, since, heartbeat_ms, ttl_ms) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(this.ownerId, this.role, process.pid, HOST, new Date(now).toISOString(), now, this.timing.ttlMs);
    liveHere.add(this.ownerId);
    return { dead };
  }

  /** Starts the heartbeat. A beat that cannot be written (busy, closed) is skipped; the next one retries. */
  start(): void {
    this.timer ??= setInterval(() => this.beat(), this.timing.heartbeatMs);
    this.timer.unref?.();
  }

  /** Refreshes the heartbeat now (re-inserting the row if a peer removed it as dead). */
  beat(): void {
    if (!this.db.open) return this.stop();
    try {
      const now = Date.now();
      const r = this.db
        .prepare('UPDATE project_writers SET heartbeat_ms = ? WHERE owner_id = ?')
        .run(now, this.ownerId);
      if (r.changes === 0)
        this.db
          .prepare(
            'INSERT INTO project_writers (owner_id, role, pid, hostname, since, heartbeat_ms, ttl_ms) VALUES (?, ?, ?, ?, ?, ?, ?)',
          )
          .run(
            this.ownerId,
            this.role,
            process.pid,
            HOST,
            new Date(now).toISOString(),
            now,
            this.timing.ttlMs,
          );
    } catch {
      // SQLITE_BUSY past busy_timeout: the next beat retries well within the ttl
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Stops the heartbeat and deletes the row (the project is free for the next owner at once). */
  release(): void {
    this.stop();
    liveHere.delete(this.ownerId);
    if (!this.db.open) return;
    try {
      this.db.prepare('DELETE FROM project_writers WHERE owner_id = ?').run(this.ownerId);
    } catch {
      // the row then expires after ttl_ms
    }
  }
}
