import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceContainer } from '../../../../src-main/services';
import { testServices } from '../../../helpers/services';
import { gdalEpsg, gdalinfoJson, hasGdal } from '../../../helpers/gdal';
import { fileSha256 } from '../../../helpers/tmp';
import { writeGeoTiff } from '../../../../src-main/services/rasters/writeGeoTiff';
import { artifactOf } from '../../../../src-main/services/common/checksum';
import { FieldcalError, type Grid } from '../../../../src-shared/ipc';
import { execFileSync } from 'node:child_process';

let world: ReturnType<typeof testServices>;
let services: ServiceContainer;
beforeEach(() => {
  world = testServices('cli');
  services = world.services;
});
afterEach(() => world.cleanup());

const grid: Grid = {
  crs: 'EPSG:2154',
  x0: 761000,
  y0: 6302000,
  dx: 1000,
  dy: 1000,
  rows: 3,
  cols: 4,
  mask: null,
};
const field = (f: (i: number) => number) =>
  Array.from({ length: 12 }, (_, i) => (i === 5 ? Number.NaN : f(i)));

/** A run with parameter GeoTIFFs b and Dsmax (no units in the files), a simulated ET stack of 3 days, and a report. */
async function runWithFields() {
  const store = services.session.require('test');
  const run = store.runs.create({
    name: 'r',
    method: 'gradient',
    options: { spec: { kind: 'gridded' } },
    seed: 1,
  });
  const dir = join(world.dir, 'run');
  mkdirSync(dir);
  const b = await writeGeoTiff({
    path: join(dir, 'b.tif'),
    grid,
    nodata: -9999,
    bands: [{ data: field((i) => 0.01 * i), description: 'b' }],
  });
  const dsmax = await writeGeoTiff({
    path: join(dir, 'Dsmax.tif'),
    grid,
    nodata: -9999,
    bands: [{ data: field((i) => 5 + i), description: 'Dsmax' }],
  });
  const sim = await writeGeoTiff({
    path: join(dir, 'simulated_ET.tif'),
    grid,
    nodata: -9999,
    bands: ['2013-01-01', '2013-01-02', '2013-01-03'].map((d, k) => ({
      data: field((i) => k + i / 10),
      description: d,
    })),
  });
  writeFileSync(join(dir, 'report.html'), '<html></html>');
  const add = async (kind: string, path: string) =>
    store.runs.addArtifact({ runId: run.id, ...(await artifactOf(kind, path)) });
  return {
    run,
    store,
    b: await add('parameter-geotiff', b.path),
    dsmax: await add('parameter-geotiff', dsmax.path),
    sim: await add('simulation-geotiff', sim.path),
    report: await add('report', join(dir, 'report.html')),
  };
}

const errorOf = async (call: () => unknown) =>
  Promise.resolve()
    .then(call)
    .then(
      () => null,
      (e: unknown) => e as FieldcalError,
    );

