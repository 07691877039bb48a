import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Grid } from '../../../../src-shared/ipc';
import { exportFields, writeGeoTiff } from '../../../../src-main/services/rasters/writeGeoTiff';
import { GeoTiffRaster } from '../../../../src-main/services/rasters/geotiff';
import { gdalEpsg, gdalinfoJson, gdalXyz, hasGdal } from '../../../helpers/gdal';
import { tempDir } from '../../../helpers/tmp';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => (tmp = tempDir()));
afterEach(() => tmp.cleanup());

const grid: Grid = {
  crs: 'EPSG:2154',
  x0: 761000,
  y0: 6302000,
  dx: 1000,
  dy: 1000,
  rows: 27,
  cols: 14,
  mask: null,
};
const field = (k: number) =>
  Float64Array.from({ length: 27 * 14 }, (_, i) => (i % 14) * 0.25 + Math.floor(i / 14) * k + 0.125);

describe('GeoTIFF export', () => {
  it('round-trips through our reader with mask, NaN and nodata', async () => {
    const mask = new Uint8Array(27 * 14).fill(1);
    mask[0] = 0;
    const data = field(1);
    data[5] = Number.NaN;
    const path = join(tmp.dir, 'a.tif');
    const w = await writeGeoTiff({ path, grid: { ...grid, mask }, bands: [{ data, description: 'cp' }] });
    expect(w.crs).toEqual({ written: 'epsg', epsg: 2154 });
    const r = await GeoTiffRaster.open(path);
    expect(r.info).toMatchObject({
      width: 14,
      height: 27,
      pixelType: 'Float32',
      nodata: -9999,
      compression: 'DEFLATE',
      descriptions: ['cp'],
    });
    expect(r.info.geoTransform).toEqual([761000, 1000, 0, 6302000, 0, -1000]);
    const v = await r.readBandValues(0);
    expect(v[0]).toBeNaN();
    expect(v[5]).toBeNaN();
    expect(v[1]).toBe(Math.fround(data[1]!));
    await r.close();
    expect(readdirSync(tmp.dir)).toEqual(['a.tif']); // nothing temporary left
  });

  it.skipIf(!hasGdal)(
    'opens in GDAL with the right CRS, geotransform, nodata, statistics and descriptions',
    async () => {
      const written = await exportFields({
        dir: tmp.dir,
        grid,
        layout: 'per-field',
        fields: [
          { name: 'cp', data: field(1) },
          { name: 'ct', data: field(3) },
        ],
      });
      expect(written.map((w) => w.path.split('/').pop())).toEqual(['cp.tif', 'ct.tif']);
      const [multi] = await exportFields({
        dir: tmp.dir,
        grid,
        layout: 'multiband',
        fields: [
          { name: 'cp', data: field(1) },
          { name: 'ct', data: field(3) },
        ],
      });
      for (const path of [join(tmp.dir, 'cp.tif'), multi!.path]) {
        const g = gdalinfoJson(path);
        expect(g.size).toEqual([14, 27]);
        expect(g.geoTransform).toEqual([761000, 1000, 0, 6302000, 0, -1000]);
        expect(gdalEpsg(g)).toBe(2154);
        expect(g.bands[0]).toMatchObject({ type: 'Float32', noDataValue: -9999, description: 'cp' });
        const values = Array.from(field(1), (v) => Math.fround(v));
        const mean = values.reduce((a, b) => a + b, 0) / values.length;
        const st = g.bands[0]!.metadata!['']!;
        expect(Number(st.STATISTICS_MINIMUM)).toBe(0.125);
        expect(Number(st.STATISTICS_MAXIMUM)).toBe(Math.max(...values));
        expect(Number(st.STATISTICS_MEAN)).toBeCloseTo(mean, 10);
        const xyz = gdalXyz(path);
        expect(xyz[0]).toBe('761500 6301500 0.125');
        expect(xyz[15]).toBe(`762500 6300500 ${0.25 + 1 + 0.125}`);
      }
      const g = gdalinfoJson(multi!.path);
      expect(g.bands.map((b) => b.description)).toEqual(['cp', 'ct']);
    },
  );

  it.skipIf(!hasGdal)('writes geographic CRSs as GeographicTypeGeoKey', async () => {
    const path = join(tmp.dir, 'geo.tif');
    await writeGeoTiff({
      path,
      grid: { ...grid, crs: 'EPSG:4326', x0: 3.5, y0: 44, dx: 0.01, dy: 0.01 },
      bands: [{ data: field(1) }],
    });
    expect(gdalEpsg(gdalinfoJson(path))).toBe(4326);
  });

  it('refuses a band of the wrong size', async () => {
    await expect(
      writeGeoTiff({ path: join(tmp.dir, 'x.tif'), grid, bands: [{ data: new Float32Array(3) }] }),
    ).rejects.toMatchObject({ code: 'VALIDATION' });
  });
});
