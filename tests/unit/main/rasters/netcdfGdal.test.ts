import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import proj4 from 'proj4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyCurvilinear, planCurvilinear } from '../../../../src-main/services/grid/curvilinear';
import { proj4Def, transformer } from '../../../../src-main/services/rasters/crs';
import { decodeCfTime, describeNetcdf, openNetcdfStack } from '../../../../src-main/services/rasters/netcdf';
import type { Stack } from '../../../../src-main/services/rasters/stack';
import { gdalinfoJson, hasGdal } from '../../../helpers/gdal';
import { tempDir } from '../../../helpers/tmp';

// Issue 15, "NetCDF as GDAL reads it": fixtures written here by tests/fixtures/netcdf/make_issue15.py
// (scipy.io.netcdf_file) and by gdal_translate; every value and CRS is checked against GDAL's reading.
const hasScipy = spawnSync('python3', ['-c', 'import scipy.io, numpy'], { encoding: 'utf8' }).status === 0;
const env = { ...process.env, GDAL_PAM_ENABLED: 'NO' };
let tmp: ReturnType<typeof tempDir>;
const f = (n: string) => join(tmp.dir, n);

beforeAll(() => {
  tmp = tempDir();
  if (hasGdal && hasScipy)
    execFileSync('python3', ['tests/fixtures/netcdf/make_issue15.py', tmp.dir], { encoding: 'utf8' });
});
afterAll(() => tmp.cleanup());

/** GDAL's reading of one band of a NetCDF variable: `gdal_translate -of XYZ` (x, y, value per cell, GDAL's row order). */
function gdalCells(file: string, variable: string, band = 1): Array<[number, number, number]> {
  const out = execFileSync(
    'gdal_translate',
    ['-q', '-of', 'XYZ', '-b', String(band), `NETCDF:"${file}":${variable}`, '/vsistdout/'],
    { encoding: 'utf8', env },
  );
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => l.trim().split(/\s+/).map(Number) as [number, number, number]);
}

/** Every value of a stack's step k matches GDAL's band k + 1; `rowOf` maps GDAL's row to ours. */
async function expectSameValues(
  s: Stack,
  file: string,
  variable: string,
  opts: { fill?: number; rowOf?: (r: number) => number } = {},
) {
  const { rows, cols } = s.grid;
  for (let k = 0; k < s.steps.length; k++) {
    const ours = await s.read(k);
    const theirs = gdalCells(file, variable, k + 1);
    expect(theirs).toHaveLength(rows * cols);
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++) {
        const g = theirs[r * cols + c]![2];
        const o = ours[(opts.rowOf ? opts.rowOf(r) : r) * cols + c]!;
        if (opts.fill !== undefined && g === opts.fill) expect(o).toBeNaN();
        else expect(o).toBeCloseTo(g, 5);
      }
  }
}

/** Two proj4 definitions project the same lon/lat to the same coordinates (to 1 mm). */
function expectSameProjection(a: string, b: string, points: Array<[number, number]>) {
  for (const p of points) {
    const pa = proj4(proj4Def(a)).forward(p);
    const pb = proj4(proj4Def(b)).forward(p);
    expect(Math.abs(pa[0]! - pb[0]!)).toBeLessThan(1e-3);
    expect(Math.abs(pa[1]! - pb[1]!)).toBeLessThan(1e-3);
  }
}

const gdalProj4 = (target: string) =>
  execFileSync('gdalsrsinfo', ['-o', 'proj4', target], { encoding: 'utf8', env }).trim();

