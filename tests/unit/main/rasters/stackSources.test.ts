import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Grid } from '../../../../src-shared/ipc';
import { openStackSource } from '../../../../src-main/services/rasters/open';
import { DAY_OF_YEAR_RULE, MEAN_MONTH_SECONDS } from '../../../../src-main/services/rasters/stack';
import { writeGeoTiff } from '../../../../src-main/services/rasters/writeGeoTiff';
import { tempDir } from '../../../helpers/tmp';

const env = { ...process.env, GDAL_PAM_ENABLED: 'NO' };
const grid: Grid = {
  crs: 'EPSG:2154',
  x0: 700000,
  y0: 6300000,
  dx: 1000,
  dy: 1000,
  rows: 2,
  cols: 3,
  mask: null,
};
/** GDAL's reading of one pixel (column, row) of band 1. */
const gdalValue = (file: string, col: number, row: number, band = 1) =>
  Number(
    execFileSync('gdallocationinfo', ['-valonly', '-b', String(band), file, String(col), String(row)], {
      encoding: 'utf8',
      env,
    }).trim(),
  );
/** A one-band 3 x 2 file whose cell k holds base + k / 10. */
const field = (base: number) => Array.from({ length: 6 }, (_, k) => base + k / 10);

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => (tmp = tempDir()));
afterEach(() => tmp.cleanup());

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** 365 day-of-year PET files `MMDD_pet.tif` (no 0229), value month·100 + day (+ cell/10). */
async function dayOfYearFolder(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (let m = 1; m <= 12; m++)
    for (let d = 1; d <= MONTH_DAYS[m - 1]!; d++) {
      const key = `${String(m).padStart(2, '0')}${String(d).padStart(2, '0')}`;
      await writeGeoTiff({ path: join(dir, `${key}_pet.tif`), grid, bands: [{ data: field(m * 100 + d) }] });
    }
}

