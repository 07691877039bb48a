import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { Grid } from '../../../../src-shared/ipc';
import { alignToGrid, defaultMethod } from '../../../../src-main/services/grid/align';
import { gridFromBbox, gridFromPolygon } from '../../../../src-main/services/grid/studyArea';
import { GeoTiffRaster } from '../../../../src-main/services/rasters/geotiff';
import { gridOfRaster } from '../../../../src-main/services/rasters/stack';
import { hasGdal } from '../../../helpers/gdal';
import { tempDir } from '../../../helpers/tmp';

const SLOPE = 'resources/sample-data/lez/descriptor/soil_water_storage.tif';
let tmp: ReturnType<typeof tempDir>;
let src: Grid;
let values: Float64Array;

beforeAll(async () => {
  tmp = tempDir();
  const r = await GeoTiffRaster.open(SLOPE);
  src = gridOfRaster(r.info, 'EPSG:2154');
  values = await r.readBandValues(0);
  await r.close();
});
afterAll(() => tmp.cleanup());

/** Runs gdalwarp to a target grid and reads the result back. */
async function gdalwarp(dst: Grid, method: string, extra: string[] = []): Promise<Float64Array> {
  const out = join(tmp.dir, `w-${method}-${Math.random().toString(36).slice(2)}.tif`);
  execFileSync(
    'gdalwarp',
    [
      '-q',
      '-overwrite',
      '-s_srs',
      'EPSG:2154',
      '-t_srs',
      dst.crs!,
      '-r',
      method,
      '-ot',
      'Float64',
      '-te',
      String(dst.x0),
      String(dst.y0 - dst.rows * dst.dy),
      String(dst.x0 + dst.cols * dst.dx),
      String(dst.y0),
      '-ts',
      String(dst.cols),
      String(dst.rows),
      '-dstnodata',
      'nan',
      '-et',
      '0',
      ...extra,
      SLOPE,
      out,
    ],
    { env: { ...process.env, GDAL_PAM_ENABLED: 'NO' } },
  );
  const r = await GeoTiffRaster.open(out);
  const v = await r.readBandValues(0);
  await r.close();
  return v;
}

describe('alignment to a model grid', () => {
  it('is the identity on the same grid and conserves the mean when averaging 2 x 2 blocks', () => {
    expect(Array.from(alignToGrid(src, values, src).values)).toEqual(Array.from(values));
    const coarse: Grid = { ...src, dx: 2000, dy: 2000, rows: 13, cols: 7 };
    expect(defaultMethod(src, coarse)).toBe('average');
    const a = alignToGrid(src, values, coarse);
    expect(a.method).toBe('average');
    let sumFine = 0;
    for (let r = 0; r < 26; r++) for (let c = 0; c < 14; c++) sumFine += values[r * 14 + c]!;
    const sumCoarse = a.values.reduce((s, v) => s + v, 0);
    expect(sumCoarse * 4).toBeCloseTo(sumFine, 6);
  });

  it.skipIf(!hasGdal)('average (same CRS, 2.5 km over 1 km cells) matches gdalwarp -r average', async () => {
    const dst: Grid = {
      crs: 'EPSG:2154',
      x0: 760500,
      y0: 6302500,
      dx: 2500,
      dy: 2500,
      rows: 12,
      cols: 7,
      mask: null,
    };
    const ours = alignToGrid(src, values, dst, 'average').values;
    const gdal = await gdalwarp(dst, 'average');
    let compared = 0;
    // Cells only partly covered by the source are averaged over their covered part here; GDAL 3.6
    // weights those edge cells differently, so the comparison is over fully covered cells.
    const covered = (i: number) => {
      const r = Math.floor(i / dst.cols);
      const c = i % dst.cols;
      const left = dst.x0 + c * dst.dx;
      const top = dst.y0 - r * dst.dy;
      return (
        left >= src.x0 &&
        left + dst.dx <= src.x0 + src.cols * src.dx &&
        top <= src.y0 &&
        top - dst.dy >= src.y0 - src.rows * src.dy
      );
    };
    ours.forEach((v, i) => {
      if (Number.isNaN(gdal[i]!) || !covered(i)) return;
      compared++;
      expect(Math.abs(v - gdal[i]!)).toBeLessThan(1e-6 * Math.abs(gdal[i]!) + 1e-9);
    });
    expect(compared).toBeGreaterThanOrEqual(40);
  });

  it.skipIf(!hasGdal)('nearest and bilinear with reprojection to EPSG:4326 match gdalwarp', async () => {
    const dst: Grid = {
      crs: 'EPSG:4326',
      x0: 3.76,
      y0: 43.77,
      dx: 0.004,
      dy: 0.003,
      rows: 80,
      cols: 45,
      mask: null,
    };
    for (const method of ['nearest', 'bilinear'] as const) {
      const ours = alignToGrid(src, values, dst, method).values;
      expect(alignToGrid(src, values, dst, method).reprojected).toBe(true);
      const gdal = await gdalwarp(dst, method === 'nearest' ? 'near' : 'bilinear');
      let same = 0;
      let both = 0;
      ours.forEach((v, i) => {
        const g = gdal[i]!;
        if (Number.isNaN(v) || Number.isNaN(g)) return;
        both++;
        if (Math.abs(v - g) <= 1e-6 * Math.abs(g) + 1e-9) same++;
      });
      expect(both).toBeGreaterThan(2000);
      // away from the data's edges the two agree cell for cell
      expect(same / both).toBeGreaterThan(0.999);
    }
  });
});

describe('study areas', () => {
  it('builds a grid from a lon/lat bbox, snapped to the cell size', () => {
    const g = gridFromBbox([3.8, 43.6, 3.95, 43.75], 'EPSG:4326', { crs: 'EPSG:2154', cellSize: 1000 });
    expect(g.x0 % 1000).toBe(0);
    expect(g.y0 % 1000).toBe(0);
    expect(g.cols).toBeGreaterThan(12);
    expect(g.rows).toBeGreaterThan(16);
  });

  it('masks the cells whose centres fall inside a drawn polygon with a hole', () => {
    // a 10 x 10 km square with a 2 x 2 km hole, in the grid CRS
    const square = [
      [0, 0],
      [10000, 0],
      [10000, 10000],
      [0, 10000],
      [0, 0],
    ];
    const hole = [
      [4000, 4000],
      [6000, 4000],
      [6000, 6000],
      [4000, 6000],
      [4000, 4000],
    ];
    const g = gridFromPolygon({ type: 'Polygon', coordinates: [square, hole] }, 'EPSG:2154', {
      crs: 'EPSG:2154',
      cellSize: 1000,
    });
    expect([g.rows, g.cols]).toEqual([10, 10]);
    expect(g.mask!.reduce((a, b) => a + b, 0)).toBe(96);
    expect(() =>
      gridFromPolygon({ type: 'Point', coordinates: [0, 0] }, 'EPSG:2154', { crs: 'EPSG:2154', cellSize: 1 }),
    ).toThrow(/Polygon/);
  });
});
