import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  FieldcalError,
  jobSpecSchema,
  prototypeKeyIssues,
  type JobSpec,
  type RunMetric,
  type RunRecord,
} from '../../../src-shared/ipc';
import {
  gridPathsOf,
  type SweepRecord,
  type SweepRow,
  type SweepSpec,
} from '../../../src-shared/types/sweep';
import { issuePath } from '../calibration/gridded/options';
import { artifactOf } from '../common/checksum';
import { deletePath, getPath, setPath } from '../common/dottedPath';
import { writeFileAtomic } from '../common/atomicFile';
import type { AppEvents } from '../events';
import type { ProjectStore } from '../project/store';
import type { StoredJob } from './host';
import { whenText, type ShownWhen } from '../../../src-shared/types/formMeta';
import { idleOptions, methodNames, methodOptions } from '../calibration/registry';
import { checkParsedJob } from './preflight';
import { problemKindOf, type Issue } from './specs';
import type { SweepChildEvent, SweepChildTask, SweepExecutor } from './sweepExecutor';

type GridValue = number | string | boolean;

/** One combination of a sweep before it is checked: its grid values, seed, dataset and the job spec input. */
export interface SweepChildInput {
  index: number;
  values: Record<string, GridValue>;
  /** The child's seed (a value of `seeds`, else the base spec's). */
  seed: number | undefined;
  dataset: string | null;
  input: Record<string, unknown>;
}

const TERMINAL: ReadonlySet<RunRecord['status']> = new Set(['succeeded', 'failed', 'cancelled']);