describe('field export', () => {
  it('lists the parameter and simulated fields with units from the parameter tables and band counts', async () => {
    await services.impls.project.create({ path: join(world.dir, 'p.fieldcal'), crs: 'EPSG:2154' });
    const r = await runWithFields();
    expect(await services.impls.export.fields({ runId: r.run.id })).toEqual([
      { artifactId: r.b.id, name: 'b', kind: 'parameter-geotiff', units: '-', bands: 1 },
      { artifactId: r.dsmax.id, name: 'Dsmax', kind: 'parameter-geotiff', units: 'mm/d', bands: 1 },
      { artifactId: r.sim.id, name: 'simulated_ET', kind: 'simulation-geotiff', units: 'mm/d', bands: 3 },
    ]);
    expect(await errorOf(() => services.impls.export.fields({ runId: 99 }))).toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it.skipIf(!hasGdal)(
    'writes one GeoTIFF per field that GDAL reads with CRS, nodata, units and values',
    async () => {
      await services.impls.project.create({ path: join(world.dir, 'p.fieldcal'), crs: 'EPSG:2154' });
      const r = await runWithFields();
      const out = join(world.dir, 'out');
      mkdirSync(out);
      const res = await services.impls.export.writeFields({
        runId: r.run.id,
        artifactIds: [r.dsmax.id, r.sim.id],
        folder: out,
        layout: 'per-field',
      });
      expect(res.files.map((f) => f.path)).toEqual([join(out, 'Dsmax.tif'), join(out, 'simulated_ET.tif')]);
      const info = gdalinfoJson(join(out, 'Dsmax.tif'));
      expect(gdalEpsg(info)).toBe(2154);
      expect(info.geoTransform).toEqual([761000, 1000, 0, 6302000, 0, -1000]);
      expect(info.bands[0]).toMatchObject({ noDataValue: -9999, description: 'Dsmax', unit: 'mm/d' });
      const text = execFileSync('gdalinfo', [join(out, 'Dsmax.tif')], { encoding: 'utf8' });
      expect(text).toContain('Unit Type: mm/d');
      // values: cell (row 1, col 2) = 5 + 6; the NaN cell reads as nodata
      const at = (file: string, col: number, row: number, band = 1) =>
        execFileSync('gdallocationinfo', ['-valonly', '-b', String(band), file, String(col), String(row)], {
          encoding: 'utf8',
        }).trim();
      expect(at(join(out, 'Dsmax.tif'), 2, 1)).toBe('11');
      expect(at(join(out, 'Dsmax.tif'), 1, 1)).toBe('-9999');
      const simInfo = gdalinfoJson(join(out, 'simulated_ET.tif'));
      expect(simInfo.bands).toHaveLength(3);
      expect(simInfo.bands.map((b) => (b as { unit?: string }).unit)).toEqual(['mm/d', 'mm/d', 'mm/d']);
      expect(simInfo.bands[2]!.description).toBe('simulated_ET 2013-01-03');
      expect(Number(at(join(out, 'simulated_ET.tif'), 3, 2, 3))).toBeCloseTo(2 + 1.1, 5);
      expect(readdirSync(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);

      // an existing file without overwrite: CONFLICT naming it, and the folder unchanged
      const before = fileSha256(join(out, 'Dsmax.tif'));
      const e = await errorOf(() =>
        services.impls.export.writeFields({
          runId: r.run.id,
          artifactIds: [r.b.id, r.dsmax.id],
          folder: out,
          layout: 'per-field',
        }),
      );
      expect(e).toBeInstanceOf(FieldcalError);
      expect(e).toMatchObject({ code: 'CONFLICT', details: { path: join(out, 'Dsmax.tif') } });
      expect(readdirSync(out).sort()).toEqual(['Dsmax.tif', 'simulated_ET.tif']);
      expect(fileSha256(join(out, 'Dsmax.tif'))).toBe(before);
      const again = await services.impls.export.writeFields({
        runId: r.run.id,
        artifactIds: [r.b.id, r.dsmax.id],
        folder: out,
        layout: 'per-field',
        overwrite: true,
      });
      expect(again.files).toHaveLength(2);
      expect(gdalinfoJson(join(out, 'b.tif')).bands[0]).toMatchObject({ unit: '-', noDataValue: -9999 });
    },
  );

  it.skipIf(!hasGdal)('writes one multi-band file with a band per field, named and with units', async () => {
    await services.impls.project.create({ path: join(world.dir, 'p.fieldcal'), crs: 'EPSG:2154' });
    const r = await runWithFields();
    const out = join(world.dir, 'mb');
    mkdirSync(out);
    const res = await services.impls.export.writeFields({
      runId: r.run.id,
      artifactIds: [r.b.id, r.dsmax.id],
      folder: out,
      layout: 'multiband',
    });
    expect(res.files).toEqual([{ path: join(out, `run-${r.run.id}-fields.tif`), bytes: expect.any(Number) }]);
    const info = gdalinfoJson(res.files[0]!.path);
    expect(gdalEpsg(info)).toBe(2154);
    expect(info.bands.map((b) => [b.description, (b as { unit?: string }).unit, b.noDataValue])).toEqual([
      ['b', '-', -9999],
      ['Dsmax', 'mm/d', -9999],
    ]);
    const v = execFileSync('gdallocationinfo', ['-valonly', res.files[0]!.path, '3', '0'], {
      encoding: 'utf8',
    })
      .trim()
      .split('\n')
      .map(Number);
    expect(v[0]).toBeCloseTo(0.03, 6);
    expect(v[1]).toBe(8);
  });

  it('refuses artifacts of another run or of another kind, and changed files', async () => {
    await services.impls.project.create({ path: join(world.dir, 'p.fieldcal'), crs: 'EPSG:2154' });
    const r = await runWithFields();
    const other = r.store.runs.create({ name: 'o', method: 'ann', options: {}, seed: 2 });
    const out = join(world.dir, 'o');
    mkdirSync(out);
    const call = (runId: number, artifactIds: number[], folder = out) =>
      errorOf(() => services.impls.export.writeFields({ runId, artifactIds, folder, layout: 'per-field' }));
    expect(await call(other.id, [r.b.id])).toMatchObject({
      code: 'VALIDATION',
      details: { field: 'artifactIds', id: r.b.id },
    });
    expect(await call(r.run.id, [r.report.id])).toMatchObject({
      code: 'VALIDATION',
      details: { field: 'artifactIds' },
    });
    expect(await call(r.run.id, [r.b.id, r.b.id])).toMatchObject({
      code: 'VALIDATION',
      details: { field: 'artifactIds' },
    });
    expect(await call(r.run.id, [424242])).toMatchObject({ code: 'NOT_FOUND' });
    expect(await call(r.run.id, [r.b.id], join(world.dir, 'missing'))).toMatchObject({
      code: 'NOT_FOUND',
      details: { field: 'folder' },
    });
    writeFileSync(r.b.path, 'changed');
    expect(await call(r.run.id, [r.dsmax.id, r.b.id])).toMatchObject({
      code: 'CONFLICT',
      details: { path: r.b.path },
    });
    expect(readdirSync(out)).toEqual([]);
  });
});
