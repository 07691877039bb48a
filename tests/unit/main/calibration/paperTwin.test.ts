import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FieldcalError, type NamedPeriod } from '../../../../src-shared/ipc';
import {
  defaultSimulation,
  evaluateFields,
} from '../../../../src-main/services/calibration/gridded/evaluate';
import { dailyDates, stepPeriods } from '../../../../src-main/services/calibration/gridded/periods';
import { checkProblem } from '../../../../src-main/services/calibration/gridded/problem';
import { LocalSimulator } from '../../../../src-main/services/calibration/gridded/simulator';
import { makeTwin } from '../../../../src-main/services/calibration/twin/generate';
import {
  PAPER_DESCRIPTORS,
  PAPER_PERIODS,
  PARTICLE_DENSITY,
  saxtonRawlsPorosity,
} from '../../../../src-main/services/calibration/twin/paper';
import { AppEvents } from '../../../../src-main/services/events';
import { JobHost } from '../../../../src-main/services/jobs/host';
import { parseJobSpec } from '../../../../src-main/services/jobs/specs';
import { VIC3L, VIC3L_PARAMS } from '../../../../src-main/services/physics/vic3l';
import { ProjectStore } from '../../../../src-main/services/project/store';
import { GeoTiffRaster } from '../../../../src-main/services/rasters/geotiff';

const twin = makeTwin({ layout: 'paper', seed: 1 });
const pr = twin.problem;
const raw = twin.rawDescriptors!;
const day = (t: number) => twin.dates[t]!.toISOString().slice(0, 10);

/** Pearson correlation of two fields. */
function corr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]! / n;
    mb += b[i]! / n;
  }
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

