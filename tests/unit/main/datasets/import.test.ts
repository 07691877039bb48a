import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendFileSync, cpSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceContainer } from '../../../../src-main/services';
import { testServices } from '../../../helpers/services';

const LEZ = 'resources/sample-data/lez';
let world: ReturnType<typeof testServices>;
let services: ServiceContainer;
const tmp = {
  get dir() {
    return world.dir;
  },
};
beforeEach(() => {
  world = testServices('cli');
  services = world.services;
});
afterEach(() => world.cleanup());

describe('datasets in the project', () => {
  it('imports rasters, stacks, NetCDF and gauges with CRS, grid, time range, size and checksum', async () => {
    const ds = services.impls.datasets;
    const project = join(tmp.dir, 'lez.fieldcal');
    await services.impls.project.create({ path: project, crs: 'EPSG:2154' });

    const slope = await ds.import({ path: join(LEZ, 'descriptor/slope.tif') });
    // the descriptors carry no CRS: the project's is used, and the record says so
    expect(slope).toMatchObject({
      kind: 'raster',
      crs: 'EPSG:2154',
      grid: { crsSource: 'project', rows: 27, cols: 14, x0: 761000 },
      status: 'ok',
    });
    expect(slope.checksum).toMatch(/^[0-9a-f]{64}$/);
    const ext = slope.grid!.extent4326 as number[];
    // the Lez is north of Montpellier: about 3.8 - 4.0 E, 43.6 - 43.9 N
    expect(ext[0]).toBeGreaterThan(3.7);
    expect(ext[2]).toBeLessThan(4.1);
    expect(ext[1]).toBeGreaterThan(43.5);
    expect(ext[3]).toBeLessThan(44);

    const prcp = await ds.import({ path: join(LEZ, 'prcp'), name: 'rainfall' });
    expect(prcp).toMatchObject({
      kind: 'stack',
      name: 'rainfall',
      steps: 365,
      timeStart: '2012-08-01T00:00:00.000Z',
      timeEnd: '2013-07-31T00:00:00.000Z',
      grid: { stepSeconds: 86400, gaps: [] },
    });
    const flwdir = await ds.import({ path: join(LEZ, 'France_flwdir.tif') });
    expect(flwdir).toMatchObject({ crs: 'EPSG:2154', grid: { crsSource: 'file', rows: 1125, cols: 1200 } });
    const nc = await ds.import({ path: 'tests/fixtures/netcdf/tas_nc4.nc' });
    expect(nc).toMatchObject({
      kind: 'netcdf',
      crs: 'EPSG:4326',
      steps: 3,
      grid: { gaps: [{ missing: 1 }], units: 'K' },
    });
    const gauges = await ds.import({ path: LEZ, name: 'Lez gauges' });
    expect(gauges.kind).toBe('gauges');
    expect((await services.impls.project.current({}))!.counts).toMatchObject({
      datasets: 5,
      layers: 5,
      gauges: 3,
    });

    // a bad file is refused with a typed error and nothing is recorded
    await expect(ds.import({ path: 'tests/fixtures/netcdf/notime.nc' })).rejects.toMatchObject({
      code: 'INVALID_FILE',
    });
    expect(await ds.list({})).toHaveLength(5);

    // reopened, the project finds them all
    await services.impls.project.close({});
    await services.impls.project.open({ path: project });
    expect((await ds.list({})).map((d) => [d.name, d.status])).toEqual([
      ['slope', 'ok'],
      ['rainfall', 'ok'],
      ['France_flwdir', 'ok'],
      ['tas_nc4', 'ok'],
      ['Lez gauges', 'ok'],
    ]);
  });

  it('reports a moved or changed source instead of silently rereading it', async () => {
    const ds = services.impls.datasets;
    await services.impls.project.create({ path: join(tmp.dir, 'p.fieldcal'), crs: 'EPSG:2154' });
    const a = join(tmp.dir, 'a.tif');
    const b = join(tmp.dir, 'b.tif');
    cpSync(join(LEZ, 'descriptor/karst.tif'), a);
    cpSync(join(LEZ, 'descriptor/urban.tif'), b);
    const da = await ds.import({ path: a });
    const db = await ds.import({ path: b });
    appendFileSync(a, Buffer.alloc(10));
    renameSync(b, join(tmp.dir, 'moved.tif'));
    expect((await ds.list({})).map((d) => d.status)).toEqual(['changed', 'missing']);
    expect(await ds.verify({ id: da.id })).toMatchObject({ status: 'changed' });
    expect(await ds.verify({ id: db.id })).toMatchObject({ status: 'missing' });
    expect((await ds.verify({ id: db.id })).detail).toContain(b);
  });

  it('refuses an unknown EPSG code for the project CRS', async () => {
    await services.impls.project.create({ path: join(tmp.dir, 'q.fieldcal') });
    await expect(
      Promise.resolve().then(() => services.impls.project.setCrs({ crs: 'EPSG:999999' })),
    ).rejects.toMatchObject({ code: 'UNSUPPORTED_FORMAT' });
    expect((await services.impls.project.setCrs({ crs: 'EPSG:2154' })).crs).toBe('EPSG:2154');
  });
});