describe.skipIf(!hasGdal || !hasScipy)('NetCDF as GDAL reads it (issue 15)', () => {
  it('unnamed dimensions (dim0, dim1, dim2): roles from the 1-D coordinate variables, LCC grid mapping, values as GDAL reads them', async () => {
    const s = await openNetcdfStack(f('unnamed.nc'), { variable: 'prcp' });
    expect(s.steps.map((x) => x.time.toISOString().slice(0, 10))).toEqual([
      '2020-01-01',
      '2020-01-02',
      '2020-01-03',
      '2020-01-04',
    ]);
    // northing 6300500..6302500 increasing: flipped north-up; easting from 700500
    expect(s.grid).toMatchObject({ x0: 700000, y0: 6303000, dx: 1000, dy: 1000, rows: 3, cols: 5 });
    // the CF lambert_conformal_conic parameters are EPSG:2154's
    expectSameProjection(s.grid.crs!, 'EPSG:2154', [
      [3, 46.5],
      [-1.5, 43.2],
      [7.2, 50.1],
    ]);
    // GDAL finds no axis either and reads the rows bottom-up, as the file's y increases: same order as ours
    await expectSameValues(s, f('unnamed.nc'), 'prcp', { fill: -9999 });
    expect(Number.isNaN((await s.read(1))[3])).toBe(true);
    // a size-1 height dimension between time and y is dropped
    const t = await openNetcdfStack(f('unnamed.nc'), { variable: 'tas' });
    const a = await s.readColumn(0, 0);
    expect(Array.from(await t.readColumn(0, 0))).toEqual(Array.from(a, (v) => v + 100));
    await expectSameValues(t, f('unnamed.nc'), 'tas');
    const desc = await describeNetcdf(f('unnamed.nc'));
    expect(desc.find((d) => d.name === 'prcp')!.roles).toEqual(['time', 'y', 'x']);
  });

  it('2-D latitude/longitude: a curvilinear stack whose positions and values are GDAL’s, resampled by nearest centre', async () => {
    const s = await openNetcdfStack(f('curvi.nc'));
    expect(s.curvilinear).toBeDefined();
    const cv = s.curvilinear!;
    expect([cv.rows, cv.cols]).toEqual([6, 7]);
    expect(s.steps.map((x) => x.time.toISOString())).toEqual([
      '2021-06-01T00:00:00.000Z',
      '2021-06-01T06:00:00.000Z',
      '2021-06-01T12:00:00.000Z',
    ]);
    const lat = gdalCells(f('curvi.nc'), 'lat');
    const lon = gdalCells(f('curvi.nc'), 'lon');
    for (let band = 1; band <= 3; band++) {
      const pr = gdalCells(f('curvi.nc'), 'pr', band);
      const ours = await s.read(band - 1);
      for (let i = 0; i < pr.length; i++) {
        // the cell at GDAL's (lat, lon) holds GDAL's value (its XYZ output rounds coordinates to float32)
        const k = Array.from(cv.lat).findIndex(
          (v, j) => Math.abs(v - lat[i]![2]) < 1e-5 && Math.abs(cv.lon[j]! - lon[i]![2]) < 1e-5,
        );
        expect(k).toBeGreaterThanOrEqual(0);
        expect(ours[k]).toBe(pr[i]![2]);
      }
    }
    // onto a 2 km Lambert-93 grid over the area and beyond: each cell takes its nearest source centre
    const grid = { crs: 'EPSG:2154', x0: 0, y0: 0, dx: 2000, dy: 2000, rows: 60, cols: 60, mask: null };
    const fwd = transformer('EPSG:4326', 'EPSG:2154');
    const pts = Array.from(cv.lat, (la, k) => fwd(cv.lon[k]!, la));
    const xs = pts.map((p) => p[0]);
    const ys = pts.map((p) => p[1]);
    grid.x0 = Math.floor(Math.min(...xs) / 2000) * 2000 - 20000;
    grid.y0 = Math.ceil(Math.max(...ys) / 2000) * 2000 + 20000;
    grid.cols = Math.ceil((Math.max(...xs) + 20000 - grid.x0) / 2000);
    grid.rows = Math.ceil((grid.y0 - Math.min(...ys) + 20000) / 2000);
    const plan = planCurvilinear(cv, grid);
    const values = await s.read(2);
    const out = applyCurvilinear(plan, values);
    let inside = 0;
    for (let r = 0; r < grid.rows; r++)
      for (let c = 0; c < grid.cols; c++) {
        const x = grid.x0 + (c + 0.5) * grid.dx;
        const y = grid.y0 - (r + 0.5) * grid.dy;
        // brute force: the nearest source centre
        let best = -1;
        let bd = Infinity;
        pts.forEach((p, k) => {
          const d = Math.hypot(p[0] - x, p[1] - y);
          if (d < bd) [bd, best] = [d, k];
        });
        const v = out[r * grid.cols + c]!;
        if (Number.isNaN(v)) {
          // no value only when the nearest centre is farther than one source spacing (~12 km here)
          expect(bd).toBeGreaterThan(0.7 * 11000);
        } else {
          inside++;
          expect(v).toBe(values[best]!);
        }
      }
    expect(inside).toBe(plan.covered);
    // 42 source cells of about 12.2 x 12.2 km (0.11° on the rotated sphere): about 1 560 target cells of
    // 4 km², plus a band a quarter spacing wide around the edge (reach 0.75 spacing): about 1 800
    expect(inside).toBeGreaterThan(1500);
    expect(inside).toBeLessThan(2000);
    // a geographic target far away receives nothing
    const far = planCurvilinear(cv, { ...grid, crs: 'EPSG:4326', x0: 100, y0: 10, dx: 0.1, dy: 0.1 });
    expect(far.covered).toBe(0);
  });

  it('LAEA grid mapping from its CF parameters: grid, CRS and values equal gdalinfo’s', async () => {
    const s = await openNetcdfStack(f('laea.nc'));
    const g = gdalinfoJson(`NETCDF:"${f('laea.nc')}":et`);
    expect([s.grid.x0, s.grid.dx, 0, s.grid.y0, 0, -s.grid.dy]).toEqual(g.geoTransform);
    expect([s.grid.cols, s.grid.rows]).toEqual(g.size);
    expect(s.grid.crs).toMatch(/^\+proj=laea /);
    const pts: Array<[number, number]> = [
      [10, 52],
      [-2.5, 40.1],
      [25, 65],
    ];
    expectSameProjection(s.grid.crs!, gdalProj4(`NETCDF:${f('laea.nc')}:et`), pts);
    // the cell corners project back to the same lon/lat with GDAL's CRS and ours
    const inv = transformer(s.grid.crs!, 'EPSG:4326');
    const theirs = transformer(gdalProj4(`NETCDF:${f('laea.nc')}:et`), 'EPSG:4326');
    for (const [x, y] of [
      [s.grid.x0, s.grid.y0],
      [s.grid.x0 + s.grid.cols * s.grid.dx, s.grid.y0 - s.grid.rows * s.grid.dy],
    ] as const) {
      const a = inv(x, y);
      const b = theirs(x, y);
      expect(Math.abs(a[0] - b[0])).toBeLessThan(1e-9);
      expect(Math.abs(a[1] - b[1])).toBeLessThan(1e-9);
    }
    await expectSameValues(s, f('laea.nc'), 'et');
    // GDAL's cell centres are ours
    const cells = gdalCells(f('laea.nc'), 'et');
    expect(cells[6]!.slice(0, 2)).toEqual([s.grid.x0 + 1.5 * s.grid.dx, s.grid.y0 - 1.5 * s.grid.dy]);
  });

  it('a file GDAL wrote (gdal_translate, EPSG:3035 LAEA with spatial_ref): EPSG code, grid and values; a 2-D field needs a date', async () => {
    const bin = f('a.tif');
    execFileSync('python3', [
      '-c',
      `import numpy as np; (np.arange(20,dtype='f4').reshape(4,5)*1.5).tofile('${f('a.bin')}'); open('${f('a.hdr')}','w').write("ENVI\\nsamples = 5\\nlines = 4\\nbands = 1\\nheader offset = 0\\nfile type = ENVI Standard\\ndata type = 4\\ninterleave = bsq\\nbyte order = 0\\n")`,
    ]);
    execFileSync(
      'gdal_translate',
      ['-q', '-a_srs', 'EPSG:3035', '-a_ullr', '4000000', '3000000', '4005000', '2996000', f('a.bin'), bin],
      { env },
    );
    execFileSync('gdal_translate', ['-q', '-of', 'netCDF', bin, f('gdal_laea.nc')], { env });
    await expect(openNetcdfStack(f('gdal_laea.nc'))).rejects.toMatchObject({
      code: 'INVALID_FILE',
      details: { field: 'time' },
    });
    const s = await openNetcdfStack(f('gdal_laea.nc'), { time: { start: '2020-05-01', step: 'daily' } });
    expect(s.grid.crs).toBe('EPSG:3035');
    const g = gdalinfoJson(`NETCDF:"${f('gdal_laea.nc')}":Band1`);
    expect([s.grid.x0, s.grid.dx, 0, s.grid.y0, 0, -s.grid.dy]).toEqual(g.geoTransform);
    expect(s.steps).toHaveLength(1);
    await expectSameValues(s, f('gdal_laea.nc'), 'Band1');
  });

  it('rotated pole: each cell’s lon/lat is what PROJ’s ob_tran gives for its rotated coordinates', async () => {
    const s = await openNetcdfStack(f('rotated.nc'));
    const cv = s.curvilinear!;
    expect(cv).toBeDefined();
    const rlat = [0, 1, 2, 3].map((i) => i * 0.22 - 0.3);
    const rlon = [0, 1, 2, 3, 4].map((i) => i * 0.22 - 0.5);
    const input = rlat.flatMap((la) => rlon.map((lo) => `${lo} ${la}`)).join('\n');
    const out = execFileSync(
      'gdaltransform',
      [
        '-s_srs',
        '+proj=ob_tran +o_proj=longlat +o_lat_p=39.25 +o_lon_p=0 +lon_0=18 +to_meter=0.0174532925199433 +R=6371229 +no_defs',
        '-t_srs',
        '+proj=longlat +R=6371229 +no_defs',
      ],
      { input, encoding: 'utf8', env },
    )
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/).map(Number));
    out.forEach(([lo, la], k) => {
      expect(cv.lon[k]).toBeCloseTo(lo!, 9);
      expect(cv.lat[k]).toBeCloseTo(la!, 9);
    });
    expect(Array.from(await s.read(1)).slice(0, 3)).toEqual([20, 21, 22]);
  });

  it('a non-CF time axis (units "day") is refused with what to give, and read with an explicit monthly time', async () => {
    await expect(openNetcdfStack(f('nocf.nc'))).rejects.toThrow(
      /"day" are not "<unit> since <date>".*explicit time/,
    );
    const s = await openNetcdfStack(f('nocf.nc'), { time: { start: '2021-11-01', step: 'monthly' } });
    expect(s.step).toBe('monthly');
    expect(s.steps.map((x) => x.time.toISOString().slice(0, 10))).toEqual([
      '2021-11-01',
      '2021-12-01',
      '2022-01-01',
      '2022-02-01',
      '2022-03-01',
    ]);
    expect(s.grid).toMatchObject({ crs: 'EPSG:4326', x0: 3, y0: 44.5, dx: 0.5, dy: 0.5 });
    await expectSameValues(s, f('nocf.nc'), 'pet');
    const h = await openNetcdfStack(f('nocf.nc'), { time: { start: '2021-11-01T06:00', step: 'hourly' } });
    expect(h.steps[4]!.time.toISOString()).toBe('2021-11-01T10:00:00.000Z');
    expect(h.stepSeconds).toBe(3600);
  });

  it('meaningless dimensions (a, b, c) are refused naming dims, and read once dims, time and crs are given', async () => {
    await expect(openNetcdfStack(f('dims.nc'))).rejects.toThrow(/name them with dims/);
    await expect(openNetcdfStack(f('dims.nc'), { dims: { time: 'a', y: 'z', x: 2 } })).rejects.toMatchObject({
      code: 'VALIDATION',
      details: { field: 'dims.y' },
    });
    const s = await openNetcdfStack(f('dims.nc'), {
      dims: { time: 'a', y: 1, x: 'c' },
      time: { start: '2020-01-01', step: 'daily' },
      crs: 'EPSG:2154',
    });
    expect(s.grid).toMatchObject({
      crs: 'EPSG:2154',
      x0: 761000,
      y0: 6302000,
      dx: 1000,
      dy: 1000,
      rows: 4,
      cols: 4,
    });
    // packed shorts: value = raw * 0.5 + 10, raw = 3 * index
    expect((await s.read(2))[5]).toBe(3 * (2 * 16 + 5) * 0.5 + 10);
    // GDAL knows no axis here and reads bottom-up (its default); its values are raw (unpacked here)
    for (let k = 0; k < 3; k++) {
      const ours = await s.read(k);
      const theirs = gdalCells(f('dims.nc'), 'val', k + 1);
      for (let r = 0; r < 4; r++)
        for (let c = 0; c < 4; c++) expect(ours[(3 - r) * 4 + c]).toBe(theirs[r * 4 + c]![2] * 0.5 + 10);
    }
  });

  it('each CF grid mapping (Appendix F) projects as GDAL’s reading of the same attributes', async () => {
    const pts: Record<string, Array<[number, number]>> = {
      tmerc: [
        [3, 45],
        [5.5, 50],
      ],
      polar: [
        [-45, 80],
        [10, 72],
      ],
      polark: [
        [0, -80],
        [120, -70],
      ],
      albers: [
        [-96, 40],
        [-80, 30],
      ],
      lcc1: [
        [2.3, 46.8],
        [-1, 44],
      ],
      merc: [
        [20, 0],
        [30, 40],
      ],
      laea_sphere: [
        [5, 45],
        [12, 51],
      ],
    };
    for (const [v, p] of Object.entries(pts)) {
      const s = await openNetcdfStack(f('mappings.nc'), {
        variable: v,
        time: { start: '2020-01-01', step: 'daily' },
      });
      expectSameProjection(s.grid.crs!, gdalProj4(`NETCDF:${f('mappings.nc')}:${v}`), p);
    }
  });
});

describe('CF time units', () => {
  it('accepts UDUNITS abbreviations and time zones, refuses months and years since (not calendar months)', () => {
    const v = new Float64Array([0, 1.5]);
    expect(
      decodeCfTime(v, 'hours since 2000-01-01T00:00:00+01:00', undefined, 'f.nc').map((d) => d.toISOString()),
    ).toEqual(['1999-12-31T23:00:00.000Z', '2000-01-01T00:30:00.000Z']);
    expect(decodeCfTime(v, 'd since 2000-1-1', 'proleptic_gregorian', 'f.nc')[1]!.toISOString()).toBe(
      '2000-01-02T12:00:00.000Z',
    );
    expect(decodeCfTime(v, 'weeks since 2000-01-01 00:00', undefined, 'f.nc')[1]!.toISOString()).toBe(
      '2000-01-11T12:00:00.000Z',
    );
    for (const u of ['months since 2000-01-01', 'years since 1950-01-01', 'month since 2000-01-01'])
      expect(() => decodeCfTime(v, u, undefined, 'f.nc')).toThrow(/explicit time.*monthly/);
  });
});
