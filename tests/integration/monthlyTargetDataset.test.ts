import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { griddedProblemFromDataset } from '../../src-main/services/calibration/gridded/fromDataset';
import { targetObjective } from '../../src-main/services/calibration/gridded/objectives';
import { defaultFields, fullParams } from '../../src-main/services/calibration/gridded/problem';
import { LocalSimulator } from '../../src-main/services/calibration/gridded/simulator';
import { loadSmashDataset, type SmashDataset } from '../../src-main/services/datasets/smashDataset';
import { writeGeoTiff } from '../../src-main/services/rasters/writeGeoTiff';
import { JobHost } from '../../src-main/services/jobs/host';
import { ProjectStore } from '../../src-main/services/project/store';

/**
 * A smash-layout folder whose sm/ stack is monthly (one GeoTIFF per month, dated on the 1st): the
 * Lez's forcing, descriptors and gauges, and twelve monthly soil-moisture fields written by the test.
 * Loaded for 15 Aug 2012 .. 31 Jul 2013, the cut August is no target step; the problem's monthly
 * target equals GDAL's reading of the files at the catchment's cells.
 */
const LEZ = resolve('resources/sample-data/lez');
const dir = mkdtempSync(join(tmpdir(), 'fieldcal-monthly-sm-'));
const data = join(dir, 'lez-sm');
const months = Array.from({ length: 12 }, (_, k) => new Date(Date.UTC(2012, 7 + k, 1)));
const file = (d: Date) => {
  const s = d.toISOString().slice(0, 10).replace(/-/g, '');
  return join(data, 'sm', s.slice(0, 4), `${s}0000_SM.tif`);
};
let ds: SmashDataset;

