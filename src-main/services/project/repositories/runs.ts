import {
  FieldcalError,
  type ArtifactRecord,
  type ProgressPoint,
  type RunDetail,
  type RunMetric,
  type RunRecord,
  type RunStatus,
} from '../../../../src-shared/ipc';
import { notFound, nowIso, parseJsonObject, Repo } from './common';

interface RunRow {
  id: number;
  name: string;
  method: string;
  options_json: string;
  status: RunStatus;
  seed: number;
  study_area_id: number | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  error: string | null;
}

interface ArtifactRow {
  id: number;
  run_id: number;
  kind: string;
  path: string;
  size_bytes: number | null;
  checksum: string | null;
  created_at: string;
}

const toRun = (r: RunRow): RunRecord => ({
  id: r.id,
  name: r.name,
  method: r.method,
  options: parseJsonObject(r.options_json, `runs.options_json (id ${r.id})`) ?? {},
  status: r.status,
  seed: r.seed,
  studyAreaId: r.study_area_id,
  createdAt: r.created_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  error: r.error,
});

const toArtifact = (r: ArtifactRow): ArtifactRecord => ({
  id: r.id,
  runId: r.run_id,
  kind: r.kind,
  path: r.path,
  sizeBytes: r.size_bytes,
  checksum: r.checksum,
  createdAt: r.created_at,
});

/** The most progress points kept per run (older ones are thinned evenly beyond it). */
export const PROGRESS_CAP = 5000;

/** Allowed status changes; anything else is a programming error caught here, not a silent overwrite. */
const TRANSITIONS: Record<RunStatus, readonly RunStatus[]> = {
  queued: ['running', 'cancelled'],
  running: ['succeeded', 'failed', 'cancelled', 'interrupted'],
  // resumed: queued behind another job, or started at once
  interrupted: ['queued', 'running', 'cancelled'],
  succeeded: [],
  failed: [],
  cancelled: [],
};

/** The `runs`, `run_metrics` and `artifacts` tables. */
export class RunsRepo extends Repo {
  /** The lease id of the writer using this repository: stamped on runs it queues or starts. */
  ownerId: string | null = null;

  create(r: {
    name: string;
    method: string;
    options: Record<string, unknown>;
    seed: number;
    studyAreaId?: number | null;
  }): RunRecord {
    return this.tx(() => {
      const info = this.db
        .prepare(
          `INSERT INTO runs (name, method, options_json, status, seed, study_area_id, created_at, owner_id)
           VALUES (?, ?, ?, 'queued', ?, ?, ?, ?)`,
        )
        .run(
          r.name,
          r.method,
          JSON.stringify(r.options),
          r.seed,
          r.studyAreaId ?? null,
          nowIso(),
          this.ownerId,
        );
      return this.get(Number(info.lastInsertRowid));
    });
  }

  list(status?: RunStatus): RunRecord[] {
    const rows = status
      ? this.db.prepare('SELECT * FROM runs WHERE status = ? ORDER BY id').all(status)
      : this.db.prepare('SELECT * FROM runs ORDER BY id').all();
    return (rows as RunRow[]).map(toRun);
  }

  get(id: number): RunRecord {
    const row = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
    if (!row) throw notFound('run', id);
    return toRun(row);
  }

  detail(id: number): RunDetail {
    return { ...this.get(id), metrics: this.metrics(id), artifacts: this.artifacts(id) };
  }

  /** Moves a run to a new status, stamping start and finish times. */
  setStatus(id: number, status: RunStatus, error: string | null = null): RunRecord {
    return this.tx(() => {
      const cur = this.get(id);
      if (!TRANSITIONS[cur.status].includes(status)) {
        throw new FieldcalError('CONFLICT', `Run ${id} cannot go from ${cur.status} to ${status}`, {
          id,
          from: cur.status,
          to: status,
        });
      }
      const t = nowIso();
      this.db
        .prepare(
          `UPDATE runs SET status = ?, error = ?,
             started_at = CASE WHEN ? = 'running' THEN ? ELSE started_at END,
             finished_at = CASE WHEN ? IN ('succeeded', 'failed', 'cancelled', 'interrupted') THEN ? ELSE finished_at END,
             owner_id = CASE WHEN ? IN ('queued', 'running') THEN ? ELSE owner_id END
           WHERE id = ?`,
        )
        .run(status, error, status, t, status, t, status, this.ownerId, id);
      return this.get(id);
    });
  }

