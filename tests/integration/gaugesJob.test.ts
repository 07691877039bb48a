import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { ProgressPoint, RunDetail, RunRecord } from '../../src-shared/ipc';
import { dispatch } from '../../src-main/ipc/dispatch';
import { GAUGE_BOUNDS, GAUGE_PARAMETERS } from '../../src-main/services/calibration/gauges/problem';
import { catchmentOf } from '../../src-main/services/jobs/preflight';
import { loadSmashDataset } from '../../src-main/services/datasets/smashDataset';
import { readSmashGauges } from '../../src-main/services/grid/gauges';
import { gdalEpsg, gdalinfoJson, gdalXyz } from '../helpers/gdal';
import { testServices } from '../helpers/services';

/**
 * Gauge discharge as a job of the jobs service: HDA-PR on the Lez (three gauges, one year of daily
 * data), checked before it runs, run in a worker thread, its outputs read back independently (the
 * observed CSVs parsed here, the GeoTIFFs through GDAL).
 */
const LEZ = resolve('resources/sample-data/lez');
const CODES = ['Y3204040', 'Y3204030', 'Y3204010'];
const world = testServices('server');
const call = async <T>(service: string, method: string, arg: unknown): Promise<T> => {
  const r = (await dispatch(world.services.impls, service as never, method as never, arg as never)) as
    | { ok: true; value: T }
    | { ok: false; error: { code: string; message: string; details?: Record<string, unknown> } };
  if (!r.ok) throw Object.assign(new Error(r.error.message), r.error);
  return r.value;
};
const failure = async (service: string, method: string, arg: unknown) => {
  const r = (await dispatch(world.services.impls, service as never, method as never, arg as never)) as {
    ok: boolean;
    error?: { code: string; message: string; details?: { issues?: Array<{ path: string }> } };
  };
  expect(r.ok).toBe(false);
  return r.error!;
};

const periods = [
  { name: 'warmup', start: '2012-08-01', end: '2012-09-30' },
  { name: 'train', start: '2012-10-01', end: '2013-03-31' },
  { name: 'test', start: '2013-04-01', end: '2013-07-31' },
];
const job = {
  kind: 'gauges',
  method: 'hda-pr',
  dataset: { path: LEZ, start: '2012-08-01', end: '2013-07-31' },
  periods,
  seed: 3,
  options: { iterations: 30, hidden: [8], learningRate: 0.01 },
};

async function finished(id: number): Promise<RunDetail> {
  for (;;) {
    const d = await call<RunDetail>('jobs', 'get', { id });
    if (!['queued', 'running'].includes(d.status)) return d;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A smash qobs file read here: the start date on the first line, one value per day (negative: missing). */
function observed(code: string, from: string, to: string): number[] {
  const lines = readFileSync(join(LEZ, 'qobs', `${code}.csv`), 'utf8')
    .trim()
    .split(/\r?\n/);
  const s = lines[0]!.trim();
  const t0 = Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8));
  const day = (d: string) => Math.round((Date.parse(`${d}T00:00:00Z`) - t0) / 86_400_000);
  return lines.slice(1 + day(from), 2 + day(to)).map((l) => (Number(l) < 0 ? Number.NaN : Number(l)));
}

/** NSE = 1 - Σ(s-o)² / Σ(o-ō)² over the days with an observation (Nash & Sutcliffe 1970). */
function nseOf(obs: number[], sim: number[]): number {
  const pairs = obs.map((o, i) => [o, sim[i]!] as const).filter(([o]) => Number.isFinite(o));
  const mean = pairs.reduce((a, [o]) => a + o, 0) / pairs.length;
  const num = pairs.reduce((a, [o, s]) => a + (s - o) ** 2, 0);
  const den = pairs.reduce((a, [o]) => a + (o - mean) ** 2, 0);
  return 1 - num / den;
}

let run: RunRecord;
let detail: RunDetail;

beforeAll(async () => {
  await call('project', 'create', { path: join(world.dir, 'p.fieldcal') });
});
afterAll(() => world.cleanup());

