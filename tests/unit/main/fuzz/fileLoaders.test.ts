import { describe, expect, it } from 'vitest';
import { geotiffFuzz } from '../../../../fuzz/geotiff';
import { netcdfFuzz } from '../../../../fuzz/netcdf';
import { gaugesFuzz } from '../../../../fuzz/gauges';
import { csvFuzz } from '../../../../fuzz/csv';
import { hasGdal } from '../../../helpers/gdal';

// Each file fuzzer at a modest count (`npm run fuzz -- NAME N` runs any count): no crash, no hang,
// both outcomes present (the mutations reach past the first check), and for rasters no file GDAL
// refuses accepted and every accepted file read to the same values as GDAL.
describe('file fuzzers', () => {
  it.skipIf(!hasGdal)('geotiff: 100 mutated GeoTIFFs, GDAL as the oracle', { timeout: 300_000 }, async () => {
    const r = await geotiffFuzz(100, 7);
    expect(r).toMatchObject({
      inputs: 100,
      crashes: 0,
      hangs: 0,
      acceptedGdalRefuses: 0,
      valueDisagreements: 0,
    });
    expect(r.ok).toBeGreaterThan(0);
    expect(r.typedErrors).toBeGreaterThan(0);
    expect(r.valuesCompared).toBeGreaterThan(0);
  });

  it('netcdf: 100 mutated netCDF-3 and netCDF-4 files', { timeout: 300_000 }, async () => {
    const r = await netcdfFuzz(100, 7);
    expect(r).toMatchObject({ inputs: 100, crashes: 0, hangs: 0 });
    expect(r.ok).toBeGreaterThan(0);
    expect(r.typedErrors).toBeGreaterThan(0);
  });

  it('gauges: 100 mutated gauge folders, FIFOs included', { timeout: 300_000 }, async () => {
    const r = await gaugesFuzz(100, 7);
    expect(r).toMatchObject({ inputs: 100, crashes: 0, hangs: 0 });
    expect(r.ok).toBeGreaterThan(0);
    expect(r.typedErrors).toBeGreaterThan(0);
  });

  it('csv: 100 mutated lumped CSVs through both CSV loaders', { timeout: 300_000 }, async () => {
    const r = await csvFuzz(100, 7);
    expect(r).toMatchObject({ inputs: 100, crashes: 0, hangs: 0 });
    const lumped = r.lumped as { ok: number; typedErrors: number };
    expect(lumped.ok).toBeGreaterThan(0);
    expect(lumped.typedErrors).toBeGreaterThan(0);
  });
});