/** A shell-style file pattern (`*`, `?`) as an anchored regular expression over one file name. */
export function patternRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`);
}

/** The datasets a sweep crosses: its list as given, or the folder's files matching the pattern, sorted. */
export async function sweepDatasets(spec: SweepSpec): Promise<string[] | null> {
  const d = spec.datasets;
  if (!d) return null;
  if (Array.isArray(d)) return d;
  const st = await stat(d.folder).catch(() => null);
  if (!st?.isDirectory())
    throw new FieldcalError('VALIDATION', `sweep: datasets.folder: ${d.folder} is not a folder`, {
      field: 'datasets.folder',
      issues: [{ path: 'datasets.folder', message: `${d.folder} is not a folder` }],
    });
  const re = patternRegExp(d.pattern);
  const files = (await readdir(d.folder, { withFileTypes: true }))
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && re.test(e.name))
    .map((e) => e.name)
    .sort();
  if (!files.length)
    throw new FieldcalError(
      'VALIDATION',
      `sweep: datasets.pattern: no file of ${d.folder} matches ${d.pattern}`,
      {
        field: 'datasets.pattern',
        issues: [{ path: 'datasets.pattern', message: `no file of ${d.folder} matches ${d.pattern}` }],
      },
    );
  return files.map((f) => join(d.folder, f));
}

/**
 * Expands a sweep into its children, in a fixed order: datasets (outermost), then the grid's
 * combinations (its keys in the order given, the last varying fastest), then seeds (innermost).
 * Each child is a deep copy of `base` with its grid values set at their dotted paths, its seed at
 * `seed` and its dataset at `dataset.path`. A value that does not matter to its child (a surrogate's
 * setting with exact physics) is left out of it, and a child that is then an earlier one's run is
 * not made again. Nothing is checked against the job schema here.
 */
export async function expandSweep(spec: SweepSpec): Promise<SweepChildInput[]> {
  const datasets = await sweepDatasets(spec);
  const keys = Object.keys(spec.grid);
  let combos: Array<Record<string, GridValue>> = [{}];
  for (const k of keys) combos = combos.flatMap((c) => spec.grid[k]!.map((v) => ({ ...c, [k]: v })));
  const seeds: Array<number | undefined> = spec.seeds ?? [undefined];
  const out: SweepChildInput[] = [];
  const issues: Issue[] = [];
  const seen = new Set<string>();
  const used = new Set<string>();
  const idleRules = new Map<string, ShownWhen>();
  for (const [datasetAt, dataset] of (datasets ?? [null]).entries())
    for (const values of combos)
      for (const [seedAt, seed] of seeds.entries()) {
        const input = structuredClone(spec.base);
        for (const [k, v] of Object.entries(values)) {
          const bad = setPath(input, k, v);
          if (bad && !issues.some((i) => i.path === `grid.${k}`))
            issues.push({ path: `grid.${k}`, message: bad });
        }
        if (seed !== undefined) input.seed = seed;
        if (dataset !== null) {
          const bad = setPath(input, 'dataset.path', dataset);
          if (bad && !issues.some((i) => i.path === 'datasets'))
            issues.push({ path: 'datasets', message: bad });
        }
        const own = issues.length ? values : appliedValues(spec.base, input, values, idleRules);
        for (const k of Object.keys(own)) used.add(k);
        // the same run as an earlier child but for values that do not matter to it: made once
        if (Object.keys(own).length < Object.keys(values).length) {
          const key = JSON.stringify([datasetAt, own, seedAt]);
          if (seen.has(key)) continue;
          seen.add(key);
        }
        const s = input.seed;
        out.push({
          index: out.length,
          values: own,
          seed: seed ?? (typeof s === 'number' ? s : undefined),
          dataset,
          input,
        });
      }
  // an axis that matters to no child (a surrogate's setting, physics exact and not swept)
  if (!issues.length)
    for (const k of keys)
      if (!used.has(k))
        issues.push({
          path: `grid.${k}`,
          message: `matters only with ${idleRules.has(k) ? whenText(idleRules.get(k)!) : 'other options'}: sweep or set that too`,
        });
  if (issues.length) throw refuseSweep(issues);
  return out;
}

/**
 * A child's grid values that matter to it. An option value that does not (its `shownWhen` rule
 * fails with the child's other options, as a surrogate's settings with exact physics) is set back
 * to the base's in `input`, and left out of the values, so that such children are one run. A
 * child whose options do not parse is left as it is (checkSweepChildren names its issue). The rule
 * of each value left out goes to `rules`.
 */
function appliedValues(
  base: Record<string, unknown>,
  input: Record<string, unknown>,
  values: Record<string, GridValue>,
  rules: Map<string, ShownWhen>,
): Record<string, GridValue> {
  const parsed = jobSpecSchema.safeParse(input);
  if (!parsed.success) return values;
  const { method } = parsed.data;
  const kind = problemKindOf(parsed.data);
  if (!methodNames(kind).includes(method)) return values;
  let idle: Map<string, ShownWhen>;
  try {
    idle = idleOptions(method, kind, methodOptions(method, kind, parsed.data.options));
  } catch {
    return values;
  }
  const own: Record<string, GridValue> = {};
  for (const [k, v] of Object.entries(values)) {
    // the option's rule, or a settings object's above it (`surrogate` for `surrogate.split.train`)
    const parts = k.split('.').slice(1);
    const rule = k.startsWith('options.')
      ? parts.map((_, i) => idle.get(parts.slice(0, i + 1).join('.'))).findLast((r) => r !== undefined)
      : undefined;
    if (!rule) {
      own[k] = v;
      continue;
    }
    rules.set(k, rule);
    const was = getPath(base, k);
    if (was === undefined) deletePath(input, k);
    else setPath(input, k, structuredClone(was));
  }
  return own;
}

/** The VALIDATION error refusing a sweep: the first issues in the message, all of them in `details.issues`. */
function refuseSweep(issues: Issue[]): FieldcalError {
  const shown = issues.slice(0, 8).map((i) => `${i.path}: ${i.message}`);
  if (issues.length > 8) shown.push(`and ${issues.length - 8} more`);
  return new FieldcalError('VALIDATION', `sweep: ${shown.join('; ')}`, { issues, field: issues[0]!.path });
}

/**
 * Checks every child as `jobs.submit` would (the shared schema, then main's and the data's checks:
 * {@link checkParsedJob}); any issue refuses the whole sweep before anything is recorded, naming
 * `children[i].<path>`. Returns the children's specs as they will run (options parsed).
 */
export async function checkSweepChildren(children: SweepChildInput[]): Promise<JobSpec[]> {
  const issues: Issue[] = [];
  const specs: JobSpec[] = [];
  for (const c of children) {
    const at = (p: string) => `children[${c.index}].${p}`;
    const proto = prototypeKeyIssues(c.input);
    if (proto.length) {
      for (const i of proto) issues.push({ path: at(i.path.join('.')), message: i.message });
      continue;
    }
    const r = jobSpecSchema.safeParse(c.input);
    if (!r.success) {
      for (const i of r.error.issues) issues.push({ path: at(issuePath(i)), message: i.message });
      continue;
    }
    const checked = await checkParsedJob(r.data);
    for (const i of checked.issues) issues.push({ path: at(i.path), message: i.message });
    specs[c.index] = checked.spec;
  }
  if (issues.length) throw refuseSweep(issues);
  return specs;
}

/** A `redis://` URL without its password (`redis://user@host:port/db`): what the project records. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = '';
    // an empty user is left as `:@` by some runtimes: drop the credentials part entirely then
    return u.username ? u.toString() : u.toString().replace(/\/\/:?@/, '//');
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//');
  }
}