describe('a gauge-discharge job (HDA-PR on the Lez)', () => {
  it('passes jobs.check, is submitted, runs in a worker and succeeds', async () => {
    expect(await call('jobs', 'check', { spec: job })).toEqual({ issues: [] });
    run = await call<RunRecord>('jobs', 'submit', { spec: job });
    expect(run.method).toBe('hda-pr');
    detail = await finished(run.id);
    expect(detail.error).toBeNull();
    expect(detail.status).toBe('succeeded');
    const kinds = detail.artifacts.map((a) => a.kind).filter((k) => k !== 'report-file');
    expect(kinds.sort()).toEqual([
      'discharge-json',
      ...Array(5).fill('parameter-geotiff'),
      'report',
      'result',
      // the learned fields on the cells, written before the evaluation (kept if it fails)
      'trained-json',
    ]);
    // the report: a hydrograph per gauge (SVG and PNG) and a map per parameter
    const files = detail.artifacts.filter((a) => a.kind === 'report-file').map((a) => basename(a.path));
    for (const code of ['Y3204010', 'Y3204030', 'Y3204040'])
      expect(files.filter((f) => f.includes(code.toLowerCase()))).toHaveLength(2);
    const html = readFileSync(detail.artifacts.find((a) => a.kind === 'report')!.path, 'utf8');
    for (const code of ['Y3204010', 'Y3204030', 'Y3204040']) expect(html).toContain(code);
  });

  it('writes the simulated discharge of every gauge, whose NSE over train matches one recomputed from the series and the observed CSV', () => {
    const file = detail.artifacts.find((a) => a.kind === 'discharge-json')!.path;
    const out = JSON.parse(readFileSync(file, 'utf8')) as {
      dates: string[];
      gauges: Record<string, number[]>;
      periods: Array<{ name: string; start: string; end: string }>;
      scores: Record<string, Record<string, { nse: number; kge: number }>>;
    };
    expect(out.dates).toHaveLength(365);
    expect(out.dates[0]).toBe('2012-08-01');
    expect(out.dates.at(-1)).toBe('2013-07-31');
    expect(Object.keys(out.gauges).sort()).toEqual([...CODES].sort());
    expect(out.periods).toEqual(periods);
    const a = out.dates.indexOf('2012-10-01');
    const b = out.dates.indexOf('2013-03-31') + 1;
    expect(b - a).toBe(182);
    const metrics = detail.metrics;
    // nested catchments: the outlet gauge (169 km²) carries at least the mean flow of the one upstream (113 km²)
    const mean = (v: number[]) => v.reduce((x, y) => x + y, 0) / v.length;
    expect(mean(out.gauges.Y3204040!)).toBeGreaterThan(mean(out.gauges.Y3204010!));
    // the method's objective is J = mean over the calibrated gauges of (1 - NSE) on the train period
    // (Huynh et al.'s multi-gauge cost): the best iterate it reports is the one written here
    const result = JSON.parse(
      readFileSync(detail.artifacts.find((x) => x.kind === 'result')!.path, 'utf8'),
    ) as { info: { objective: number; calibrated: string[] } };
    expect(result.info.calibrated).toEqual(CODES);
    expect(result.info.objective).toBeCloseTo(mean(CODES.map((c) => 1 - out.scores[c]!.train!.nse)), 9);
    for (const code of CODES) {
      const sim = out.gauges[code]!;
      expect(sim).toHaveLength(365);
      // discharge is a non-negative flow in m³/s
      expect(Math.min(...sim)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...sim)).toBeGreaterThan(0);
      const nse = nseOf(observed(code, '2012-10-01', '2013-03-31'), sim.slice(a, b));
      expect(out.scores[code]!.train!.nse).toBeCloseTo(nse, 9);
      expect(Object.keys(out.scores[code]!).sort()).toEqual(['test', 'train']);
      // metrics rows: per gauge and period, the same values
      for (const p of ['train', 'test'])
        for (const m of ['nse', 'kge'] as const)
          expect(
            metrics.find((r) => r.target === code && r.period === p && r.metric === m)?.value,
          ).toBeCloseTo(out.scores[code]![p]![m], 12);
    }
  });

  it('writes one GeoTIFF per learned field on the catchment grid (EPSG:2154, 14 x 26, 171 cells), inside its bounds, with its unit', () => {
    const tifs = detail.artifacts.filter((a) => a.kind === 'parameter-geotiff');
    expect(tifs.map((t) => t.path.replace(/.*[/\\]/, ''))).toEqual(GAUGE_PARAMETERS.map((p) => `${p}.tif`));
    const units = { X1: 'mm', X2: 'mm/d', X3: 'mm', X4: 'd', llr: 'min' } as Record<string, string>;
    GAUGE_PARAMETERS.forEach((name, k) => {
      const info = gdalinfoJson(tifs[k]!.path) as ReturnType<typeof gdalinfoJson> & {
        bands: Array<{ unit?: string; minimum?: number; maximum?: number }>;
      };
      expect(gdalEpsg(info)).toBe(2154);
      expect(info.size).toEqual([14, 26]);
      expect(info.geoTransform).toEqual([761000, 1000, 0, 6302000, 0, -1000]);
      const band = info.bands[0]!;
      expect(band.description).toBe(name);
      expect(band.unit).toBe(units[name]);
      const stats = band.metadata![''] as Record<string, string>;
      // 171 of the 364 cells of the grid are the catchment's
      expect(Number(stats.STATISTICS_VALID_PERCENT)).toBeCloseTo((100 * 171) / 364, 2);
      expect(Number(stats.STATISTICS_MINIMUM)).toBeGreaterThanOrEqual(GAUGE_BOUNDS.lower[k]! - 1e-3);
      expect(Number(stats.STATISTICS_MAXIMUM)).toBeLessThanOrEqual(GAUGE_BOUNDS.upper[k]! + 1e-3);
    });
  });

  it('records its loss curve: jobs.history has the calibration iterations in increasing order', async () => {
    const h = await call<ProgressPoint[]>('jobs', 'history', { id: run.id });
    const cal = h.filter((p) => p.phase === 'calibrating');
    // every iteration, although progress events are throttled to four a second
    expect(cal.map((p) => p.iteration)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    // the last of the 30 iterations always goes out (the throttle lets the final one through)
    expect(cal.at(-1)!.iteration).toBe(30);
    for (const p of cal) expect(p.objective).toBeGreaterThan(0);
    // Adam through the adjoint lowers the objective
    expect(cal.at(-1)!.objective!).toBeLessThan(cal[0]!.objective!);
    expect(h[0]!.phase).toBe('preparing');
    expect(h.at(-1)!.phase).toBe('evaluating');
    const missing = await failure('jobs', 'history', { id: 999 });
    expect(missing.code).toBe('NOT_FOUND');
  });
});