beforeAll(async () => {
  mkdirSync(data);
  for (const f of ['prcp', 'pet', 'descriptor', 'qobs']) symlinkSync(join(LEZ, f), join(data, f));
  for (const f of ['France_flwdir.tif', 'gauge_attributes.csv']) cpSync(join(LEZ, f), join(data, f));
  // the catchment's grid, from a load without sm/
  const base = await loadSmashDataset({
    dir: data,
    start: new Date('2012-08-01T00:00:00Z'),
    end: new Date('2012-08-02T00:00:00Z'),
  });
  const g = base.catchment.grid;
  for (const [k, d] of months.entries()) {
    // a field that differs per cell and month, one missing cell (nodata) in March
    const values = Float64Array.from({ length: g.rows * g.cols }, (_, i) =>
      k === 7 && i === g.mask!.indexOf(1) ? -9999 : 0.1 + 0.01 * k + 0.0001 * i,
    );
    mkdirSync(join(file(d), '..'), { recursive: true });
    await writeGeoTiff({ path: file(d), grid: g, nodata: -9999, bands: [{ data: values }] });
  }
  ds = await loadSmashDataset({
    dir: data,
    start: new Date('2012-08-15T00:00:00Z'),
    end: new Date('2013-07-31T00:00:00Z'),
  });
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a monthly sm/ stack', () => {
  it('is read as a coarse target: whole months only, each day binned to its month', () => {
    expect(ds.SM).toBeUndefined();
    const sm = ds.coarse!.SM!;
    expect(sm.step).toBe('monthly');
    expect(sm.rule).toBe('mean');
    // August is cut by the period's start: September .. July
    expect(sm.dates.map((d) => d.toISOString().slice(0, 10))).toEqual(
      months.slice(1).map((d) => d.toISOString().slice(0, 10)),
    );
    expect(sm.bin.length).toBe(ds.dates.length);
    expect(Array.from(sm.bin.slice(0, 17)).every((b) => b === -1)).toBe(true);
    expect(sm.bin[17]).toBe(0); // 1 September 2012
    expect(Array.from(sm.bin).filter((b) => b === 5).length).toBe(28); // February 2013
  });

  it("gives a problem whose monthly target equals GDAL's reading of the files", () => {
    // warm-up to the end of September (47 days), training October .. April, test May .. July
    const pr = griddedProblemFromDataset(ds, { warmup: 47, train: 212, valid: 0, test: 92 }, ['b'], {}, 'SM');
    const co = pr.target.coarse!;
    const g = ds.catchment.grid;
    const n = pr.cells;
    const active: Array<[number, number]> = [];
    for (let i = 0; i < g.rows * g.cols; i++)
      if (g.mask![i]) active.push([i % g.cols, Math.floor(i / g.cols)]);
    expect(active.length).toBe(n);
    for (const [k, d] of months.slice(1).entries()) {
      const out = execFileSync('gdallocationinfo', ['-valonly', file(d)], {
        input: active.map(([c, r]) => `${c} ${r}`).join('\n') + '\n',
      })
        .toString()
        .trim()
        .split('\n')
        .map(Number);
      expect(out).toHaveLength(n);
      out.forEach((v, c) => {
        if (v === -9999) expect(co.values[k * n + c]).toBeNaN();
        else expect(co.values[k * n + c]).toBeCloseTo(v, 6);
      });
    }
    expect(co.values.some(Number.isNaN)).toBe(true);
    // the objective compares monthly means: a run whose monthly means are the target scores 0
    const sim = new LocalSimulator(pr);
    const run = sim.run(fullParams(pr, defaultFields(pr)), pr.steps);
    expect(targetObjective('cell-mse', pr.target, run, ...pr.periods.train, n)).toBeGreaterThan(0);
    const flat = new Float64Array(pr.steps * n);
    for (let t = 0; t < pr.steps; t++)
      for (let c = 0; c < n; c++) flat[t * n + c] = co.bins[t]! >= 0 ? co.values[co.bins[t]! * n + c]! : 0;
    // (0 up to rounding: the mean of a month's equal values sums value / days)
    expect(targetObjective('cell-mse', pr.target, flat, ...pr.periods.train, n)).toBeLessThan(1e-20);
    // a short gradient run lowers the monthly objective
    const [t0, t1] = pr.periods.train;
    const a = sim.lossGrad(fullParams(pr, defaultFields(pr)), 'cell-mse', t0, t1);
    const step = defaultFields(pr).map((f) =>
      Float64Array.from(f, (v, c) =>
        Math.min(pr.upper[0]!, Math.max(pr.lower[0]!, v - 1e-3 * Math.sign(a.g.b[c]!))),
      ),
    );
    expect(sim.lossGrad(fullParams(pr, step), 'cell-mse', t0, t1).f).toBeLessThan(a.f);
  }, 120_000);

  it('runs as a job: the monthly target and the monthly means of the simulation written side by side, the report at the monthly step', async () => {
    const store = ProjectStore.create({ path: join(dir, 'sm.fieldcal'), name: 'sm' });
    const host = new JobHost(store);
    try {
      const run = host.submit(
        {
          kind: 'gridded',
          method: 'gradient',
          options: { iterations: 3 },
          target: 'SM',
          dataset: { path: data, start: '2012-08-15', end: '2013-07-31' },
          calibrated: ['b'],
          threads: 1,
          periods: [
            { name: 'warmup', start: '2012-08-15', end: '2012-09-30' },
            { name: 'train', start: '2012-10-01', end: '2013-04-30' },
            { name: 'test', start: '2013-05-01', end: '2013-07-31' },
          ],
        },
        { outDir: (id) => join(dir, `run-${id}`) },
      );
      await host.wait(run.id);
      const d = store.runs.detail(run.id);
      expect(d.status, JSON.stringify(d.error ?? null)).toBe('succeeded');
      const path = (name: string) => d.artifacts.find((a) => a.path.endsWith(name))?.path;
      const obs = path('observed_SM_monthly-mean.tif');
      const simMonthly = path('simulated_SM_monthly-mean.tif');
      expect(obs).toBeDefined();
      expect(simMonthly).toBeDefined();
      // one band per whole month of the record (September .. July), named by its month
      const info = JSON.parse(execFileSync('gdalinfo', ['-json', obs!], { encoding: 'utf8' })) as {
        bands: Array<{ description: string }>;
      };
      expect(info.bands.map((b) => b.description)).toEqual(
        months.slice(1).map((m) => m.toISOString().slice(0, 7)),
      );
      // the observed band of March 2013 is the file the test wrote for March, at an active cell
      const g = ds.catchment.grid;
      const cell = g.mask!.indexOf(1, g.mask!.indexOf(1) + 1);
      const [row, col] = [Math.floor(cell / g.cols), cell % g.cols];
      const at = (f: string, band: number) =>
        Number(
          execFileSync('gdallocationinfo', ['-valonly', '-b', String(band), f, String(col), String(row)], {
            encoding: 'utf8',
          }).trim(),
        );
      expect(at(obs!, 7)).toBeCloseTo(at(file(months[7]!), 1), 6);
      // the test-period metrics compare months: 3 months, May .. July
      expect(d.metrics.some((m) => m.period === 'test')).toBe(true);
    } finally {
      await host.close();
      store.close();
    }
  }, 300_000);
});