  /**
   * Marks runs left `running` (or `queued`, waiting for a job slot) by a dead process as
   * `interrupted`: every such run whose owner is not one of `liveOwners` (the lease ids of live
   * writers; a run with no owner recorded predates leases). Returns how many.
   */
  markInterrupted(liveOwners: readonly string[] = []): number {
    return this.tx(
      () =>
        this.db
          .prepare(
            `UPDATE runs SET status = 'interrupted', finished_at = ?,
               error = 'process ended while the run was ' || CASE status WHEN 'queued' THEN 'queued' ELSE 'active' END
             WHERE status IN ('running', 'queued')
               AND (owner_id IS NULL OR owner_id NOT IN (SELECT value FROM json_each(?)))`,
          )
          .run(nowIso(), JSON.stringify(liveOwners)).changes,
    );
  }

  /** The lease id of the writer that last queued or started the run (null before leases existed). */
  ownerOf(id: number): string | null {
    const row = this.db.prepare('SELECT owner_id FROM runs WHERE id = ?').get(id) as
      { owner_id: string | null } | undefined;
    if (!row) throw notFound('run', id);
    return row.owner_id;
  }

  /**
   * Records one progress point of a run (its loss curve): NaN and infinite objectives are stored as
   * null, non-finite losses are left out. At most `cap` points are kept per run, evenly spaced over
   * the whole run: the kept points sit every `stride` points from the first one (the stride doubles
   * each time the cap is passed), and the newest point is always kept besides them.
   */
  addProgress(
    runId: number,
    p: { iteration: number; phase: string; objective: number | null; losses: Record<string, number> },
    cap = PROGRESS_CAP,
  ): void {
    this.tx(() => {
      const losses = Object.fromEntries(Object.entries(p.losses).filter(([, v]) => Number.isFinite(v)));
      this.db
        .prepare(
          `INSERT INTO run_progress (run_id, iteration, phase, objective, losses_json, at) VALUES (?, ?, ?, ?, ?, ?)`,
        )
        .run(
          runId,
          Math.round(p.iteration),
          p.phase,
          p.objective !== null && Number.isFinite(p.objective) ? p.objective : null,
          JSON.stringify(losses),
          nowIso(),
        );
      // row ids grow with every point stored (one job at a time writes a run's points): the points
      // kept are those at first + k * stride, plus the newest. Only the two oldest and two newest ids
      // and the count are read per insert; the whole list only when it is thinned (once per doubling).
      const ends = (order: 'ASC' | 'DESC') =>
        this.db
          .prepare(`SELECT id FROM run_progress WHERE run_id = ? ORDER BY id ${order} LIMIT 2`)
          .pluck()
          .all(runId) as number[];
      const head = ends('ASC');
      if (head.length < 2) return;
      const count = this.db
        .prepare('SELECT COUNT(*) FROM run_progress WHERE run_id = ?')
        .pluck()
        .get(runId) as number;
      if (count < 3) return;
      const first = head[0]!;
      const stride = head[1]! - first;
      const drop: number[] = [];
      // the previous newest point was kept only as the newest: off the stride, it goes
      const prev = ends('DESC')[1]!;
      if ((prev - first) % stride !== 0) drop.push(prev);
      if (count - drop.length > cap) {
        const ids = this.db
          .prepare('SELECT id FROM run_progress WHERE run_id = ? ORDER BY id')
          .pluck()
          .all(runId) as number[];
        for (const id of ids.slice(1, -1))
          if ((id - first) % (2 * stride) !== 0 && id !== prev) drop.push(id);
      }
      const del = this.db.prepare('DELETE FROM run_progress WHERE id = ?');
      for (const id of drop) del.run(id);
    });
  }

