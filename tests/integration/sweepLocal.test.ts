import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunDetail, RunRecord } from '../../src-shared/ipc';
import type { SweepRecord } from '../../src-shared/types/sweep';
import { dispatch } from '../../src-main/ipc/dispatch';
import { gdalXyz } from '../helpers/gdal';
import { testServices } from '../helpers/services';

/**
 * Issue 18: a 12-child sweep of small twin calibrations (3 option values × 4 seeds) on the local job
 * host, 2 at a time, through the jobs service (every call and answer validated by the IPC contract);
 * then the same 12 specs submitted one by one with jobs.submit: same metrics, byte-identical
 * parameter GeoTIFFs.
 */
const world = testServices('server');
afterAll(() => world.cleanup());
const call = async <T>(service: string, method: string, arg: unknown): Promise<T> => {
  const r = (await dispatch(world.services.impls, service as never, method as never, arg as never)) as
    { ok: true; value: T } | { ok: false; error: { code: string; message: string } };
  if (!r.ok) throw Object.assign(new Error(r.error.message), r.error);
  return r.value;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const base = {
  kind: 'twin',
  method: 'sce-ua',
  threads: 1,
  options: { maxRuns: 20, transfer: 'uniform' },
  twin: { rows: 4, cols: 5, years: { warmup: 1, train: 1, valid: 1, test: 1 }, calibrated: ['b', 'Ds'] },
};
const MAX_RUNS = [20, 30, 40];
const SEEDS = [1, 2, 3, 4];

async function finishedRun(id: number): Promise<RunDetail> {
  for (;;) {
    const d = await call<RunDetail>('jobs', 'get', { id });
    if (!['queued', 'running'].includes(d.status)) return d;
    await sleep(200);
  }
}

describe('a local sweep of 12 twin calibrations', () => {
  let rec: SweepRecord;
  it(
    'records the parent and 12 children, runs them 2 at a time, each recorded once',
    { timeout: 600_000 },
    async () => {
      await call('project', 'create', { path: join(world.dir, 'sweep.fieldcal') });
      const started = await call<SweepRecord>('jobs', 'sweep', {
        spec: {
          name: 'twin grid',
          base,
          grid: { 'options.maxRuns': MAX_RUNS },
          seeds: SEEDS,
          select: { metric: 'spatialRmse', period: 'valid', mode: 'min' },
          concurrency: 2,
        },
      });
      expect(started.children).toBe(12);
      expect(started.rows.map((r) => [r.values['options.maxRuns'], r.seed])).toEqual(
        MAX_RUNS.flatMap((m) => SEEDS.map((s) => [m, s])),
      );
      for (;;) {
        rec = await call<SweepRecord>('jobs', 'sweepGet', { id: started.id });
        // never more than 2 children at once
        expect(rec.rows.filter((r) => r.status === 'running').length).toBeLessThanOrEqual(2);
        if (!['queued', 'running'].includes(rec.status)) break;
        await sleep(250);
      }
      expect(rec.status).toBe('succeeded');
      expect(rec.done).toBe(12);
      expect(rec.rows.every((r) => r.status === 'succeeded' && r.worker === 'local')).toBe(true);
      // 13 runs: the parent and one per child, nothing recorded twice
      const runs = await call<RunRecord[]>('jobs', 'list', {});
      expect(runs.length).toBe(13);
      expect(runs.filter((r) => r.method === 'sweep').map((r) => r.id)).toEqual([started.id]);
      for (const r of rec.rows) {
        const d = await call<RunDetail>('jobs', 'get', { id: r.runId });
        const paths = d.artifacts.map((a) => a.path);
        expect(new Set(paths).size).toBe(paths.length);
        expect(paths.filter((p) => basename(p) === 'result.json')).toHaveLength(1);
        expect(d.seed).toBe(r.seed);
      }
      // the winner is the smallest validation spatial RMSE (lowest index on ties)
      const v = rec.rows.map((r) => r.metrics['valid.spatialRmse']!);
      const best = v.indexOf(Math.min(...v));
      expect(rec.winner).toBe(best);
      expect(rec.select).toEqual({ metric: 'spatialRmse', period: 'valid', mode: 'min' });
      // the report in the parent's run folder
      const parent = await call<RunDetail>('jobs', 'get', { id: started.id });
      const csv = parent.artifacts.find((a) => a.kind === 'sweep-table')!.path;
      const lines = readFileSync(csv, 'utf8').trim().split('\n');
      expect(lines).toHaveLength(13);
      const head = lines[0]!.split(',');
      const k = head.indexOf('valid.spatialRmse');
      expect(Number(lines[1 + best]!.split(',')[k])).toBeCloseTo(v[best]!, 12);
      expect(lines[1 + best]!.split(',')[head.indexOf('winner')]).toBe('1');
      const report = JSON.parse(
        readFileSync(parent.artifacts.find((a) => a.kind === 'sweep-report')!.path, 'utf8'),
      ) as SweepRecord;
      expect(report.winner).toBe(best);
      expect((await call<SweepRecord[]>('jobs', 'sweeps', {})).map((s) => s.id)).toEqual([started.id]);
    },
  );

  it('gives the same results as the 12 specs submitted one by one', { timeout: 900_000 }, async () => {
    const seen = new Set<string>();
    for (const row of rec.rows) {
      const spec = {
        ...base,
        options: { ...base.options, maxRuns: row.values['options.maxRuns'] },
        seed: row.seed,
      };
      const run = await call<RunRecord>('jobs', 'submit', { spec });
      const alone = await finishedRun(run.id);
      const child = await call<RunDetail>('jobs', 'get', { id: row.runId });
      expect(alone.status).toBe('succeeded');
      expect(alone.metrics).toEqual(child.metrics);
      const tifs = (d: RunDetail) =>
        d.artifacts
          .filter((a) => a.kind === 'parameter-geotiff')
          .sort((a, b) => a.path.localeCompare(b.path));
      expect(tifs(alone).map((a) => basename(a.path))).toEqual(tifs(child).map((a) => basename(a.path)));
      expect(tifs(child).length).toBeGreaterThan(0);
      tifs(alone).forEach((a, i) => {
        const c = tifs(child)[i]!;
        expect(readFileSync(a.path).equals(readFileSync(c.path))).toBe(true);
        seen.add(readFileSync(c.path).toString('base64'));
      });
    }
    // the fields are real and differ across the grid: GDAL reads finite parameter values
    const first = (await call<RunDetail>('jobs', 'get', { id: rec.rows[0]!.runId })).artifacts.find(
      (a) => a.kind === 'parameter-geotiff' && basename(a.path).startsWith('b'),
    )!;
    const values = gdalXyz(first.path).map((l) => Number(l.trim().split(/\s+/)[2]));
    expect(values.some((x) => Number.isFinite(x) && x !== -9999)).toBe(true);
    expect(seen.size).toBeGreaterThan(2);
  });
});
