import type { RunRecord, SweepRecord, SweepRow } from '../../../../src-shared/ipc';
import { gridPathsOf } from '../../../../src-shared/types/sweep';

/**
 * A sweep's table (issue 18) as plain data: its columns (the grid values, seed, dataset, status, the
 * key metrics, time, worker, error), each row's cell values, sorting by a column, the live status of
 * each child from the runs list, and the overall progress.
 */

export type CellValue = number | string | boolean | null;

export interface SweepColumn {
  key: string;
  label: string;
  /** A second header line (a metric's period). */
  sub?: string;
  /** Numbers are right-aligned and sorted numerically. */
  numeric: boolean;
  get: (row: SweepRow) => CellValue;
}

type Status = SweepRow['status'];

/** The last segment of a grid path (`options.lambdaL` → `lambdaL`), the way the table heads it. */
export const shortPath = (p: string): string => p.split('.').at(-1) ?? p;

/** The selection rule's metric key in a row's metrics (`valid.nse`). */
export const selectionKey = (r: Pick<SweepRecord, 'select'>): string =>
  `${r.select.period}.${r.select.metric}`;

/**
 * The metric columns: the selection metric on the selection period first, then on the other periods
 * (`all`: then every other metric a child recorded), in name order.
 */
export function metricKeys(record: SweepRecord, all = false): string[] {
  const sel = selectionKey(record);
  const metric = record.select.metric;
  const rank = (k: string) => (k === sel ? 0 : k.endsWith(`.${metric}`) ? 1 : 2);
  const keys = [...new Set(record.rows.flatMap((r) => Object.keys(r.metrics)))]
    .filter((k) => all || k.endsWith(`.${metric}`))
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  if (!keys.includes(sel)) keys.unshift(sel);
  return keys;
}

/**
 * The table's columns: index, one per grid path, seed, dataset (when any child has one), status, the
 * metrics ({@link metricKeys}), seconds, worker, error.
 */
export function sweepColumns(record: SweepRecord, allMetrics = false): SweepColumn[] {
  const gridPaths = gridPathsOf(record.rows);
  const cols: SweepColumn[] = [
    { key: 'index', label: '#', numeric: true, get: (r) => r.index + 1 },
    ...gridPaths.map((p) => ({
      key: `value:${p}`,
      label: shortPath(p),
      numeric: record.rows.every((r) => r.values[p] === undefined || typeof r.values[p] === 'number'),
      get: (r: SweepRow) => r.values[p] ?? null,
    })),
    { key: 'seed', label: 'seed', numeric: true, get: (r) => r.seed },
  ];
  if (record.rows.some((r) => r.dataset !== null))
    cols.push({ key: 'dataset', label: 'dataset', numeric: false, get: (r) => r.dataset });
  cols.push(
    { key: 'status', label: 'status', numeric: false, get: (r) => r.status },
    ...metricKeys(record, allMetrics).map((k) => ({
      key: `metric:${k}`,
      label: k.slice(k.indexOf('.') + 1),
      sub: k.slice(0, k.indexOf('.')),
      numeric: true,
      get: (r: SweepRow) => r.metrics[k] ?? null,
    })),
    { key: 'seconds', label: 'time (s)', numeric: true, get: (r) => r.seconds },
    { key: 'worker', label: 'worker', numeric: false, get: (r) => r.worker },
    { key: 'error', label: 'error', numeric: false, get: (r) => r.error },
  );
  return cols;
}

/** Orders two cell values: missing values last whatever the direction, numbers by value, text by name. */
function compare(a: CellValue, b: CellValue, dir: 1 | -1): number {
  if (a === null || (typeof a === 'number' && Number.isNaN(a))) return b === null ? 0 : 1;
  if (b === null || (typeof b === 'number' && Number.isNaN(b))) return -1;
  if (typeof a === 'number' && typeof b === 'number') return dir * (a - b);
  return dir * String(a).localeCompare(String(b), undefined, { numeric: true });
}

/** The rows sorted by a column (stable: equal values keep the children's order). */
export function sortRows(
  rows: readonly SweepRow[],
  column: SweepColumn | undefined,
  dir: 'asc' | 'desc',
): SweepRow[] {
  if (!column) return [...rows];
  const d = dir === 'asc' ? 1 : -1;
  return rows
    .map((r, i) => ({ r, i }))
    .sort((x, y) => compare(column.get(x.r), column.get(y.r), d) || x.i - y.i)
    .map((x) => x.r);
}

/** How a cell reads: numbers to 4 significant digits, booleans and text as they are, missing as `–`. */
export function formatCell(v: CellValue): string {
  if (v === null) return '–';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return String(v);
    return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
  }
  return String(v);
}

/**
 * Each row with its live status: a child the runs list (fed by `jobs.onStatus`) shows running is shown
 * running before the table is fetched again; its end is taken from the table only, which brings the
 * end together with the child's metrics (the view reloads it when a status changes), so a row never
 * reads finished without its metrics and a finished row never goes back to running.
 */
export function liveRows(rows: readonly SweepRow[], runs: readonly RunRecord[]): SweepRow[] {
  const byId = new Map(runs.map((r) => [r.id, r]));
  return rows.map((row) => {
    const run = row.runId === null ? undefined : byId.get(row.runId);
    if (!run || row.status !== 'queued' || run.status === 'queued') return row;
    return { ...row, status: 'running' };
  });
}

/** How many children ended (any way) and how many of them succeeded or failed. */
export function progressOf(rows: readonly SweepRow[]): {
  done: number;
  total: number;
  succeeded: number;
  failed: number;
  running: number;
} {
  const count = (f: (s: Status) => boolean) => rows.filter((r) => f(r.status)).length;
  return {
    done: count((s) => s !== 'queued' && s !== 'running'),
    total: rows.length,
    succeeded: count((s) => s === 'succeeded'),
    failed: count((s) => s === 'failed' || s === 'cancelled' || s === 'interrupted'),
    running: count((s) => s === 'running'),
  };
}

/**
 * A text that changes whenever the status of the sweep or of any of its children changes in the runs
 * list: the sweep view reloads its table when it does.
 */
export function statusSignature(
  record: SweepRecord | null,
  sweepId: number,
  runs: readonly RunRecord[],
): string {
  const ids = new Set<number>([sweepId, ...(record?.rows.map((r) => r.runId ?? -1) ?? [])]);
  return runs
    .filter((r) => ids.has(r.id))
    .map((r) => `${r.id}:${r.status}`)
    .sort()
    .join(',');
}

/** The winning child's row by the selection rule (`record.winner` is the child's index), or null. */
export function winnerRow(record: SweepRecord): SweepRow | null {
  if (record.winner === null) return null;
  return record.rows.find((r) => r.index === record.winner) ?? null;
}