  /** A run's recorded progress points, oldest first (NOT_FOUND for an unknown run). */
  history(runId: number): ProgressPoint[] {
    this.get(runId);
    const rows = this.db
      .prepare(
        'SELECT iteration, phase, objective, losses_json, at FROM run_progress WHERE run_id = ? ORDER BY id',
      )
      .all(runId) as Array<{
      iteration: number;
      phase: string;
      objective: number | null;
      losses_json: string;
      at: string;
    }>;
    return rows.map((r) => ({
      iteration: r.iteration,
      phase: r.phase,
      objective: r.objective,
      losses: (parseJsonObject(r.losses_json, `run_progress.losses_json (run ${runId})`) ?? {}) as Record<
        string,
        number
      >,
      at: r.at,
    }));
  }

  /** Stores metrics of a run in one transaction (replacing values with the same key). */
  addMetrics(runId: number, metrics: RunMetric[]): void {
    this.tx(() => {
      this.get(runId);
      const put = this.db.prepare(
        `INSERT INTO run_metrics (run_id, period, target, metric, value) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (run_id, period, target, metric) DO UPDATE SET value = excluded.value`,
      );
      for (const m of metrics)
        put.run(runId, m.period, m.target, m.metric, Number.isFinite(m.value) ? m.value : null);
    });
  }

  metrics(runId: number): RunMetric[] {
    return this.db
      .prepare('SELECT period, target, metric, value FROM run_metrics WHERE run_id = ? ORDER BY id')
      .all(runId) as RunMetric[];
  }