describe("the GAN-PO paper's twin layout", () => {
  it('is a 24 x 17 rectangle of 408 active cells with the six soil descriptors, standardised', () => {
    expect([pr.cols, pr.rows, pr.cells]).toEqual([24, 17, 408]);
    expect(pr.mask.every((m) => m === 1)).toBe(true);
    expect(pr.descriptorNames).toEqual(['porosity', 'bulk_density', 'soil_depth', 'sand', 'silt', 'clay']);
    expect(pr.descriptorNames).toEqual([...PAPER_DESCRIPTORS]);
    const nd = pr.descriptorNames.length;
    for (let j = 0; j < nd; j++) {
      const col = Float64Array.from({ length: pr.cells }, (_, c) => pr.descriptors[c * nd + j]!);
      const m = col.reduce((a, b) => a + b, 0) / pr.cells;
      const sd = Math.sqrt(col.reduce((a, b) => a + (b - m) ** 2, 0) / pr.cells);
      expect(Math.abs(m)).toBeLessThan(1e-12);
      expect(sd).toBeCloseTo(1, 10);
      // the standardised descriptor is the raw field's
      expect(corr(col, raw[PAPER_DESCRIPTORS[j]!])).toBeCloseTo(1, 12);
    }
    expect(() => checkProblem(pr)).not.toThrow();
    // the basin layout stays the default
    expect(
      makeTwin({ rows: 8, cols: 10, years: { warmup: 1, train: 1, valid: 1, test: 1 } }).problem.cells,
    ).toBeLessThan(80);
  });

  it('has realistic soils: texture sums to 100 %, porosity and bulk density agree, finer soils are more porous', () => {
    for (let c = 0; c < pr.cells; c++) {
      expect(raw.sand[c]! + raw.silt[c]! + raw.clay[c]!).toBeCloseTo(100, 9);
      for (const d of ['sand', 'silt', 'clay'] as const) {
        expect(raw[d][c]!).toBeGreaterThan(1);
        expect(raw[d][c]!).toBeLessThan(95);
      }
      expect(raw.porosity[c]!).toBeGreaterThan(0.3);
      expect(raw.porosity[c]!).toBeLessThan(0.6);
      expect(raw.bulk_density[c]!).toBeGreaterThan(1.1);
      expect(raw.bulk_density[c]!).toBeLessThan(1.85);
      expect(raw.soil_depth[c]!).toBeGreaterThanOrEqual(0.3);
      expect(raw.soil_depth[c]!).toBeLessThanOrEqual(3);
      // porosity = 1 - bulk density / particle density (Saxton & Rawls 2006 eq. 6), within mapping noise
      expect(Math.abs(raw.porosity[c]! - (1 - raw.bulk_density[c]! / PARTICLE_DENSITY))).toBeLessThan(0.05);
    }
    let dev = 0;
    for (let c = 0; c < pr.cells; c++)
      dev += Math.abs(raw.porosity[c]! - (1 - raw.bulk_density[c]! / PARTICLE_DENSITY)) / pr.cells;
    expect(dev).toBeLessThan(0.015);
    // Saxton & Rawls 2006 table 3: loam (40 % sand, 20 % clay, 2.5 % OM) saturates at 46 %, density 1.43 g/cm³
    const loam = saxtonRawlsPorosity(0.4, 0.2, 2.5);
    expect(loam).toBeCloseTo(0.46, 2);
    expect(PARTICLE_DENSITY * (1 - loam)).toBeCloseTo(1.43, 2);
    expect(saxtonRawlsPorosity(0.2, 0.5, 2.5)).toBeGreaterThan(loam);
    expect(saxtonRawlsPorosity(0.65, 0.1, 2.5)).toBeLessThan(loam);
  });

  it('has descriptor correlations of the expected signs (compositional texture, porosity with texture and density)', () => {
    for (const seed of [1, 2, 3]) {
      const r = seed === 1 ? raw : makeTwin({ layout: 'paper', seed, rows: 17, cols: 24 }).rawDescriptors!;
      expect(corr(r.sand, r.clay), `seed ${seed}`).toBeLessThan(-0.2);
      expect(corr(r.sand, r.silt), `seed ${seed}`).toBeLessThan(-0.5);
      expect(corr(r.porosity, r.bulk_density), `seed ${seed}`).toBeLessThan(-0.8);
      expect(corr(r.porosity, r.clay), `seed ${seed}`).toBeGreaterThan(0.1);
      expect(corr(r.porosity, r.sand), `seed ${seed}`).toBeLessThan(-0.2);
      expect(corr(r.bulk_density, r.sand), `seed ${seed}`).toBeGreaterThan(0.2);
    }
  }, 20_000);

  it('hides a truth for all seven vic3l parameters, inside their bounds and varying in space', () => {
    expect(pr.calibrated).toEqual([...VIC3L_PARAMS]);
    expect(twin.truth).toHaveLength(7);
    pr.calibrated.forEach((name, k) => {
      const [lo, hi] = VIC3L.parameters.find((p) => p.name === name)!.bounds;
      const f = twin.truth[k]!;
      expect(f).toHaveLength(408);
      for (const x of f) {
        expect(x).toBeGreaterThan(lo);
        expect(x).toBeLessThan(hi);
      }
      const m = f.reduce((a, b) => a + b, 0) / f.length;
      const sd = Math.sqrt(f.reduce((a, b) => a + (b - m) ** 2, 0) / f.length);
      expect(sd, name).toBeGreaterThan(0.03 * (hi - lo));
    });
  });

  it("has the paper's periods on real dates: warm-up 2008, train 2009-2010, test 2011, valid 2013-2014", () => {
    expect(twin.startDate).toBe('2008-01-01');
    expect(pr.steps).toBe(2557);
    expect(day(pr.steps - 1)).toBe('2014-12-31');
    const { warmup, train, valid, test } = pr.periods;
    expect(warmup).toEqual([0, 366]);
    expect(train[1] - train[0]).toBe(730);
    expect(test[1] - test[0]).toBe(365);
    expect(valid[1] - valid[0]).toBe(730);
    expect([day(train[0]), day(train[1] - 1)]).toEqual(['2009-01-01', '2010-12-31']);
    expect([day(test[0]), day(test[1] - 1)]).toEqual(['2011-01-01', '2011-12-31']);
    expect([day(valid[0]), day(valid[1] - 1)]).toEqual(['2013-01-01', '2014-12-31']);
    // calendar order train < test < (2012 unused) < valid
    expect(train[1]).toBe(test[0]);
    expect(valid[0] - test[1]).toBe(366);
    expect(PAPER_PERIODS.map((p) => p.name)).toEqual(['warmup', 'train', 'test', 'valid']);
  });

  it('evaluates every period when validation comes after test', () => {
    const sim = new LocalSimulator(pr);
    const ev = evaluateFields(pr, sim, twin.truth, defaultSimulation(pr, sim), twin.truth);
    expect(Object.keys(ev.periods).sort()).toEqual(['test', 'train', 'valid']);
    for (const p of Object.values(ev.periods)) expect(p.spatialRmse).toBeGreaterThan(0);
    expect(ev.summary.cells).toBe(408);
    expect(ev.sim).toHaveLength(pr.steps * pr.cells);
  });
});