/** The key of a child: `<sweepId>:<index>` (idempotent recording). */
export const childKey = (sweepId: number, index: number) => `${sweepId}:${index}`;

/**
 * Key metrics of a child (`<period>.<metric>`): the mean over the run's targets of every finite value
 * (a gridded run's one target, a basin, or the mean over gauges), or one target's value with `target`.
 */
export function keyMetrics(metrics: RunMetric[], target?: string): Record<string, number | null> {
  const sums = new Map<string, { s: number; n: number }>();
  for (const m of metrics) {
    if (target !== undefined && m.target !== target) continue;
    const k = `${m.period}.${m.metric}`;
    const e = sums.get(k) ?? { s: 0, n: 0 };
    if (m.value !== null && Number.isFinite(m.value)) {
      e.s += m.value;
      e.n++;
    }
    sums.set(k, e);
  }
  return Object.fromEntries([...sums].map(([k, e]) => [k, e.n ? e.s / e.n : null]));
}

/**
 * The winner of a sweep by its selection rule: the succeeded child with the best `<period>.<metric>`
 * (max or min; the lowest index on ties). With no child holding that metric on the validation period
 * (e.g. lumped basins: one period), the training period is used and said so in `note`.
 */
export function pickWinner(
  rows: Array<Pick<SweepRow, 'index' | 'status'> & { select: Record<string, number | null> }>,
  select: SweepSpec['select'],
): { winner: number | null; period: string; note: string | null } {
  const best = (period: string) => {
    let w: number | null = null;
    let wv = 0;
    for (const r of rows) {
      const v = r.status === 'succeeded' ? r.select[`${period}.${select.metric}`] : null;
      if (v === null || v === undefined || !Number.isFinite(v)) continue;
      if (w === null || (select.mode === 'max' ? v > wv : v < wv)) {
        w = r.index;
        wv = v;
      }
    }
    return w;
  };
  const w = best(select.period);
  if (w !== null || select.period !== 'valid') return { winner: w, period: select.period, note: null };
  const t = best('train');
  if (t === null) return { winner: null, period: select.period, note: null };
  return {
    winner: t,
    period: 'train',
    note: `no child has a valid.${select.metric} (no validation period): the winner is chosen on train.${select.metric}`,
  };
}