  addArtifact(a: Omit<ArtifactRecord, 'id' | 'createdAt'>): ArtifactRecord {
    return this.tx(() => {
      this.get(a.runId);
      const info = this.db
        .prepare(
          'INSERT INTO artifacts (run_id, kind, path, size_bytes, checksum, created_at) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(a.runId, a.kind, a.path, a.sizeBytes, a.checksum, nowIso());
      return this.artifact(Number(info.lastInsertRowid));
    });
  }

  artifacts(runId: number): ArtifactRecord[] {
    return (
      this.db.prepare('SELECT * FROM artifacts WHERE run_id = ? ORDER BY id').all(runId) as ArtifactRow[]
    ).map(toArtifact);
  }

  artifact(id: number): ArtifactRecord {
    const row = this.db.prepare('SELECT * FROM artifacts WHERE id = ?').get(id) as ArtifactRow | undefined;
    if (!row) throw notFound('artifact', id);
    return toArtifact(row);
  }

  /** Replaces the run's checkpoint in one transaction: the previous one stays until the new one is committed. */
  saveCheckpoint(runId: number, iteration: number, state: unknown): void {
    this.tx(() => {
      this.get(runId);
      this.db
        .prepare(
          `INSERT INTO run_checkpoints (run_id, iteration, state_json, saved_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (run_id) DO UPDATE SET iteration = excluded.iteration, state_json = excluded.state_json,
             saved_at = excluded.saved_at`,
        )
        .run(runId, iteration, JSON.stringify(state), nowIso());
    });
  }

  /** The run's latest checkpoint, or null. */
  checkpoint(runId: number): { iteration: number; state: unknown; savedAt: string } | null {
    const row = this.db
      .prepare('SELECT iteration, state_json, saved_at FROM run_checkpoints WHERE run_id = ?')
      .get(runId) as { iteration: number; state_json: string; saved_at: string } | undefined;
    return row
      ? { iteration: row.iteration, state: JSON.parse(row.state_json), savedAt: row.saved_at }
      : null;
  }

  /** Updates the stored options of a run (the resolved config, with defaults filled). */
  setOptions(runId: number, options: Record<string, unknown>): void {
    this.tx(() => {
      this.get(runId);
      this.db.prepare('UPDATE runs SET options_json = ? WHERE id = ?').run(JSON.stringify(options), runId);
    });
  }

  // --- sweeps (issue 18): a parent run with one child run per combination (migration 006) ---

  /**
   * Records a sweep: its parent run (method `sweep`, status queued) and its `sweeps` row. The caller
   * wraps it and the children's {@link createChild} in one transaction.
   */
  createSweep(r: {
    name: string;
    spec: Record<string, unknown>;
    queue: string | null;
    seed: number;
  }): RunRecord {
    return this.tx(() => {
      const run = this.create({ name: r.name, method: 'sweep', options: { sweep: r.spec }, seed: r.seed });
      this.db
        .prepare('INSERT INTO sweeps (run_id, name, spec_json, queue, created_at) VALUES (?, ?, ?, ?, ?)')
        .run(run.id, r.name, JSON.stringify(r.spec), r.queue, nowIso());
      return run;
    });
  }

  /** Records one child of a sweep (queued), linked to its parent at its index, with what it was built from. */
  createChild(
    sweepId: number,
    index: number,
    r: {
      name: string;
      method: string;
      options: Record<string, unknown>;
      seed: number;
      values: Record<string, unknown>;
      dataset: string | null;
    },
  ): RunRecord {
    return this.tx(() => {
      const run = this.create({ name: r.name, method: r.method, options: r.options, seed: r.seed });
      this.db
        .prepare('UPDATE runs SET parent_id = ?, sweep_index = ? WHERE id = ?')
        .run(sweepId, index, run.id);
      this.db
        .prepare(
          'INSERT INTO sweep_children (sweep_id, idx, run_id, values_json, seed, dataset) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(sweepId, index, run.id, JSON.stringify(r.values), r.seed, r.dataset);
      return run;
    });
  }

  /** A sweep's row (NOT_FOUND when the id is no sweep). */
  sweep(id: number): { id: number; name: string; spec: Record<string, unknown>; queue: string | null } {
    const row = this.db
      .prepare('SELECT run_id, name, spec_json, queue FROM sweeps WHERE run_id = ?')
      .get(id) as { run_id: number; name: string; spec_json: string; queue: string | null } | undefined;
    if (!row) throw notFound('sweep', id);
    return {
      id: row.run_id,
      name: row.name,
      spec: parseJsonObject(row.spec_json, `sweeps.spec_json (id ${id})`) ?? {},
      queue: row.queue,
    };
  }

  /** Every sweep's id, newest first. */
  sweepIds(): number[] {
    return this.db.prepare('SELECT run_id FROM sweeps ORDER BY run_id DESC').pluck().all() as number[];
  }

  /** A sweep's children in index order: their run, grid values, seed, dataset, worker and whether recorded. */
  sweepChildren(sweepId: number): Array<{
    index: number;
    run: RunRecord;
    values: Record<string, unknown>;
    seed: number;
    dataset: string | null;
    worker: string | null;
    recorded: boolean;
  }> {
    const rows = this.db
      .prepare(
        'SELECT idx, run_id, values_json, seed, dataset, worker, recorded_at FROM sweep_children WHERE sweep_id = ? ORDER BY idx',
      )
      .all(sweepId) as Array<{
      idx: number;
      run_id: number;
      values_json: string;
      seed: number;
      dataset: string | null;
      worker: string | null;
      recorded_at: string | null;
    }>;
    return rows.map((r) => ({
      index: r.idx,
      run: this.get(r.run_id),
      values: parseJsonObject(r.values_json, `sweep_children.values_json (run ${r.run_id})`) ?? {},
      seed: r.seed,
      dataset: r.dataset,
      worker: r.worker,
      recorded: r.recorded_at !== null,
    }));
  }

  /** Where a child runs (`local` or a worker's name). */
  setChildWorker(sweepId: number, index: number, worker: string): void {
    this.tx(() => {
      this.db
        .prepare('UPDATE sweep_children SET worker = ? WHERE sweep_id = ? AND idx = ?')
        .run(worker, sweepId, index);
    });
  }

  /**
   * Marks a child's outcome recorded, running `record` in the same transaction, exactly once: a child
   * already recorded (a result delivered twice, a retried job) is left alone and false is answered.
   */
  recordChildOnce(sweepId: number, index: number, record: () => void): boolean {
    return this.tx(() => {
      const row = this.db
        .prepare('SELECT recorded_at FROM sweep_children WHERE sweep_id = ? AND idx = ?')
        .get(sweepId, index) as { recorded_at: string | null } | undefined;
      if (!row) throw notFound(`child of sweep ${sweepId} at index`, index);
      if (row.recorded_at !== null) return false;
      record();
      this.db
        .prepare('UPDATE sweep_children SET recorded_at = ? WHERE sweep_id = ? AND idx = ?')
        .run(nowIso(), sweepId, index);
      return true;
    });
  }
}
