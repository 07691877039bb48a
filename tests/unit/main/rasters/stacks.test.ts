import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openFolderStack, openMultibandStack } from '../../../../src-main/services/rasters/stack';
import { openNetcdfStack, decodeCfTime } from '../../../../src-main/services/rasters/netcdf';
import { GeoTiffRaster } from '../../../../src-main/services/rasters/geotiff';
import { exportFields } from '../../../../src-main/services/rasters/writeGeoTiff';
import { tempDir } from '../../../helpers/tmp';

const LEZ = 'resources/sample-data/lez';
let tmp: ReturnType<typeof tempDir>;
beforeEach(() => (tmp = tempDir()));
afterEach(() => tmp.cleanup());

describe('time stacks', () => {
  it('reads the Lez daily rainfall folder (smash layout): 365 steps, no gaps, lazily', async () => {
    const s = await openFolderStack(join(LEZ, 'prcp'), { crs: 'EPSG:2154' });
    expect(s.steps).toHaveLength(365);
    expect(s.steps[0]!.time.toISOString()).toBe('2012-08-01T00:00:00.000Z');
    expect(s.steps[364]!.time.toISOString()).toBe('2013-07-31T00:00:00.000Z');
    expect(s.stepSeconds).toBe(86400);
    expect(s.gaps).toEqual([]);
    expect(s.grid).toMatchObject({
      crs: 'EPSG:2154',
      x0: 761000,
      y0: 6302000,
      dx: 1000,
      dy: 1000,
      rows: 27,
      cols: 14,
    });
    // a step read through the stack equals the file read directly
    const i = s.steps.findIndex((st) => st.time.toISOString().startsWith('2013-01-19'));
    const direct = await GeoTiffRaster.open(join(LEZ, 'prcp/2013/01/201301190000_PT.tif'));
    expect(await s.read(i)).toEqual(await direct.readBandValues(0));
    await direct.close();
  });

  it('masks PET nodata (1e20) as missing', async () => {
    const s = await openFolderStack(join(LEZ, 'pet'), { crs: 'EPSG:2154' });
    expect(Math.fround(s.nodata!)).toBe(Math.fround(1e20));
    const v = await s.read(0);
    expect(v.some((x) => x > 1e10)).toBe(false);
  });

  it('reports missing steps and refuses duplicates, grid mismatches and unparseable names', async () => {
    const dir = join(tmp.dir, 'prcp');
    cpSync(join(LEZ, 'prcp/2012/08'), dir, { recursive: true });
    rmSync(join(dir, '201208050000_PT.tif'));
    rmSync(join(dir, '201208060000_PT.tif'));
    const s = await openFolderStack(dir);
    expect(s.steps).toHaveLength(29);
    expect(s.gaps).toEqual([
      { after: new Date('2012-08-04T00:00:00Z'), before: new Date('2012-08-07T00:00:00Z'), missing: 2 },
    ]);

    mkdirSync(join(dir, 'copy'));
    cpSync(join(dir, '201208010000_PT.tif'), join(dir, 'copy', '201208010000_PT.tif'));
    await expect(openFolderStack(dir)).rejects.toMatchObject({
      code: 'INCONSISTENT_DATA',
      details: { time: '2012-08-01T00:00:00.000Z' },
    });
    rmSync(join(dir, 'copy'), { recursive: true });

    cpSync('tests/fixtures/rasters/float32_nocrs.tif', join(dir, '201208200000_PT.tif'));
    await expect(openFolderStack(dir)).rejects.toMatchObject({
      code: 'INCONSISTENT_DATA',
      details: { file: join(dir, '201208200000_PT.tif') },
    });
    rmSync(join(dir, '201208200000_PT.tif'));

    cpSync(join(dir, '201208010000_PT.tif'), join(dir, 'rain_august.tif'));
    await expect(openFolderStack(dir)).rejects.toMatchObject({
      code: 'INVALID_FILE',
      details: { file: join(dir, 'rain_august.tif'), problem: 'unparseable date' },
    });
  });

  it('reads a multi-band GeoTIFF as a stack from a start date and step', async () => {
    const path = 'tests/fixtures/rasters/multiband_pixel.tif';
    await expect(openMultibandStack(path)).rejects.toMatchObject({
      code: 'VALIDATION',
      details: { field: 'start' },
    });
    const s = await openMultibandStack(path, { start: new Date('2020-01-01T00:00:00Z'), stepSeconds: 3600 });
    expect(s.steps.map((x) => x.time.toISOString())).toEqual([
      '2020-01-01T00:00:00.000Z',
      '2020-01-01T01:00:00.000Z',
      '2020-01-01T02:00:00.000Z',
      '2020-01-01T03:00:00.000Z',
    ]);
    const r = await GeoTiffRaster.open(path);
    expect(await s.read(2)).toEqual(await r.readBandValues(2));
    await r.close();
  });
});

