import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { baseOfDataset, periodsOf } from '../../src-main/services/calibration/gridded/fromDataset';
import { makeTwin } from '../../src-main/services/calibration/twin/generate';
import { loadSmashDataset } from '../../src-main/services/datasets/smashDataset';
import { writeGeoTiff } from '../../src-main/services/rasters/writeGeoTiff';
import { ganWidth, jobsOnJsKernels } from '../helpers/kernels';

/**
 * A gridded dataset with an observed ET stack, end to end: the Lez folder (real forcing and
 * descriptors) plus an et/ stack of daily GeoTIFFs made by vic3l with hidden true parameters
 * (a twin written to disk), calibrated with `fieldcal calibrate --dataset FOLDER --method ann`.
 */
const LEZ = resolve('resources/sample-data/lez');
const dir = mkdtempSync(join(tmpdir(), 'fieldcal-etds-'));
const data = join(dir, 'lez-et');
const split = { warmup: 90, train: 130, valid: 70, test: 75 };
let westHalf: unknown;
// the CLI runs pick the backend this process picks
const width = ganWidth(await jobsOnJsKernels());
let crs: string;

beforeAll(async () => {
  mkdirSync(data);
  for (const f of ['prcp', 'pet', 'descriptor', 'qobs']) symlinkSync(join(LEZ, f), join(data, f));
  for (const f of ['France_flwdir.tif', 'gauge_attributes.csv']) cpSync(join(LEZ, f), join(data, f));
  const ds = await loadSmashDataset({
    dir: LEZ,
    start: new Date('2012-08-01T00:00:00Z'),
    end: new Date('2013-07-31T00:00:00Z'),
  });
  const twin = makeTwin({
    seed: 9,
    base: { ...baseOfDataset(ds), periods: periodsOf(split, ds.dates.length) },
  });
  const g = ds.catchment.grid;
  const n = ds.catchment.cells;
  crs = g.crs!;
  const xm = g.x0 + Math.floor(g.cols / 2) * g.dx;
  const y1 = g.y0 - g.rows * g.dy;
  westHalf = {
    type: 'Polygon',
    coordinates: [
      [
        [g.x0, g.y0],
        [xm, g.y0],
        [xm, y1],
        [g.x0, y1],
        [g.x0, g.y0],
      ],
    ],
  };
  for (let t = 0; t < ds.dates.length; t++) {
    const full = new Float64Array(g.rows * g.cols).fill(-9999);
    let k = 0;
    for (let i = 0; i < full.length; i++) if (g.mask![i]) full[i] = twin.problem.target.obs[t * n + k++]!;
    const d = ds.dates[t]!.toISOString().slice(0, 10).replace(/-/g, '');
    mkdirSync(join(data, 'et', d.slice(0, 4)), { recursive: true });
    await writeGeoTiff({
      path: join(data, 'et', d.slice(0, 4), `${d}_ET.tif`),
      grid: g,
      nodata: -9999,
      bands: [{ data: full }],
    });
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `fieldcal calibrate --dataset <the ET folder> --method M --config <job> --out <dir>/<out> [--json]`. */
function calibrate(method: string, job: unknown, out: string, json = true) {
  const cfg = join(dir, `${out}.json`);
  writeFileSync(cfg, JSON.stringify(job));
  const args = ['calibrate', '--dataset', data, '--method', method, '--config', cfg, '--out', join(dir, out)];
  return spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--import',
      './scripts/raw-loader.mjs',
      'src-main/cli/index.ts',
      ...args,
      ...(json ? ['--json'] : []),
    ],
    { encoding: 'utf8', timeout: 300_000 },
  );
}

describe('fieldcal calibrate on a smash-layout folder with an et/ stack', () => {
  it('runs vic3l against the ET stack as a recorded job and improves on the default parameters', () => {
    const r = calibrate(
      'ann',
      {
        dataset: { start: '2012-08-01', end: '2013-07-31' },
        split,
        options: { iterations: 60, validEvery: 10 },
        seed: 3,
      },
      'out',
    );
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      run: { status: string };
      evaluation: {
        periods: Record<string, { spatialRmse: number; pctRmseReduced: number }>;
        summary: { cells: number };
      };
      truthEvaluation: unknown;
      artifacts: Array<{ kind: string; path: string }>;
    };
    expect(out.run.status).toBe('succeeded');
    expect(out.truthEvaluation).toBeNull();
    expect(out.evaluation.summary.cells).toBe(171);
    // measured: 98 % of the cells improve on the test period (twin on the same data: 98.2 %)
    expect(out.evaluation.periods.test!.pctRmseReduced).toBeGreaterThan(85);
    expect(out.artifacts.filter((a) => a.kind === 'parameter-geotiff')).toHaveLength(7);
  });

  it('calibrates with gan-po inside a drawn study area on non-contiguous periods', () => {
    // train in autumn and winter, test in spring, validation in summer after a gap
    const periods = [
      { name: 'train', start: '2012-11-01', end: '2013-02-28' },
      { name: 'valid', start: '2013-05-16', end: '2013-07-31' },
      { name: 'test', start: '2013-03-01', end: '2013-04-30' },
    ];
    const r = calibrate(
      'gan-po',
      {
        dataset: { start: '2012-08-01', end: '2013-07-31' },
        periods,
        options: { ...width, epochs: 3, batchDays: 30, warmupWindow: 20, pretrainEpochs: 1 },
        studyArea: { geometry: westHalf, crs },
        seed: 2,
      },
      'gan-po',
    );
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      run: { status: string; method: string };
      evaluation: { periods: Record<string, { spatialRmse: number }>; summary: { cells: number } };
      info: { epochs: number; history: Array<{ validMse: number }> };
      artifacts: Array<{ kind: string; path: string }>;
    };
    expect(out.run).toMatchObject({ status: 'succeeded', method: 'gan-po' });
    expect(out.info.epochs).toBe(3);
    expect(out.info.history.every((h) => Number.isFinite(h.validMse))).toBe(true);
    expect(Object.keys(out.evaluation.periods).sort()).toEqual(['test', 'train', 'valid']);
    expect(out.evaluation.summary.cells).toBeGreaterThan(0);
    expect(out.evaluation.summary.cells).toBeLessThan(171);
    const tifs = out.artifacts.filter((a) => a.kind === 'parameter-geotiff');
    expect(tifs).toHaveLength(7);
    // the simulated ET stack has one band per day of the data
    const gdal = spawnSync(
      'gdalinfo',
      ['-json', out.artifacts.find((a) => a.kind === 'simulation-geotiff')!.path],
      {
        encoding: 'utf8',
      },
    );
    expect((JSON.parse(gdal.stdout) as { bands: unknown[] }).bands).toHaveLength(365);
  });

  it('refuses a period outside the data before the job starts', () => {
    const r = calibrate('dpl', { dataset: { start: '2012-08-01', end: '2012-07-31' } }, 'bad', false);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/dataset\.end: end is before start/);
  });

  it('calibrates only the cells inside a drawn study area, and refuses one that misses the data', () => {
    const dataset = { start: '2012-08-01', end: '2013-07-31' };
    const r = calibrate(
      'ann',
      { dataset, split, options: { iterations: 5, validEvery: 5 }, studyArea: { geometry: westHalf, crs } },
      'west',
    );
    expect(r.status, r.stderr).toBe(0);
    const cells = (JSON.parse(r.stdout) as { evaluation: { summary: { cells: number } } }).evaluation.summary
      .cells;
    expect(cells).toBeGreaterThan(0);
    expect(cells).toBeLessThan(171);
    const away = {
      type: 'Polygon',
      coordinates: [
        [
          [0, 0],
          [1, 0],
          [1, 1],
          [0, 1],
          [0, 0],
        ],
      ],
    };
    const bad = calibrate('ann', { dataset, split, studyArea: { geometry: away, crs } }, 'away');
    expect(bad.status).not.toBe(0);
    // refused before anything is recorded, by the same check as jobs.submit (it named studyArea)
    expect(bad.stdout + bad.stderr).toMatch(/studyArea: the study area holds no active cell/);
    expect(existsSync(join(dir, 'away', 'runs.fieldcal'))).toBe(false);
  });
});
