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

  it('NetCDF: --values prints what gdal_translate -of XYZ prints for the same band; the summary has per-step statistics', () => {
    const f = 'tests/fixtures/netcdf/tas_nc4.nc';
    // band 1 holds a fill value (1e20f): printed as GDAL prints it
    const r = runCli(['inspect', '--values', '--band', '1', f]);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(gdalXyz(`NETCDF:"${f}":tas`, 1));
    const s = JSON.parse(runCli(['inspect', '--json', f]).stdout) as {
      driver: string;
      variables: Array<{ name: string; roles: string[] }>;
      bands: Array<{ minimum: number; maximum: number; validCount: number }>;
    };
    expect(s.driver).toBe('netCDF');
    expect(s.variables.find((v) => v.name === 'tas')!.roles).toEqual(['time', 'y', 'x']);
    // the values of the fixture (tests/fixtures/netcdf/make_netcdf.sh): step 1 is 270..280 with one fill value
    expect(s.bands[0]).toMatchObject({ minimum: 270, maximum: 280, validCount: 11 });
    expect(s.bands[2]).toMatchObject({ minimum: 260, maximum: 271, validCount: 12 });
    const bad = runCli(['inspect', '--values', '--band', '9', f]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('band 9');
  }, 120_000);
});
