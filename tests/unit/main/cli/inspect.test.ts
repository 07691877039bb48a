import { describe, expect, it } from 'vitest';
import { runCli } from '../../../helpers/cli';
import { gdalinfoJson, gdalXyz, hasGdal } from '../../../helpers/gdal';

describe.skipIf(!hasGdal)('fieldcal inspect (the command itself)', () => {
  it('--values prints what gdal_translate -of XYZ prints, PixelIsPoint included', () => {
    for (const f of [
      'resources/sample-data/lez/descriptor/slope.tif',
      'tests/fixtures/rasters/float32_pixelispoint.tif',
    ]) {
      const r = runCli(['inspect', '--values', f]);
      expect(r.status).toBe(0);
      expect(r.stdout.trim().split('\n')).toEqual(gdalXyz(f));
    }
  });

  it('--json agrees with gdalinfo on size, geotransform and nodata; stacks list steps and gaps', () => {
    const f = 'resources/sample-data/lez/pet/2012/08/201208010000_ETP.tif';
    const ours = JSON.parse(runCli(['inspect', '--json', f]).stdout) as {
      size: number[];
      geoTransform: number[];
      bands: Array<{ noDataValue: number }>;
    };
    const g = gdalinfoJson(f);
    expect(ours.size).toEqual(g.size);
    expect(ours.geoTransform).toEqual(g.geoTransform);
    expect(Math.fround(ours.bands[0]!.noDataValue)).toBe(Math.fround(Number(g.bands[0]!.noDataValue)));
    const s = JSON.parse(runCli(['inspect', '--json', 'tests/fixtures/netcdf/tas_nc4.nc']).stdout) as {
      steps: number;
      gaps: unknown[];
      units: string;
    };
    expect(s).toMatchObject({ steps: 3, units: 'K', gaps: [{ missing: 1 }] });
    const bad = runCli(['inspect', 'tests/fixtures/netcdf/prcp_nc3.cdl']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('prcp_nc3.cdl');
  });
});