const seconds = (r: RunRecord) =>
  r.startedAt && r.finishedAt ? (Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000 : null;

/** A sweep as recorded in the project: its table, winner by the selection rule, and the note on a fallback. */
export function sweepRecord(store: ProjectStore, id: number): SweepRecord & { note: string | null } {
  const sw = store.runs.sweep(id);
  const parent = store.runs.get(id);
  const spec = sw.spec as unknown as SweepSpec;
  const select = spec.select;
  const children = store.runs.sweepChildren(id);
  const rows = children.map((c) => {
    const metrics = store.runs.metrics(c.run.id);
    return {
      row: {
        index: c.index,
        runId: c.run.id,
        values: c.values as Record<string, GridValue>,
        seed: c.seed,
        dataset: c.dataset,
        status: c.run.status,
        metrics: keyMetrics(metrics),
        seconds: seconds(c.run),
        error: c.run.error,
        worker: c.worker,
      } satisfies SweepRow,
      select: select.target ? keyMetrics(metrics, select.target) : keyMetrics(metrics),
    };
  });
  const w = pickWinner(
    rows.map((r) => ({ index: r.row.index, status: r.row.status, select: r.select })),
    select,
  );
  return {
    id,
    name: sw.name,
    status: parent.status,
    children: children.length,
    done: children.filter((c) => TERMINAL.has(c.run.status)).length,
    select: { metric: select.metric, period: w.period, mode: select.mode },
    winner: w.winner,
    rows: rows.map((r) => r.row),
    queue: sw.queue,
    note: w.note,
  };
}

const csvCell = (v: unknown): string => {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** The sweep's table as CSV: one row per child, its grid values, seed, dataset, status, key metrics, time. */
export function sweepCsv(rec: SweepRecord): string {
  const grid = gridPathsOf(rec.rows);
  const metrics = [...new Set(rec.rows.flatMap((r) => Object.keys(r.metrics)))].sort();
  const head = [
    'index',
    'run_id',
    ...grid,
    'seed',
    'dataset',
    'status',
    ...metrics,
    'seconds',
    'worker',
    'winner',
    'error',
  ];
  const lines = rec.rows.map((r) =>
    [
      r.index,
      r.runId,
      ...grid.map((k) => r.values[k]),
      r.seed,
      r.dataset,
      r.status,
      ...metrics.map((k) => r.metrics[k]),
      r.seconds,
      r.worker,
      rec.winner === r.index ? 1 : 0,
      r.error,
    ]
      .map(csvCell)
      .join(','),
  );
  return `${[head.join(','), ...lines].join('\n')}\n`;
}

/** The sweep's report files in its parent's run folder: `sweep.csv` (the table) and `sweep.json` (record, rule, note). */
export async function writeSweepReport(
  dir: string,
  rec: SweepRecord & { note: string | null },
): Promise<{ csv: string; json: string }> {
  await mkdir(dir, { recursive: true });
  const csv = join(dir, 'sweep.csv');
  const json = join(dir, 'sweep.json');
  await writeFileAtomic(csv, (tmp) => writeFile(tmp, sweepCsv(rec)));
  const winner = rec.winner === null ? null : (rec.rows.find((r) => r.index === rec.winner) ?? null);
  await writeFileAtomic(json, (tmp) =>
    writeFile(tmp, `${JSON.stringify({ ...rec, winnerRow: winner }, null, 2)}\n`),
  );
  return { csv, json };
}

/** A started sweep: its record as it was recorded (children queued), and its end. */
export interface StartedSweep {
  id: number;
  record: SweepRecord;
  /** Resolves with the final record once every child was recorded (report written). */
  done: Promise<SweepRecord>;
  cancel(): Promise<void>;
}

/**
 * The sweep coordinator (the one process that writes the project): expands and checks a sweep,
 * records its parent run and every child run in one transaction, hands the children to an executor
 * and records what comes back, each child exactly once (by its key `<sweepId>:<index>`); a child
 * failing for its own reason is recorded failed with its error and the sweep goes on. When every
 * child is recorded the parent follows (succeeded, listing failed children; failed when all did)
 * and the report (`sweep.csv`, `sweep.json`) is written to the parent's run folder.
 *
 * A {@link LocalSweepExecutor} runs children on a {@link JobHost} of this project, which records
 * their status, progress, checkpoints, metrics and artifacts itself (resumable like any job): for
 * those the coordinator only stamps the child recorded. For a queue's children it records them.
 */
export class SweepCoordinator {
  private readonly listeners = new Set<(e: SweepChildEvent & { sweepId: number; index: number }) => void>();

  constructor(
    private readonly store: ProjectStore,
    private readonly executor: SweepExecutor,
    private readonly o: { outDir: (runId: number) => string; events?: AppEvents | undefined },
  ) {}

  /** Child events as they are handled (CLI progress bars), after they were recorded. */
  onChild(listener: (e: SweepChildEvent & { sweepId: number; index: number }) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async start(spec: SweepSpec): Promise<StartedSweep> {
    const children = await expandSweep(spec);
    const specs = await checkSweepChildren(children);
    const queue = spec.queue ? redactUrl(spec.queue) : null;
    const stored = { ...spec, ...(spec.queue ? { queue: queue! } : {}) };
    const { parent, tasks } = this.store.transaction(() => {
      const parent = this.store.runs.createSweep({
        name: spec.name,
        spec: stored as unknown as Record<string, unknown>,
        queue: queue === null ? null : this.executor.where,
        seed: specs[0]?.seed ?? 1,
      });
      const dir = resolve(this.o.outDir(parent.id));
      const tasks: SweepChildTask[] = children.map((c) => {
        const s = specs[c.index]!;
        const outDir = join(dir, `child-${c.index}`);
        const run = this.store.runs.createChild(parent.id, c.index, {
          name: `${spec.name} #${c.index}`,
          method: s.method,
          options: { spec: s, outDir } satisfies StoredJob as unknown as Record<string, unknown>,
          seed: s.seed,
          values: c.values,
          dataset: c.dataset,
        });
        return {
          key: childKey(parent.id, c.index),
          sweepId: parent.id,
          index: c.index,
          runId: run.id,
          spec: s,
          outDir,
        };
      });
      this.store.runs.setStatus(parent.id, 'running');
      return { parent: this.store.runs.get(parent.id), tasks };
    });
    this.o.events?.emit('jobs.onStatus', parent);
    return this.drive(parent.id, tasks, tasks);
  }

  /**
   * Re-attaches to a sweep of this project whose coordinator stopped (the process ended: its parent
   * and unfinished children were marked interrupted when the project was reopened). Children that
   * finished meanwhile are recorded now; children the executor still holds (a queue's pending jobs)
   * are listened to, not handed over again; the others are handed over again, resuming from their
   * last checkpoint. Every child is still recorded exactly once.
   */
  async attach(id: number): Promise<StartedSweep> {
    this.store.runs.sweep(id);
    const parent = this.store.runs.get(id);
    if (TERMINAL.has(parent.status))
      throw new FieldcalError('CONFLICT', `sweep ${id} is ${parent.status}: nothing to re-attach to`, {
        id,
        status: parent.status,
      });
    // listen before asking: children that finished while no coordinator listened are reported by
    // `pending`, and one finishing while it is asked is reported by the queue's events; both are
    // held here until the sweep's own listener takes over
    const early: SweepChildEvent[] = [];
    const offEarly = this.executor.onEvent((e) => early.push(e));
    let pending: Set<string>;
    try {
      pending = new Set(await this.executor.pending(id));
    } catch (e) {
      offEarly();
      throw e;
    }
    const children = this.store.runs.sweepChildren(id);
    const tasks: SweepChildTask[] = [];
    const again: SweepChildTask[] = [];
    this.store.transaction(() => {
      if (parent.status !== 'running') this.store.runs.setStatus(id, 'running');
      for (const c of children) {
        const stored = c.run.options as unknown as StoredJob;
        const t: SweepChildTask = {
          key: childKey(id, c.index),
          sweepId: id,
          index: c.index,
          runId: c.run.id,
          spec: stored.spec,
          outDir: stored.outDir,
        };
        tasks[c.index] = t;
        if (c.recorded) continue;
        // finished before the coordinator stopped (the job host records its runs itself): recorded now
        if (TERMINAL.has(c.run.status)) {
          this.store.runs.recordChildOnce(id, c.index, () => undefined);
          continue;
        }
        if (pending.has(t.key)) continue;
        const cp = this.store.runs.checkpoint(c.run.id);
        if (c.run.status === 'interrupted') this.store.runs.setStatus(c.run.id, 'queued');
        else if (c.run.status === 'running') {
          // left running by a dead process that was not marked: it resumes like an interrupted one
          this.store.runs.setStatus(c.run.id, 'interrupted', 'coordinator restarted');
          this.store.runs.setStatus(c.run.id, 'queued');
        }
        again.push({ ...t, ...(cp ? { resume: cp.state } : {}) });
      }
    });
    return this.drive(id, tasks, again, { events: early, off: offEarly });
  }

  /** Listens to the executor for a sweep's children, hands `submit` over, and ends the sweep once all are recorded. */
  private async drive(
    id: number,
    tasks: SweepChildTask[],
    submit: SweepChildTask[],
    early?: { events: SweepChildEvent[]; off: () => void },
  ): Promise<StartedSweep> {
    let finish!: (r: SweepRecord) => void;
    let fail!: (e: unknown) => void;
    const done = new Promise<SweepRecord>((res, rej) => {
      finish = res;
      fail = rej;
    });
    let ended = false;
    const end = async () => {
      if (ended) return;
      ended = true;
      off();
      try {
        finish(await this.finalize(id));
      } catch (e) {
        fail(e);
      }
    };
    const take = (e: SweepChildEvent) => {
      const [sid, idx] = e.key.split(':').map(Number);
      if (sid !== id || idx === undefined || !Number.isInteger(idx) || !tasks[idx]) return;
      try {
        this.handle(id, tasks[idx], e);
      } catch (err) {
        // a project that cannot take an event (closed, full disk) does not crash the process
        process.emitWarning(`sweep ${id}: child ${idx}: ${(err as Error).message}`);
      }
      for (const l of this.listeners) l({ ...e, sweepId: id, index: idx });
      if ((e.type === 'result' || e.type === 'error') && this.allRecorded(id)) void end();
    };
    const off = this.executor.onEvent(take);
    // what came while re-attaching (recorded once by key, whatever came twice)
    if (early) {
      early.off();
      for (const e of early.events.splice(0)) take(e);
    }
    try {
      if (submit.length) await this.executor.submit(submit);
    } catch (err) {
      // nothing runs: every child handed over is recorded failed with why, and the sweep ends
      const msg = err instanceof FieldcalError ? `${err.code}: ${err.message}` : (err as Error).message;
      for (const t of submit)
        try {
          this.handle(id, t, {
            type: 'error',
            key: t.key,
            worker: null,
            error: { code: 'EXECUTOR', message: msg },
          });
        } catch (e) {
          process.emitWarning(`sweep ${id}: child ${t.index}: ${(e as Error).message}`);
        }
    }
    if (this.allRecorded(id)) void end();
    return {
      id,
      record: this.record(id),
      done,
      cancel: async () => {
        const left = this.store.runs
          .sweepChildren(id)
          .filter((c) => !c.recorded)
          .map((c) => childKey(id, c.index));
        await this.executor.cancel(left);
      },
    };
  }

  /** The sweep as recorded now (without the note). */
  record(id: number): SweepRecord {
    const { note: _n, ...rec } = sweepRecord(this.store, id);
    return rec;
  }

  private allRecorded(id: number): boolean {
    return this.store.runs.sweepChildren(id).every((c) => c.recorded);
  }

  /** Records one child event; results and errors exactly once per child. */
  private handle(id: number, t: SweepChildTask, e: SweepChildEvent): void {
    const runs = this.store.runs;
    const local = this.executor.where === 'local';
    if (e.type === 'started') {
      runs.setChildWorker(id, t.index, e.worker);
      const r = runs.get(t.runId);
      if (r.status === 'queued' || r.status === 'interrupted') {
        const now = runs.setStatus(t.runId, 'running');
        this.o.events?.emit('jobs.onStatus', now);
      }
      return;
    }
    if (e.type === 'progress') {
      if (local) return; // the job host records its own runs' progress
      const p = {
        runId: t.runId,
        phase: e.progress.phase,
        iteration: e.progress.iteration,
        total: e.progress.total || null,
        objective: Number.isFinite(e.progress.objective) ? e.progress.objective : null,
        losses: e.progress.losses ?? {},
        etaSeconds: null,
        message: null,
      };
      runs.addProgress(t.runId, p);
      this.o.events?.emit('jobs.onProgress', p);
      return;
    }
    if (e.type === 'checkpoint') {
      if (!local) runs.saveCheckpoint(t.runId, e.iteration, e.state);
      return;
    }
    const recorded = runs.recordChildOnce(id, t.index, () => {
      if (e.worker) runs.setChildWorker(id, t.index, e.worker);
      const r = runs.get(t.runId);
      // a child the job host ran was recorded by it (status, metrics, artifacts): nothing more to add
      if (TERMINAL.has(r.status)) return;
      if (r.status !== 'running') runs.setStatus(t.runId, 'running');
      if (e.type === 'result') {
        runs.addMetrics(t.runId, e.result.metrics);
        for (const a of e.result.artifacts) runs.addArtifact({ runId: t.runId, ...a });
        runs.setStatus(t.runId, e.result.cancelled ? 'cancelled' : 'succeeded');
      } else runs.setStatus(t.runId, 'failed', `${e.error.code}: ${e.error.message}`);
    });
    if (recorded) this.o.events?.emit('jobs.onStatus', runs.get(t.runId));
  }

  /** Every child recorded: the parent follows its children, and the report is written. */
  private async finalize(id: number): Promise<SweepRecord> {
    const before = sweepRecord(this.store, id);
    const failed = before.rows.filter((r) => r.status === 'failed');
    const ok = before.rows.some((r) => r.status === 'succeeded');
    const cancelled = before.rows.every((r) => r.status === 'cancelled');
    const error = failed.length
      ? `${failed.length} of ${before.rows.length} children failed: ${failed
          .slice(0, 20)
          .map((r) => `#${r.index} (run ${r.runId}): ${r.error ?? ''}`)
          .join('; ')}${failed.length > 20 ? '; …' : ''}`
      : null;
    const parent = this.store.runs.get(id);
    const status = TERMINAL.has(parent.status)
      ? parent.status
      : cancelled
        ? 'cancelled'
        : ok || !failed.length
          ? 'succeeded'
          : 'failed';
    // the report is written first, then the parent's status and its report files in one transaction:
    // a parent seen finished always has its table
    const rec = { ...before, status };
    const files = await writeSweepReport(resolve(this.o.outDir(id)), rec);
    const arts = await Promise.all([
      artifactOf('sweep-table', files.csv),
      artifactOf('sweep-report', files.json),
    ]);
    const now = this.store.transaction(() => {
      for (const a of arts) this.store.runs.addArtifact({ runId: id, ...a });
      return TERMINAL.has(parent.status) ? null : this.store.runs.setStatus(id, status, error);
    });
    if (now) this.o.events?.emit('jobs.onStatus', now);
    const { note: _n, ...out } = rec;
    return out;
  }
}
