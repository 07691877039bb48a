import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { copyFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import proj4 from 'proj4';
import type { CallResult, CellSeries, IdentifyResult, RasterView } from '../../../../src-shared/ipc';
import { dispatch } from '../../../../src-main/ipc/dispatch';
import { proj4ForEpsg } from '../../../../src-main/services/rasters/crs';
import { writeGeoTiff } from '../../../../src-main/services/rasters/writeGeoTiff';
import { gdalinfoJson, gdalXyz, hasGdal } from '../../../helpers/gdal';
import { testServices } from '../../../helpers/services';

const LEZ = 'resources/sample-data/lez';
const SLOPE = `${LEZ}/descriptor/slope.tif`;
const PRCP = `${LEZ}/prcp`;
const NC4 = 'tests/fixtures/netcdf/tas_nc4.nc';
const env = { ...process.env, GDAL_PAM_ENABLED: 'NO' };

let world: ReturnType<typeof testServices>;
const ids: Record<string, number> = {};
let runId = 0;

async function call<T>(method: string, payload: unknown): Promise<T> {
  const r = await dispatch(world.services.impls, 'rasters', method, payload);
  if (!r.ok) throw Object.assign(new Error(r.error.message), r.error);
  return r.value as T;
}
const callRaw = (method: string, payload: unknown): Promise<CallResult> =>
  dispatch(world.services.impls, 'rasters', method, payload);

/** `gdallocationinfo -valonly -geoloc` of one band at a georeferenced point, or null for nodata. */
function gdalValue(file: string, x: number, y: number, band = 1): number | null {
  const out = execFileSync(
    'gdallocationinfo',
    ['-valonly', '-geoloc', '-b', String(band), file, String(x), String(y)],
    { encoding: 'utf8', env },
  ).trim();
  return out === '' ? null : Number(out);
}

/** GDAL's own statistics of band 1 (STATISTICS_* metadata, full precision) and its valid-cell count. */
function gdalStats(file: string): { min: number; max: number; mean: number; count: number } {
  const info = gdalinfoJson(file);
  const md = info.bands[0]!.metadata![''];
  if (!md) throw new Error(`gdalinfo gave no statistics for ${file}`);
  return {
    min: Number(md.STATISTICS_MINIMUM),
    max: Number(md.STATISTICS_MAXIMUM),
    mean: Number(md.STATISTICS_MEAN),
    count: Math.round((info.size[0] * info.size[1] * Number(md.STATISTICS_VALID_PERCENT)) / 100),
  };
}

/** Percentile by linear interpolation between order statistics (Hyndman & Fan type 7, numpy's default). */
function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  const h = (s.length - 1) * p;
  const lo = Math.floor(h);
  return s[lo]! + (h - lo) * (s[Math.min(s.length - 1, lo + 1)]! - s[lo]!);
}

const close = (a: number, b: number, rel = 1e-6) => Math.abs(a - b) <= rel * Math.max(1, Math.abs(b));