describe('named periods', () => {
  const dates = dailyDates('2010-01-01', '2012-12-31');
  const P = (name: string, start: string, end: string) => ({ name, start, end }) as NamedPeriod;
  const fieldOf = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(FieldcalError);
      expect((e as FieldcalError).code).toBe('VALIDATION');
      return (e as FieldcalError).details?.field;
    }
    throw new Error('accepted');
  };

  it('become step ranges against the step dates, in any order and with gaps', () => {
    const p = stepPeriods(
      [
        P('test', '2012-07-01', '2012-12-31'),
        P('train', '2010-07-01', '2011-06-30'),
        P('valid', '2012-01-01', '2012-03-31'),
      ],
      dates,
    );
    expect(p.train).toEqual([181, 546]);
    expect(p.test).toEqual([912, 1096]);
    expect(p.valid).toEqual([730, 821]);
    // no warm-up given: the steps before the first scored period
    expect(p.warmup).toEqual([0, 181]);
    // no validation period: an empty range
    expect(
      stepPeriods([P('train', '2010-01-01', '2010-12-31'), P('test', '2011-01-01', '2011-01-01')], dates),
    ).toEqual({
      warmup: [0, 0],
      train: [0, 365],
      valid: [0, 0],
      test: [365, 366],
    });
  });

  it('are refused with the field of the offending entry', () => {
    const train = P('train', '2010-06-01', '2011-05-31');
    const cases: Array<[NamedPeriod[], string]> = [
      [[train, P('test', '2011-05-01', '2011-12-31')], 'periods.1.start'],
      [[P('test', '2010-09-01', '2010-12-31'), train], 'periods.1.end'],
      [[train, P('test', '2012-06-01', '2013-01-31')], 'periods.1.end'],
      [
        [P('warmup', '2009-06-01', '2009-12-31'), train, P('test', '2012-01-01', '2012-02-01')],
        'periods.0.start',
      ],
      [[train, P('test', '2012-02-01', '2012-01-01')], 'periods.1.end'],
      [
        [train, P('test', '2012-01-01', '2012-02-01'), P('train', '2012-03-01', '2012-04-01')],
        'periods.2.name',
      ],
      [[train], 'periods'],
    ];
    for (const [list, field] of cases)
      expect(
        fieldOf(() => stepPeriods(list, dates)),
        JSON.stringify(list),
      ).toBe(field);
    // a range that holds no step of the data (a gap in the step dates)
    const sparse = dates.filter((d) => d.getUTCMonth() !== 6);
    expect(fieldOf(() => stepPeriods([train, P('test', '2011-07-01', '2011-07-31')], sparse))).toBe(
      'periods.1.start',
    );
  });

  it('in a job spec parse strictly and are refused before the job starts with the field named', () => {
    const periods = [
      { name: 'warmup', start: '2008-01-01', end: '2008-12-31' },
      { name: 'train', start: '2009-01-01', end: '2010-12-31' },
      { name: 'test', start: '2011-01-01', end: '2011-12-31' },
      { name: 'valid', start: '2013-01-01', end: '2014-12-31' },
    ];
    const ok = parseJobSpec({ kind: 'twin', method: 'ann', twin: { layout: 'paper' }, periods });
    if (ok.kind !== 'twin') throw new Error('kind');
    expect(ok.periods).toEqual(periods);
    expect(ok.twin.layout).toBe('paper');
    expect(parseJobSpec({ kind: 'twin', method: 'ann' })).toMatchObject({ twin: { layout: 'basin' } });
    const dataset = { path: 'x', start: '2009-01-01', end: '2012-12-31' };
    const gridded = parseJobSpec({ kind: 'gridded', method: 'ann', dataset, periods: periods.slice(1, 3) });
    if (gridded.kind !== 'gridded') throw new Error('kind');
    expect(gridded.periods).toHaveLength(2);
    const refused = (spec: unknown) => fieldOf(() => parseJobSpec(spec));
    const withPeriods = (p: unknown[]) => ({ kind: 'twin', method: 'ann', periods: p });
    // overlap
    expect(refused(withPeriods([periods[1], { name: 'test', start: '2010-06-01', end: '2011-12-31' }]))).toBe(
      'periods.1.start',
    );
    // outside the data of a dataset job
    expect(refused({ kind: 'gridded', method: 'ann', dataset, periods })).toBe('periods.0.start');
    const late = { name: 'test', start: '2012-06-01', end: '2013-01-31' };
    expect(refused({ kind: 'gridded', method: 'ann', dataset, periods: [periods[1], late] })).toBe(
      'periods.1.end',
    );
    // unknown name, unknown key, end before start, a name twice, train or test missing, not a date
    expect(
      refused(withPeriods([{ name: 'calib', start: '2009-01-01', end: '2009-12-31' }, periods[2]])),
    ).toBe('periods.0.name');
    expect(refused(withPeriods([{ ...periods[1], until: '2011-01-01' }, periods[2]]))).toBe(
      'periods.0.until',
    );
    expect(refused(withPeriods([periods[1], { name: 'test', start: '2011-12-31', end: '2011-01-01' }]))).toBe(
      'periods.1.end',
    );
    expect(
      refused(
        withPeriods([periods[1], periods[2], { ...periods[2], start: '2013-01-01', end: '2013-02-01' }]),
      ),
    ).toBe('periods.2.name');
    expect(refused(withPeriods([periods[1]]))).toBe('periods');
    expect(refused(withPeriods([periods[1], { name: 'test', start: '2011-02-30', end: '2011-12-31' }]))).toBe(
      'periods.1.start',
    );
    // periods replace a split, and the paper layout is synthetic
    expect(
      refused({
        kind: 'gridded',
        method: 'ann',
        dataset,
        split: { warmup: 1, train: 1, valid: 0, test: 1 },
        periods: periods.slice(1, 3),
      }),
    ).toBe('periods');
    expect(refused({ kind: 'twin', method: 'ann', dataset, twin: { layout: 'paper' } })).toBe('twin.layout');
  });

  it('give a basin twin real dates spanning them', () => {
    const t = makeTwin({
      rows: 6,
      cols: 8,
      seed: 2,
      periods: [P('train', '2003-01-01', '2003-12-31'), P('test', '2005-03-01', '2005-03-31')],
    });
    expect(t.startDate).toBe('2003-01-01');
    // 2004 is a leap year
    expect(t.problem.steps).toBe(365 + 366 + 59 + 31);
    expect(t.problem.periods).toEqual({ warmup: [0, 0], train: [0, 365], valid: [0, 0], test: [790, 821] });
    expect(t.problem.descriptorNames).not.toContain('porosity');
    expect(() => checkProblem(t.problem)).not.toThrow();
  });
});

