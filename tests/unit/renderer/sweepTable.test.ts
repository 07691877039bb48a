import { describe, expect, it } from 'vitest';
import { sweepRecordSchema, type RunRecord, type SweepRecord, type SweepRow } from '../../../src-shared/ipc';
import {
  formatCell,
  liveRows,
  metricKeys,
  progressOf,
  sortRows,
  statusSignature,
  sweepColumns,
  winnerRow,
} from '../../../src-renderer/src/components/results/sweepTable';

const row = (index: number, over: Partial<SweepRow> = {}): SweepRow => ({
  index,
  runId: 11 + index,
  values: { 'options.lambdaL': [1, 10][index % 2]! },
  seed: 1 + Math.floor(index / 2),
  dataset: null,
  status: 'succeeded',
  metrics: {},
  seconds: 3 + index,
  error: null,
  worker: 'local',
  ...over,
});

// 2 lambdas x 2 seeds: child index 2 (run 13) has the best validation KGE
const record: SweepRecord = sweepRecordSchema.parse({
  id: 10,
  name: 'lambda',
  status: 'succeeded',
  children: 4,
  done: 4,
  select: { metric: 'medianCellKge', period: 'valid', mode: 'max' },
  winner: 2,
  queue: null,
  rows: [
    row(0, { metrics: { 'valid.medianCellKge': 0.41, 'valid.spatialRmse': 0.3 } }),
    row(1, { metrics: { 'valid.medianCellKge': 0.12, 'valid.spatialRmse': 0.5 } }),
    row(2, { metrics: { 'valid.medianCellKge': 0.73, 'valid.spatialRmse': 0.2 } }),
    row(3, { status: 'failed', error: 'lambdaL: too large', metrics: {}, seconds: null }),
  ],
});

const run = (id: number, status: RunRecord['status'], error: string | null = null): RunRecord => ({
  id,
  name: `run ${id}`,
  method: 'gradient',
  options: {},
  status,
  seed: 1,
  studyAreaId: null,
  createdAt: '2026-01-01T00:00:00Z',
  startedAt: null,
  finishedAt: null,
  error,
});