describe('multi-band stacks with dated bands', () => {
  it('takes band dates from band descriptions (as written by GDAL tools or our exporter)', async () => {
    const grid = { crs: 'EPSG:2154', x0: 0, y0: 2000, dx: 1000, dy: 1000, rows: 2, cols: 2, mask: null };
    const path = join(tmp.dir, 'dated.tif');
    await exportFields({
      dir: tmp.dir,
      grid,
      layout: 'multiband',
      multibandName: 'dated.tif',
      fields: ['2012-08-01', '2012-08-02', '2012-08-04'].map((name, k) => ({ name, data: [k, k, k, k] })),
    });
    const s = await openMultibandStack(path);
    expect(s.steps.map((x) => x.time.toISOString().slice(0, 10))).toEqual([
      '2012-08-01',
      '2012-08-02',
      '2012-08-04',
    ]);
    expect(s.gaps).toEqual([
      { after: new Date('2012-08-02T00:00:00Z'), before: new Date('2012-08-04T00:00:00Z'), missing: 1 },
    ]);
    expect(Array.from(await s.read(2))).toEqual([2, 2, 2, 2]);
  });
});

describe('NetCDF stacks', () => {
  it('netCDF-3: dates, units, packing, fill value, rows flipped to north-up', async () => {
    const s = await openNetcdfStack('tests/fixtures/netcdf/prcp_nc3.nc', { crs: 'EPSG:2154' });
    expect(s.steps.map((x) => x.time.toISOString().slice(0, 10))).toEqual([
      '2012-08-01',
      '2012-08-02',
      '2012-08-03',
    ]);
    expect(s.units).toBe('mm/day');
    expect(s.stepSeconds).toBe(86400);
    expect(s.grid).toMatchObject({
      crs: 'EPSG:2154',
      x0: 761000,
      y0: 6302000,
      dx: 1000,
      dy: 1000,
      rows: 4,
      cols: 5,
    });
    const v = await s.read(0);
    // north row first: stored y = 6301500 row is [30, 31, 32, 33, fill]; value = raw * 0.1 + 1
    for (let i = 0; i < 4; i++) expect(v[i]).toBe((30 + i) * 0.1 + 1);
    expect(v[4]).toBeNaN();
    expect(v[15]).toBeCloseTo(0 * 0.1 + 1, 12);
    expect((await s.read(2))[19]).toBeCloseTo(204 * 0.1 + 1, 12);
  });

  it('netCDF-4: lon/lat grid, hours since, float fill value, a reported gap', async () => {
    const s = await openNetcdfStack('tests/fixtures/netcdf/tas_nc4.nc');
    expect(s.steps.map((x) => x.time.toISOString())).toEqual([
      '2013-01-01T00:00:00.000Z',
      '2013-01-02T00:00:00.000Z',
      '2013-01-04T00:00:00.000Z',
    ]);
    expect(s.gaps).toEqual([
      { after: new Date('2013-01-02T00:00:00Z'), before: new Date('2013-01-04T00:00:00Z'), missing: 1 },
    ]);
    expect(s.units).toBe('K');
    expect(s.grid).toMatchObject({ crs: 'EPSG:4326', x0: 3, y0: 44.5, dx: 0.5, dy: 0.5, rows: 3, cols: 4 });
    const v = await s.read(0);
    expect(Array.from(v.slice(0, 4))).toEqual([270, 271, 272, 273]);
    expect(v[11]).toBeNaN();
    expect((await s.read(1))[0]).toBe(280.5);
  });

  it('refuses a file without time, non-NetCDF files and unknown calendars, naming the file', async () => {
    await expect(openNetcdfStack('tests/fixtures/netcdf/notime.nc')).rejects.toMatchObject({
      code: 'INVALID_FILE',
      details: { file: 'tests/fixtures/netcdf/notime.nc' },
    });
    await expect(openNetcdfStack('tests/fixtures/netcdf/prcp_nc3.cdl')).rejects.toMatchObject({
      code: 'INVALID_FILE',
    });
    expect(() => decodeCfTime(new Float64Array([0]), 'days since 2000-01-01', '360_day', 'f.nc')).toThrow(
      /calendar "360_day"/,
    );
    expect(() => decodeCfTime(new Float64Array([0]), 'fortnights', undefined, 'f.nc')).toThrow(/time units/);
    // found by `npm run fuzz -- netcdf 5000`: a numeric calendar attribute threw an untyped TypeError
    for (const [units, calendar, field] of [
      ['days since 2000-01-01', 365, 'time:calendar'],
      [[1, 2], undefined, 'time:units'],
    ] as const) {
      let err: unknown;
      try {
        decodeCfTime(
          new Float64Array([0]),
          units as unknown as string,
          calendar as unknown as string,
          'f.nc',
        );
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'INVALID_FILE', details: { file: 'f.nc', field } });
    }
  });
});