describe('a gauge job restricted to a study area and one gauge', () => {
  it('calibrates the cells inside only, drops the gauges outside and calibrates the chosen one', async () => {
    // the northern part of the catchment: cell centres above y = 6 279 000 m (the outlet Y3204040 lies south of it)
    const north = {
      geometry: {
        type: 'Polygon',
        coordinates: [
          [
            [761000, 6279000],
            [775000, 6279000],
            [775000, 6302000],
            [761000, 6302000],
            [761000, 6279000],
          ],
        ],
      },
      crs: 'EPSG:2154',
    };
    const spec = { ...job, studyArea: north, gauges: ['Y3204010'], options: { iterations: 4, hidden: [4] } };
    expect(await call('jobs', 'check', { spec })).toEqual({ issues: [] });
    const d = await finished((await call<RunRecord>('jobs', 'submit', { spec })).id);
    expect(d.status, d.error ?? '').toBe('succeeded');
    const out = JSON.parse(
      readFileSync(d.artifacts.find((a) => a.kind === 'discharge-json')!.path, 'utf8'),
    ) as { gauges: Record<string, number[]>; calibrated: string[]; scores: Record<string, unknown> };
    expect(out.calibrated).toEqual(['Y3204010']);
    expect(Object.keys(out.gauges)).toContain('Y3204010');
    expect(Object.keys(out.gauges)).not.toContain('Y3204040');
    expect(Object.keys(out.scores).sort()).toEqual(Object.keys(out.gauges).sort());
    // the cells of the whole-catchment run whose centre lies north of the line, read through GDAL
    const cells = (path: string) =>
      gdalXyz(path)
        .map((l) => l.split(/\s+/).map(Number))
        .filter(([, , v]) => v !== -9999);
    const whole = cells(detail.artifacts.find((a) => a.path.endsWith('X1.tif'))!.path);
    const part = cells(d.artifacts.find((a) => a.path.endsWith('X1.tif'))!.path);
    expect(part.length).toBe(whole.filter(([, y]) => y! > 6279000).length);
    expect(part.length).toBeLessThan(171);
    for (const [, y] of part) expect(y).toBeGreaterThan(6279000);
    // one gauge calibrated: metrics for every gauge left, per scored period
    expect(d.metrics.filter((m) => m.metric === 'nse')).toHaveLength(2 * Object.keys(out.gauges).length);
  });
});