describe("a sweep's table", () => {
  const cols = sweepColumns(record);
  const col = (key: string) => cols.find((c) => c.key === key)!;

  it('has the grid values, seed, status, the selection metric first, time, worker and error', () => {
    expect(cols.map((c) => (c.sub ? `${c.sub} ${c.label}` : c.label))).toEqual([
      '#',
      'lambdaL',
      'seed',
      'status',
      'valid medianCellKge',
      'time (s)',
      'worker',
      'error',
    ]);
    expect(col('value:options.lambdaL').numeric).toBe(true);
    expect(col('metric:valid.medianCellKge').get(record.rows[2]!)).toBe(0.73);
    expect(col('metric:valid.medianCellKge').get(record.rows[3]!)).toBeNull();
  });

  it('shows the selection metric on the selection period, then on the others, or every metric', () => {
    const m = {
      'train.medianCellKge': 0.5,
      'train.spatialRmse': 0.1,
      'valid.medianCellKge': 0.4,
      'valid.spatialRmse': 0.2,
      'test.medianCellKge': 0.3,
      'all.cc_with_truth': 0.9,
    };
    const many = { ...record, rows: record.rows.map((r) => ({ ...r, metrics: m })) };
    expect(metricKeys(many)).toEqual(['valid.medianCellKge', 'test.medianCellKge', 'train.medianCellKge']);
    expect(metricKeys(many, true)).toEqual([
      'valid.medianCellKge',
      'test.medianCellKge',
      'train.medianCellKge',
      'all.cc_with_truth',
      'train.spatialRmse',
      'valid.spatialRmse',
    ]);
    // a selection metric no child has yet still gets its column
    expect(metricKeys({ ...record, rows: [] })).toEqual(['valid.medianCellKge']);
  });

  it('orders the grid columns as the grid, a value a child leaves out shown as a dash', () => {
    // grid surrogate.epochs x physics: the exact child has no surrogate setting (main leaves it out)
    const crossed = {
      ...record,
      rows: [
        row(0, { values: { 'options.physics': 'exact' } }),
        row(1, { values: { 'options.surrogate.epochs': 5, 'options.physics': 'lstm' } }),
      ],
    };
    const c = sweepColumns(crossed);
    expect(c.filter((x) => x.key.startsWith('value:')).map((x) => x.key)).toEqual([
      'value:options.surrogate.epochs',
      'value:options.physics',
    ]);
    expect(formatCell(c.find((x) => x.key === 'value:options.surrogate.epochs')!.get(crossed.rows[0]!))).toBe(
      '–',
    );
  });

  it('adds a dataset column only when a child has one', () => {
    const withData = { ...record, rows: record.rows.map((r, i) => ({ ...r, dataset: `/b/${i}.csv` })) };
    expect(sweepColumns(withData).map((c) => c.key)).toContain('dataset');
    expect(cols.map((c) => c.key)).not.toContain('dataset');
  });

  it('sorts by a metric either way with missing values last, stably', () => {
    const kge = col('metric:valid.medianCellKge');
    expect(sortRows(record.rows, kge, 'desc').map((r) => r.index)).toEqual([2, 0, 1, 3]);
    expect(sortRows(record.rows, kge, 'asc').map((r) => r.index)).toEqual([1, 0, 2, 3]);
    // equal lambdas keep the children's order
    expect(sortRows(record.rows, col('value:options.lambdaL'), 'desc').map((r) => r.index)).toEqual([
      1, 3, 0, 2,
    ]);
    expect(sortRows(record.rows, col('status'), 'asc').map((r) => r.status)).toEqual([
      'failed',
      'succeeded',
      'succeeded',
      'succeeded',
    ]);
    expect(sortRows(record.rows, undefined, 'asc')).toEqual(record.rows);
  });

  it('finds the winner by its index', () => {
    expect(winnerRow(record)?.runId).toBe(13);
    expect(winnerRow({ ...record, winner: 0 })?.runId).toBe(11);
    expect(winnerRow({ ...record, winner: null })).toBeNull();
  });

  it('formats numbers to 4 significant digits and missing values as a dash', () => {
    expect(formatCell(0.123456)).toBe('0.1235');
    expect(formatCell(1234.5678)).toBe('1235');
    expect(formatCell(12)).toBe('12');
    expect(formatCell(null)).toBe('–');
    expect(formatCell(true)).toBe('true');
  });

  it("shows a queued child running from the runs list, its end only with the table's metrics", () => {
    const running = {
      ...record,
      rows: record.rows.map((r, i) => ({ ...r, status: i < 2 ? ('queued' as const) : r.status })),
    };
    const live = liveRows(running.rows, [run(11, 'running'), run(12, 'failed', 'boom'), run(13, 'running')]);
    // a child that ended in the runs list reads running until the table brings its end and metrics
    expect(live.map((r) => r.status)).toEqual(['running', 'running', 'succeeded', 'failed']);
    expect(live[1]!.metrics).toEqual(running.rows[1]!.metrics);
    expect(progressOf(live)).toEqual({ done: 2, total: 4, succeeded: 1, failed: 1, running: 2 });
    // a finished row never goes back
    expect(liveRows(record.rows, [run(13, 'running')])[2]!.status).toBe('succeeded');
  });

  it("changes its signature when the sweep's or a child's status changes, not another run's", () => {
    const a = statusSignature(record, 10, [run(10, 'running'), run(11, 'running'), run(99, 'running')]);
    const b = statusSignature(record, 10, [run(10, 'running'), run(11, 'succeeded'), run(99, 'running')]);
    const c = statusSignature(record, 10, [run(10, 'running'), run(11, 'running'), run(99, 'failed')]);
    expect(a).not.toBe(b);
    expect(a).toBe(c);
    expect(statusSignature(null, 10, [run(10, 'succeeded')])).toBe('10:succeeded');
  });
});