/** Seeded uniform numbers in [0, 1) (Park & Miller minimal standard generator). */
function rng(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

beforeAll(async () => {
  world = testServices();
  const { impls } = world.services;
  await impls.project.create({ path: join(world.dir, 'p.fieldcal'), name: 'p', crs: 'EPSG:2154' });
  ids.slope = (await impls.datasets.import({ path: SLOPE, kind: 'raster' })).id;
  ids.prcp = (await impls.datasets.import({ path: PRCP, kind: 'stack' })).id;
  ids.nc4 = (await impls.datasets.import({ path: NC4, kind: 'netcdf' })).id;
  const gauges = await Promise.resolve(impls.datasets.import({ path: LEZ, kind: 'gauges' })).catch(
    () => null,
  );
  if (gauges) ids.gauges = gauges.id;
  runId = world.services.session.require('test').runs.create({
    name: 'r',
    method: 'evaluate',
    options: {},
    seed: 0,
  }).id;
}, 120_000);
afterAll(() => world.cleanup());

async function addArtifact(path: string, kind = 'simulated-geotiff'): Promise<number> {
  return world.services.session
    .require('test')
    .runs.addArtifact({ runId, kind, path, sizeBytes: statSync(path).size, checksum: null }).id;
}

describe.skipIf(!hasGdal)('rasters.read against GDAL', () => {
  it('reads slope.tif whole with the statistics gdalinfo -stats gives, and the values GDAL reads', async () => {
    const v = await call<RasterView>('read', { source: { datasetId: ids.slope } });
    const g = gdalStats(SLOPE);
    expect(v.data).toBeInstanceOf(Float32Array);
    expect([v.width, v.height, v.sourceWidth, v.sourceHeight]).toEqual([14, 27, 14, 27]);
    expect(v.stats.count).toBe(g.count);
    expect(v.stats.min).toBeCloseTo(g.min, 10);
    expect(v.stats.max).toBeCloseTo(g.max, 10);
    expect(close(v.stats.mean!, g.mean, 1e-9)).toBe(true);
    const xyz = gdalXyz(SLOPE).map((l) => Number(l.split(' ')[2]));
    expect(Array.from(v.data)).toEqual(xyz.map((x) => Math.fround(x)));
    expect(v.stats.p2).toBeCloseTo(percentile(xyz, 0.02), 6);
    expect(v.stats.p98).toBeCloseTo(percentile(xyz, 0.98), 6);
    // slope.tif has no CRS: the dataset carries the project's, as import recorded it
    expect(v.crs).toBe('EPSG:2154');
    expect(v.extent).toEqual([761000, 6275000, 775000, 6302000]);
    const [lon, lat] = proj4(proj4ForEpsg(2154), 'EPSG:4326', [768000, 6288500]);
    expect(v.extent4326![0]).toBeLessThan(lon!);
    expect(v.extent4326![2]).toBeGreaterThan(lon!);
    expect(v.extent4326![1]).toBeLessThan(lat!);
    expect(v.extent4326![3]).toBeGreaterThan(lat!);
    expect(v.extent4326![2] - v.extent4326![0]).toBeLessThan(0.25);
    expect([v.step, v.steps, v.date, v.stepDates, v.units]).toEqual([0, 1, null, null, null]);
  });

  it('reads one prcp step (one file) with its date, units and that file`s GDAL statistics', async () => {
    const files = readdirSync(PRCP, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.tif'))
      .sort((a, b) => a.replace(/.*\//, '').localeCompare(b.replace(/.*\//, '')));
    // 2012-08-28: a wet day (GDAL's maximum there is 24.9 mm)
    const wet = files.findIndex((f) => f.endsWith('201208280000_PT.tif'));
    expect(wet).toBeGreaterThan(0);
    const v = await call<RasterView>('read', { source: { datasetId: ids.prcp, step: wet } });
    const file = join(PRCP, files[wet]!);
    const g = gdalStats(file);
    expect(v.steps).toBe(files.length);
    expect(v.step).toBe(wet);
    const name = files[wet]!.replace(/.*\//, '');
    expect(v.date).toBe(`${name.slice(0, 4)}-${name.slice(4, 6)}-${name.slice(6, 8)}`);
    expect(v.stepDates).toHaveLength(files.length);
    expect(v.stepDates![wet]).toBe(v.date);
    expect(v.units).toBe('mm/d');
    expect(v.stats.count).toBe(g.count);
    expect(v.stats.min).toBeCloseTo(g.min, 6);
    expect(v.stats.max).toBeCloseTo(g.max, 6);
    expect(close(v.stats.mean!, g.mean, 1e-9)).toBe(true);
  });

  it('refuses a step out of range naming source.step, unknown ids naming the id, non-raster datasets', async () => {
    const r = await callRaw('read', { source: { datasetId: ids.prcp, step: 100000 } });
    expect(r).toMatchObject({ ok: false, error: { code: 'VALIDATION', details: { field: 'source.step' } } });
    expect(!r.ok && r.error.message).toMatch(/source\.step 100000/);
    const one = await callRaw('read', { source: { datasetId: ids.slope, step: 1 } });
    expect(one).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION', details: { field: 'source.step' } },
    });
    const nf = await callRaw('read', { source: { datasetId: 999 } });
    expect(nf).toMatchObject({ ok: false, error: { code: 'NOT_FOUND', details: { id: 999 } } });
    expect(!nf.ok && nf.error.message).toMatch(/999/);
    const na = await callRaw('read', { source: { artifactId: 4242 } });
    expect(na).toMatchObject({ ok: false, error: { code: 'NOT_FOUND', details: { id: 4242 } } });
    expect(ids.gauges).toBeDefined();
    {
      expect(await callRaw('read', { source: { datasetId: ids.gauges } })).toMatchObject({
        ok: false,
        error: { code: 'VALIDATION', details: { field: 'source.datasetId' } },
      });
    }
  });
});

describe.skipIf(!hasGdal)('rasters.identify against gdallocationinfo', () => {
  it('gives the file value at ten random points of slope.tif, in the project CRS and in lon/lat', async () => {
    const rand = rng(20240607);
    const to4326 = proj4(proj4ForEpsg(2154), 'EPSG:4326');
    for (let k = 0; k < 10; k++) {
      const x = 761000 + rand() * 14000;
      const y = 6275000 + rand() * 27000;
      const expected = gdalValue(SLOPE, x, y);
      const [r] = await call<IdentifyResult[]>('identify', {
        point: { x, y, crs: 'EPSG:2154' },
        sources: [{ datasetId: ids.slope }],
      });
      expect(r!.row).toBe(Math.floor((6302000 - y) / 1000));
      expect(r!.col).toBe(Math.floor((x - 761000) / 1000));
      expect(r!.value).not.toBeNull();
      expect(close(r!.value!, expected!, 1e-7)).toBe(true);
      // the same point in lon/lat lands on the same cell
      const [lon, lat] = to4326.forward([x, y]);
      const [r2] = await call<IdentifyResult[]>('identify', {
        point: { x: lon!, y: lat!, crs: 'EPSG:4326' },
        sources: [{ datasetId: ids.slope }],
      });
      expect([r2!.row, r2!.col, r2!.value]).toEqual([r!.row, r!.col, r!.value]);
    }
    const [out] = await call<IdentifyResult[]>('identify', {
      point: { x: 700000, y: 6200000, crs: 'EPSG:2154' },
      sources: [{ datasetId: ids.slope }],
    });
    expect(out).toMatchObject({ row: null, col: null, value: null });
  });

  it('identifies several sources at once: a stack step with its date and a NetCDF slice', async () => {
    const [lon, lat] = [3.8, 44.2];
    const [a, b] = await call<IdentifyResult[]>('identify', {
      point: { x: lon, y: lat, crs: 'EPSG:4326' },
      sources: [
        { datasetId: ids.nc4, step: 1 },
        { datasetId: ids.prcp, step: 3 },
      ],
    });
    expect(a!.date).toBe('2013-01-02');
    expect(a!.value).toBe(gdalValue(NC4, lon, lat, 2));
    expect(a!.units).toBe('K');
    expect(b!.date).not.toBeNull();
  });
});

describe.skipIf(!hasGdal)('rasters.series against gdallocationinfo', () => {
  it('stack: the value of each dated file at one cell', async () => {
    const x = 768500;
    const y = 6290500;
    const s = await call<CellSeries>('series', {
      source: { datasetId: ids.prcp },
      point: { x, y, crs: 'EPSG:2154' },
    });
    expect(s.values).toBeInstanceOf(Float32Array);
    expect(s.values.length).toBe(s.dates.length);
    expect([s.row, s.col]).toEqual([11, 7]);
    expect(s.units).toBe('mm/d');
    const files = readdirSync(PRCP, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.tif'));
    for (const k of [0, 37, 90, 180, 250, s.dates.length - 1]) {
      const day = s.dates[k]!.replace(/-/g, '');
      const file = files.find((f) => f.replace(/.*\//, '').startsWith(day))!;
      const expected = gdalValue(join(PRCP, file), x, y);
      expect(expected).not.toBeNull();
      expect(close(s.values[k]!, expected!, 1e-6)).toBe(true);
    }
    // the comparison covers rain, not only dry days
    const rainy = s.values.findIndex((v) => v > 1);
    expect(rainy).toBeGreaterThanOrEqual(0);
    const rainyFile = files.find((f) => f.replace(/.*\//, '').startsWith(s.dates[rainy]!.replace(/-/g, '')))!;
    expect(close(s.values[rainy]!, gdalValue(join(PRCP, rainyFile), x, y)!, 1e-6)).toBe(true);
    // a second cell comes from the stack read once as a cube: still each file's value there
    const [x2, y2] = [x + 3000, y - 2000];
    const s2 = await call<CellSeries>('series', {
      source: { datasetId: ids.prcp },
      point: { x: x2, y: y2, crs: 'EPSG:2154' },
    });
    for (const k of [0, rainy, 200, s2.dates.length - 1]) {
      const file = files.find((f) => f.replace(/.*\//, '').startsWith(s2.dates[k]!.replace(/-/g, '')))!;
      const expected = gdalValue(join(PRCP, file), x2, y2);
      if (expected === null) expect(s2.values[k]).toBeNaN();
      else expect(close(s2.values[k]!, expected, 1e-6)).toBe(true);
    }
  });

  it('NetCDF: the column at one cell, NaN where the file has its fill value', async () => {
    const s = await call<CellSeries>('series', {
      source: { datasetId: ids.nc4 },
      point: { x: 4.75, y: 43.25, crs: 'EPSG:4326' },
    });
    expect(s.dates).toEqual(['2013-01-01', '2013-01-02', '2013-01-04']);
    for (let b = 1; b <= 3; b++) {
      const g = gdalValue(NC4, 4.75, 43.25, b);
      if (g === null || Math.fround(g) === Math.fround(1e20)) expect(s.values[b - 1]).toBeNaN();
      else expect(s.values[b - 1]).toBe(Math.fround(g));
    }
    const inner = await call<CellSeries>('series', {
      source: { datasetId: ids.nc4 },
      point: { x: 3.25, y: 44.25, crs: 'EPSG:4326' },
    });
    expect(Array.from(inner.values)).toEqual([1, 2, 3].map((b) => gdalValue(NC4, 3.25, 44.25, b)));
  });

  it('refuses a point outside and a single raster, naming the field', async () => {
    expect(
      await callRaw('series', { source: { datasetId: ids.prcp }, point: { x: 0, y: 0, crs: 'EPSG:2154' } }),
    ).toMatchObject({ ok: false, error: { code: 'VALIDATION', details: { field: 'point' } } });
    expect(
      await callRaw('series', {
        source: { datasetId: ids.slope },
        point: { x: 768500, y: 6290500, crs: 'EPSG:2154' },
      }),
    ).toMatchObject({ ok: false, error: { code: 'VALIDATION', details: { field: 'source.datasetId' } } });
  });
});

describe.skipIf(!hasGdal)('run output GeoTIFFs and synthetic rasters', () => {
  const grid = (cols: number, rows: number) => ({
    crs: 'EPSG:2154',
    x0: 761000,
    y0: 6302000,
    dx: 1000,
    dy: 1000,
    rows,
    cols,
    mask: null,
  });

  it('block-averages to fit maxSize: each block the mean of its valid cells, stats at full resolution', async () => {
    const cols = 40;
    const rows = 25;
    const values = Float32Array.from({ length: rows * cols }, (_, i) => {
      const r = Math.floor(i / cols);
      const c = i % cols;
      if ((r * 7 + c * 3) % 11 === 0) return Number.NaN; // scattered nodata
      if (r < 3 && c < 3) return Number.NaN; // one whole block without data
      return r * 0.5 + c * c * 0.01 - 3;
    });
    const path = join(world.dir, 'synthetic.tif');
    await writeGeoTiff({ path, grid: grid(cols, rows), bands: [{ data: values }] });
    const id = await addArtifact(path);
    const v = await call<RasterView>('read', { source: { artifactId: id }, maxSize: 16 });
    // f = ceil(40 / 16) = 3: 14 x 9 blocks, the last column and row of blocks partial
    expect([v.width, v.height, v.sourceWidth, v.sourceHeight]).toEqual([14, 9, 40, 25]);
    expect(v.extent).toEqual([761000, 6302000 - 27000, 761000 + 42000, 6302000]);
    for (let R = 0; R < 9; R++) {
      for (let C = 0; C < 14; C++) {
        let sum = 0;
        let n = 0;
        for (let r = R * 3; r < Math.min(rows, R * 3 + 3); r++) {
          for (let c = C * 3; c < Math.min(cols, C * 3 + 3); c++) {
            const x = values[r * cols + c]!;
            if (!Number.isNaN(x)) {
              sum += x;
              n++;
            }
          }
        }
        const got = v.data[R * 14 + C]!;
        if (n === 0) expect(got).toBeNaN();
        else expect(got).toBe(Math.fround(sum / n));
      }
    }
    expect(v.data[0]).toBeNaN();
    const valid = Array.from(values).filter((x) => !Number.isNaN(x));
    expect(v.stats.count).toBe(valid.length);
    expect(v.stats.min).toBe(Math.min(...valid));
    expect(v.stats.max).toBe(Math.max(...valid));
    expect(v.stats.mean).toBeCloseTo(valid.reduce((a, b) => a + b, 0) / valid.length, 10);
    expect(v.stats.p2).toBeCloseTo(percentile(valid, 0.02), 10);
    expect(v.stats.p98).toBeCloseTo(percentile(valid, 0.98), 10);
    const g = gdalStats(path);
    expect(v.stats.count).toBe(g.count);
    expect(close(v.stats.mean!, g.mean, 1e-9)).toBe(true);
  });

  it('reads a 1000 x 1000 Float32 GeoTIFF with the right statistics (time logged)', async () => {
    const n = 1000;
    const values = new Float32Array(n * n);
    let sum = 0;
    let count = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        const inHole = (r - 500) ** 2 + (c - 300) ** 2 < 100 ** 2;
        const v = inHole ? Number.NaN : Math.fround(Math.sin(r / 50) * Math.cos(c / 70) * 100 + r * 0.01);
        values[r * n + c] = v;
        if (!inHole) {
          sum += v;
          count++;
          if (v < min) min = v;
          if (v > max) max = v;
        }
      }
    }
    const path = join(world.dir, 'big.tif');
    await writeGeoTiff({ path, grid: grid(n, n), bands: [{ data: values }] });
    const id = await addArtifact(path);
    const t0 = performance.now();
    const v = await call<RasterView>('read', { source: { artifactId: id } });
    const t1 = performance.now();
    console.log(
      `rasters.read 1000 x 1000 Float32 GeoTIFF (decode + stats + contract check): ${(t1 - t0).toFixed(0)} ms`,
    );
    expect([v.width, v.height]).toEqual([1000, 1000]);
    expect(v.stats.count).toBe(count);
    expect(v.stats.min).toBe(min);
    expect(v.stats.max).toBe(max);
    expect(v.stats.mean).toBeCloseTo(sum / count, 9);
    expect(v.data[500 * n + 300]).toBeNaN();
    expect(v.data[123 * n + 456]).toBe(values[123 * n + 456]);
    const small = await call<RasterView>('read', { source: { artifactId: id }, maxSize: 256 });
    expect([small.width, small.height]).toEqual([250, 250]);
    expect(small.stats).toEqual(v.stats);
    const g = gdalStats(path);
    expect(close(v.stats.mean!, g.mean, 1e-9)).toBe(true);
  });

  it('multi-band simulated_ET.tif: dated bands, units from the name, identify and series per band', async () => {
    const cols = 6;
    const rows = 5;
    const dates = ['2012-08-01', '2012-08-02', '2012-08-03', '2012-08-04'];
    const bands = dates.map((d, k) => ({
      description: d,
      data: Float32Array.from({ length: rows * cols }, (_, i) => (i === 7 ? Number.NaN : k * 10 + i * 0.25)),
    }));
    const path = join(world.dir, 'simulated_ET.tif');
    await writeGeoTiff({ path, grid: grid(cols, rows), bands });
    const id = await addArtifact(path);
    const v = await call<RasterView>('read', { source: { artifactId: id, band: 3 } });
    expect([v.step, v.steps, v.date, v.units, v.name]).toEqual([2, 4, '2012-08-03', 'mm/d', 'simulated_ET']);
    expect(v.stepDates).toEqual(dates);
    expect(v.data[1]).toBe(20.25);
    const x = 761000 + 2500;
    const y = 6302000 - 1500;
    const s = await call<CellSeries>('series', {
      source: { artifactId: id },
      point: { x, y, crs: 'EPSG:2154' },
    });
    expect([s.row, s.col]).toEqual([1, 2]);
    expect(s.dates).toEqual(dates);
    expect(Array.from(s.values)).toEqual([1, 2, 3, 4].map((b) => gdalValue(path, x, y, b)));
    const [hole] = await call<IdentifyResult[]>('identify', {
      point: { x: 761000 + 1500, y, crs: 'EPSG:2154' },
      sources: [{ artifactId: id, band: 2 }],
    });
    expect(hole).toMatchObject({ row: 1, col: 1, value: null, date: '2012-08-02' });
    expect(await callRaw('read', { source: { artifactId: id, band: 5 } })).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION', details: { field: 'source.band' } },
    });
  });

  it('names the path of a missing or changed file, and answers a corrupt file with INVALID_FILE', async () => {
    const path = join(world.dir, 'gone.tif');
    copyFileSync(SLOPE, path);
    const id = await addArtifact(path);
    rmSync(path);
    const gone = await callRaw('read', { source: { artifactId: id } });
    expect(gone).toMatchObject({ ok: false, error: { code: 'NOT_FOUND', details: { file: path } } });
    expect(!gone.ok && gone.error.message).toContain(path);

    const bad = join(world.dir, 'corrupt.tif');
    const bytes = Buffer.from(execFileSync('cat', [SLOPE]));
    bytes.fill(0xab, 200);
    writeFileSync(bad, bytes);
    const badId = await addArtifact(bad);
    const corrupt = await callRaw('read', { source: { artifactId: badId } });
    // a typed error naming the file (the damaged header reads as an unknown compression or as garbage)
    expect(corrupt).toMatchObject({ ok: false, error: { details: { file: bad } } });
    expect(['INVALID_FILE', 'UNSUPPORTED_FORMAT']).toContain(!corrupt.ok && corrupt.error.code);
    const truncated = join(world.dir, 'truncated.tif');
    writeFileSync(truncated, bytes.subarray(0, 150));
    const truncatedId = await addArtifact(truncated);
    expect(await callRaw('read', { source: { artifactId: truncatedId } })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_FILE', details: { file: truncated } },
    });

    const copy = join(world.dir, 'slope-copy.tif');
    copyFileSync(SLOPE, copy);
    const d = await world.services.impls.datasets.import({ path: copy, kind: 'raster' });
    writeFileSync(copy, Buffer.concat([bytes, Buffer.alloc(10)]));
    const changed = await callRaw('read', { source: { datasetId: d.id } });
    expect(changed).toMatchObject({ ok: false, error: { code: 'INVALID_FILE', details: { file: copy } } });
    rmSync(copy);
    const missing = await callRaw('identify', {
      point: { x: 768500, y: 6290500, crs: 'EPSG:2154' },
      sources: [{ datasetId: d.id }],
    });
    expect(missing).toMatchObject({ ok: false, error: { code: 'NOT_FOUND', details: { file: copy } } });
  });
});

describe('rasters.crs', () => {
  it('gives proj4 definitions, names and units', async () => {
    const l93 = await call<{ proj4: string; name: string; units: string }>('crs', { crs: 'EPSG:2154' });
    expect(l93).toMatchObject({ crs: 'EPSG:2154', name: 'RGF93 v1 / Lambert-93', units: 'm' });
    expect(l93.proj4).toContain('+proj=lcc');
    expect(await call('crs', { crs: 'EPSG:4326' })).toMatchObject({ name: 'WGS 84', units: 'degree' });
    expect(await callRaw('crs', { crs: 'EPSG:99999999' })).toMatchObject({
      ok: false,
      error: { code: 'UNSUPPORTED_FORMAT' },
    });
    expect(await callRaw('crs', { crs: '+proj=nonsense' })).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION', details: { field: 'crs' } },
    });
  });
});