describe('openStackSource', () => {
  it('expands day-of-year PET files (MMDD) over a leap period: 29 Feb from 0228, values as GDAL reads them', async () => {
    const dir = join(tmp.dir, 'pet');
    await dayOfYearFolder(dir);
    const s = await openStackSource(
      { format: 'folder', path: dir, layout: 'day-of-year' },
      { period: { start: new Date('2011-12-30T00:00:00Z'), end: new Date('2012-03-02T00:00:00Z') } },
    );
    // 2011-12-30 .. 2012-03-02: 2 + 31 + 29 + 2 days
    expect(s.steps).toHaveLength(64);
    expect(s.step).toBe('daily');
    expect(s.stepSeconds).toBe(86400);
    expect(s.gaps).toEqual([]);
    expect(s.climatology).toEqual({ layout: 'day-of-year', rule: DAY_OF_YEAR_RULE });
    const at = (iso: string) => s.steps.findIndex((st) => st.time.toISOString() === `${iso}T00:00:00.000Z`);
    const feb29 = at('2012-02-29');
    expect(s.steps[feb29]!.file).toBe(join(dir, '0228_pet.tif'));
    const v = await s.read(feb29);
    // cell (row 1, col 2) = index 5
    expect(v[5]).toBeCloseTo(gdalValue(join(dir, '0228_pet.tif'), 2, 1), 5);
    expect(v[5]).toBeCloseTo(228.5, 5);
    const jan1 = await s.read(at('2012-01-01'));
    expect(jan1[0]).toBeCloseTo(gdalValue(join(dir, '0101_pet.tif'), 0, 0), 5);
    expect(jan1[0]).toBeCloseTo(101, 5);
    expect((await s.read(at('2012-03-01')))[1]).toBeCloseTo(gdalValue(join(dir, '0301_pet.tif'), 1, 0), 5);

    // a 0229 file (made with GDAL) is used when present
    execFileSync(
      'gdal_create',
      [
        '-q',
        '-of',
        'GTiff',
        '-outsize',
        '3',
        '2',
        '-bands',
        '1',
        '-ot',
        'Float32',
        '-burn',
        '777',
        '-a_srs',
        'EPSG:2154',
        '-a_ullr',
        '700000',
        '6300000',
        '703000',
        '6298000',
        join(dir, '0229_pet.tif'),
      ],
      { env },
    );
    const s2 = await openStackSource(
      { format: 'folder', path: dir, layout: 'day-of-year' },
      { period: { start: new Date('2012-02-28T00:00:00Z'), end: new Date('2012-03-01T00:00:00Z') } },
    );
    expect(s2.steps.map((st) => st.file.slice(dir.length + 1))).toEqual([
      '0228_pet.tif',
      '0229_pet.tif',
      '0301_pet.tif',
    ]);
    expect((await s2.read(1))[4]).toBe(gdalValue(join(dir, '0229_pet.tif'), 1, 1));
    expect((await s2.read(1))[4]).toBe(777);
  });

  it('refuses day-of-year files without a period, and names a file without a day in its name', async () => {
    const dir = join(tmp.dir, 'pet');
    mkdirSync(dir);
    await writeGeoTiff({ path: join(dir, '0101_pet.tif'), grid, bands: [{ data: field(1) }] });
    await expect(
      openStackSource({ format: 'folder', path: dir, layout: 'day-of-year' }),
    ).rejects.toMatchObject({
      code: 'VALIDATION',
      details: { field: 'period' },
    });
    // today's refusal of the dated layout now names the way out
    await expect(openStackSource({ format: 'folder', path: dir, layout: 'dated' })).rejects.toThrow(
      /0101_pet\.tif: no date .* day-of-year or month-of-year layout/,
    );
    await writeGeoTiff({ path: join(dir, 'pet_mean.tif'), grid, bands: [{ data: field(1) }] });
    await expect(
      openStackSource(
        { format: 'folder', path: dir, layout: 'day-of-year' },
        { period: { start: new Date('2012-01-01'), end: new Date('2012-01-02') } },
      ),
    ).rejects.toThrow(/pet_mean\.tif: no day of year/);
  });

  it('reads doyNNN files on a common-year calendar when there is no doy366', async () => {
    const dir = join(tmp.dir, 'doy');
    mkdirSync(dir);
    for (let d = 1; d <= 365; d++)
      await writeGeoTiff({
        path: join(dir, `etp_doy${String(d).padStart(3, '0')}.tif`),
        grid,
        bands: [{ data: field(d) }],
      });
    const s = await openStackSource(
      { format: 'folder', path: dir, layout: 'day-of-year' },
      { period: { start: new Date('2013-02-28T00:00:00Z'), end: new Date('2013-03-01T00:00:00Z') } },
    );
    // 2013-03-01 is day 60 of a common year; 28 Feb day 59
    expect(s.steps.map((st) => st.file.slice(dir.length + 1))).toEqual(['etp_doy059.tif', 'etp_doy060.tif']);
    expect((await s.read(1))[0]).toBe(gdalValue(join(dir, 'etp_doy060.tif'), 0, 0));
  });

  it('reads a monthly soil-moisture stack (dated YYYYmm01) on calendar months, gaps in months', async () => {
    const dir = join(tmp.dir, 'sm');
    mkdirSync(dir);
    for (const [y, m] of [
      [2012, 8],
      [2012, 9],
      [2012, 10],
      [2013, 1],
      [2013, 2],
    ] as const)
      await writeGeoTiff({
        path: join(dir, `SM_${y}${String(m).padStart(2, '0')}01.tif`),
        grid,
        bands: [{ data: field(0.2 + m / 100) }],
      });
    // YYYYmm alone is a month too
    await writeGeoTiff({ path: join(dir, 'SM_201303.tif'), grid, bands: [{ data: field(0.3) }] });
    const s = await openStackSource({ format: 'folder', path: dir, layout: 'dated' });
    expect(s.step).toBe('monthly');
    expect(s.stepSeconds).toBe(MEAN_MONTH_SECONDS);
    expect(s.steps.map((st) => st.time.toISOString().slice(0, 7))).toEqual([
      '2012-08',
      '2012-09',
      '2012-10',
      '2013-01',
      '2013-02',
      '2013-03',
    ]);
    expect(s.gaps).toEqual([
      { after: new Date('2012-10-01T00:00:00Z'), before: new Date('2013-01-01T00:00:00Z'), missing: 2 },
    ]);
    expect((await s.read(1))[3]).toBeCloseTo(gdalValue(join(dir, 'SM_20120901.tif'), 0, 1), 6);
  });

  it('expands month-of-year files (mNN) and reads a multiband file with an explicit monthly axis', async () => {
    const dir = join(tmp.dir, 'clim');
    mkdirSync(dir);
    for (let m = 1; m <= 12; m++)
      await writeGeoTiff({
        path: join(dir, `sm_m${String(m).padStart(2, '0')}.tif`),
        grid,
        bands: [{ data: field(m) }],
      });
    const s = await openStackSource(
      { format: 'folder', path: dir, layout: 'month-of-year' },
      { period: { start: new Date('2012-11-15T00:00:00Z'), end: new Date('2013-02-10T00:00:00Z') } },
    );
    expect(s.step).toBe('monthly');
    expect(s.steps.map((st) => [st.time.toISOString().slice(0, 10), st.file.slice(dir.length + 1)])).toEqual([
      ['2012-11-01', 'sm_m11.tif'],
      ['2012-12-01', 'sm_m12.tif'],
      ['2013-01-01', 'sm_m01.tif'],
      ['2013-02-01', 'sm_m02.tif'],
    ]);

    const mb = join(tmp.dir, 'sm3.tif');
    await writeGeoTiff({
      path: mb,
      grid,
      bands: [{ data: field(1) }, { data: field(2) }, { data: field(3) }],
    });
    await expect(openStackSource({ format: 'multiband', path: mb })).rejects.toMatchObject({
      code: 'VALIDATION',
    });
    const m3 = await openStackSource({
      format: 'multiband',
      path: mb,
      time: { start: '2012-12-01', step: 'monthly' },
    });
    expect(m3.step).toBe('monthly');
    expect(m3.steps.map((st) => st.time.toISOString().slice(0, 10))).toEqual([
      '2012-12-01',
      '2013-01-01',
      '2013-02-01',
    ]);
    expect((await m3.read(2))[2]).toBeCloseTo(gdalValue(mb, 2, 0, 3), 6);
    const h = await openStackSource({
      format: 'multiband',
      path: mb,
      time: { start: '2012-12-01T06:00', step: 'hourly' },
    });
    expect(h.step).toBe('hourly');
    expect(h.stepSeconds).toBe(3600);
    expect(h.steps[2]!.time.toISOString()).toBe('2012-12-01T08:00:00.000Z');
  });

  it('refuses a missing path and a file given as a folder', async () => {
    await expect(openStackSource({ format: 'folder', path: join(tmp.dir, 'nope') })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    const f = join(tmp.dir, 'one.tif');
    await writeGeoTiff({ path: f, grid, bands: [{ data: field(1) }] });
    await expect(openStackSource({ format: 'folder', path: f, layout: 'dated' })).rejects.toMatchObject({
      code: 'VALIDATION',
    });
    rmSync(f);
  });
});