describe('jobs.check and jobs.submit refuse what cannot run, before a run is recorded', () => {
  const far = {
    // around Paris, far from the Lez (Montpellier)
    geometry: {
      type: 'Polygon',
      coordinates: [
        [
          [2.2, 48.8],
          [2.5, 48.8],
          [2.5, 48.95],
          [2.2, 48.95],
          [2.2, 48.8],
        ],
      ],
    },
    crs: 'EPSG:4326',
  };
  const cases: Array<[string, unknown, string, RegExp]> = [
    [
      'a gridded ET target on a folder without et/',
      { kind: 'gridded', method: 'ann', dataset: job.dataset, target: 'ET' },
      'target',
      /et\//,
    ],
    [
      'a period past the data',
      {
        ...job,
        periods: [
          { name: 'train', start: '2013-04-01', end: '2013-09-30' },
          { name: 'test', start: '2012-10-01', end: '2013-03-31' },
        ],
      },
      'periods.0.end',
      /after the data/,
    ],
    [
      'a dataset end past the forcing',
      { ...job, periods: undefined, dataset: { ...job.dataset, end: '2013-12-31' } },
      'dataset.end',
      /2013-07-31/,
    ],
    ['an unknown gauge code', { ...job, gauges: ['Y3204040', 'X0000000'] }, 'gauges.1', /X0000000/],
    ['a study area far from the catchment', { ...job, studyArea: far }, 'studyArea', /no active cell/],
    ['a method without a gauges runner', { ...job, method: 'ann' }, 'method', /gauge/],
    ['options the method does not take', { ...job, options: { epochs: 3 } }, 'options.epochs', /epochs/],
    [
      'a missing folder',
      { ...job, dataset: { ...job.dataset, path: '/nonexistent/lez' } },
      'dataset.path',
      /does not exist/,
    ],
  ];
  for (const [what, spec, path, message] of cases)
    it(`${what}: ${path}`, async () => {
      const before = (await call<RunRecord[]>('jobs', 'list', {})).length;
      const { issues } = await call<{ issues: Array<{ path: string; message: string }> }>('jobs', 'check', {
        spec,
      });
      const hit = issues.find((i) => i.path === path);
      expect(hit, JSON.stringify(issues)).toBeDefined();
      expect(hit!.message).toMatch(message);
      const e = await failure('jobs', 'submit', { spec });
      expect(e.code).toBe('VALIDATION');
      expect(e.details!.issues!.map((i) => i.path)).toContain(path);
      expect((await call<RunRecord[]>('jobs', 'list', {})).length).toBe(before);
    });

  it('the study-area check reads a window of the flow directions and finds the catchment the run loads', async () => {
    const c = await catchmentOf(join(LEZ, 'France_flwdir.tif'), 'EPSG:2154', LEZ, await readSmashGauges(LEZ));
    const ds = await loadSmashDataset({
      dir: LEZ,
      start: new Date('2012-08-01T00:00:00Z'),
      end: new Date('2012-08-02T00:00:00Z'),
    });
    const g = ds.catchment.grid;
    expect([c.grid.x0, c.grid.y0, c.grid.cols, c.grid.rows, c.cells]).toEqual([
      g.x0,
      g.y0,
      g.cols,
      g.rows,
      171,
    ]);
    expect(Array.from(c.grid.mask!)).toEqual(Array.from(g.mask!));
    expect(c.gauges.map((s) => [s.code, s.row, s.col])).toEqual(
      ds.catchment.gauges.map((s) => [s.code, s.row, s.col]),
    );
  });

  it('a study area over the catchment passes', async () => {
    const near = {
      geometry: {
        type: 'Polygon',
        coordinates: [
          [
            [761000, 6276000],
            [775000, 6276000],
            [775000, 6302000],
            [761000, 6302000],
            [761000, 6276000],
          ],
        ],
      },
      crs: 'EPSG:2154',
    };
    expect(await call('jobs', 'check', { spec: { ...job, studyArea: near } })).toEqual({ issues: [] });
  });
});