describe('a job with non-contiguous named periods', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fieldcal-periods-'));
  let store: ProjectStore;
  let host: JobHost;
  beforeAll(() => {
    store = ProjectStore.create({ path: join(dir, 'p.fieldcal') });
    host = new JobHost(store, new AppEvents());
  });
  afterAll(async () => {
    await host.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs end to end on a small paper-layout twin and records train, valid and test metrics', async () => {
    const run = host.submit(
      {
        kind: 'twin',
        method: 'ann',
        twin: { layout: 'paper', rows: 6, cols: 8, seed: 4 },
        periods: [
          { name: 'warmup', start: '2008-01-01', end: '2008-06-30' },
          { name: 'train', start: '2008-07-01', end: '2009-06-30' },
          { name: 'test', start: '2009-07-01', end: '2009-12-31' },
          { name: 'valid', start: '2010-03-01', end: '2010-08-31' },
        ],
        threads: 1,
        options: { iterations: 4, validEvery: 2 },
      },
      { outDir: (id) => join(dir, `run-${id}`) },
    );
    const done = await host.wait(run.id);
    expect(done.status, done.error ?? '').toBe('succeeded');
    const metrics = store.runs.metrics(run.id);
    for (const period of ['train', 'valid', 'test'])
      expect(
        metrics.some((m) => m.period === period && m.metric === 'spatialRmse'),
        period,
      ).toBe(true);
    const r = host.result(run.id)!;
    expect(Number.isFinite(r.info.bestValid as number)).toBe(true);
    expect(r.evaluation!.summary.cells).toBe(48);
    // the simulated stack's bands carry the real dates, 2008-01-01 .. 2010-08-31
    const tif = store.runs.artifacts(run.id).find((a) => a.kind === 'simulation-geotiff')!;
    const g = await GeoTiffRaster.open(tif.path);
    const bands = g.info.descriptions;
    await g.close();
    expect(bands).toHaveLength(974);
    expect([bands[0], bands[366], bands.at(-1)]).toEqual(['2008-01-01', '2009-01-01', '2010-08-31']);
  }, 60_000);

  it('runs a twin on a dataset with named periods, and one without a validation period', async () => {
    const run = host.submit(
      {
        kind: 'twin',
        method: 'ann',
        dataset: { path: resolve('resources/sample-data/lez'), start: '2012-08-01', end: '2013-07-31' },
        periods: [
          { name: 'train', start: '2012-10-01', end: '2013-03-31' },
          { name: 'test', start: '2013-06-01', end: '2013-07-31' },
        ],
        threads: 1,
        options: { iterations: 3, validEvery: 1 },
      },
      { outDir: (id) => join(dir, `run-${id}`) },
    );
    const done = await host.wait(run.id);
    expect(done.status, done.error ?? '').toBe('succeeded');
    const metrics = store.runs.metrics(run.id);
    expect(metrics.some((m) => m.period === 'train')).toBe(true);
    expect(metrics.some((m) => m.period === 'test')).toBe(true);
    expect(metrics.some((m) => m.period === 'valid')).toBe(false);
    const r = host.result(run.id)!;
    // nothing to select on: the last iterate is kept
    expect(r.info.bestValid).toBeNull();
    expect(r.info.bestIteration).toBe(3);
  }, 60_000);
});
