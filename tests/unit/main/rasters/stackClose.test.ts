// Issue 16 (left item): a NetCDF stack releases its file when done. h5wasm/node keeps one OS file
// descriptor per open HDF5 file, so /proc/self/fd shows whether a netCDF-4 handle is still held.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyFileSync, readdirSync, readlinkSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FieldcalError } from '../../../../src-shared/ipc';
import { openNetcdfStack } from '../../../../src-main/services/rasters/netcdf';
import { inspectNetcdf } from '../../../../src-main/services/rasters/inspect';
import { testServices } from '../../../helpers/services';

const NC4 = 'tests/fixtures/netcdf/tas_nc4.nc';
const NC3 = 'tests/fixtures/netcdf/prcp_nc3.nc';

/** How many descriptors of this process point at the file. */
function openFds(file: string): number {
  const want = resolve(file);
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === want) n++;
    } catch {
      // a descriptor closed while listing
    }
  }
  return n;
}

let world: ReturnType<typeof testServices>;
beforeEach(() => {
  world = testServices('cli');
});
afterEach(() => world.cleanup());

describe.skipIf(process.platform !== 'linux')('NetCDF stacks release their file', () => {
  it('a netCDF-4 stack holds its file until close(); a read after close opens it again, same values', async () => {
    const file = join(world.dir, 'tas.nc');
    copyFileSync(NC4, file);
    const s = await openNetcdfStack(file);
    const first = await s.read(0);
    const column = await s.readColumn(1, 1);
    expect(openFds(file)).toBe(1);
    s.close!();
    expect(openFds(file)).toBe(0);
    expect(Array.from(await s.read(0))).toEqual(Array.from(first));
    expect(Array.from(await s.readColumn(1, 1))).toEqual(Array.from(column));
    expect(openFds(file)).toBe(1);
    s.close!();
    s.close!(); // twice is harmless
    expect(openFds(file)).toBe(0);
  });

  it('a read while the file is away fails, typed; once it is back the next read opens it again', async () => {
    const file = join(world.dir, 'tas.nc');
    copyFileSync(NC4, file);
    const s = await openNetcdfStack(file);
    const first = await s.read(0);
    s.close!();
    renameSync(file, `${file}.away`);
    const err = await s.read(0).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FieldcalError);
    renameSync(`${file}.away`, file);
    // the failed reopen is not kept: this read opens the file again
    expect(Array.from(await s.read(0))).toEqual(Array.from(first));
    s.close!();
    expect(openFds(file)).toBe(0);
  });

  it('a file that changed between close and the next read is refused, typed and named', async () => {
    const file = join(world.dir, 'tas.nc');
    copyFileSync(NC4, file);
    const s = await openNetcdfStack(file);
    s.close!();
    copyFileSync(NC3, file); // another variable layout in its place
    const err = await s.read(0).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FieldcalError);
    expect((err as FieldcalError).code).toBe('INVALID_FILE');
    expect((err as FieldcalError).message).toContain(file);
    expect(openFds(file)).toBe(0);
  });

  it('inspect and datasets.import leave no handle open', async () => {
    const file = join(world.dir, 'tas.nc');
    copyFileSync(NC4, file);
    const summary = await inspectNetcdf(file);
    expect(summary.steps).toBe(3);
    expect(openFds(file)).toBe(0);
    const { impls } = world.services;
    await impls.project.create({ path: join(world.dir, 'p.fieldcal'), name: 'p', crs: 'EPSG:2154' });
    await impls.datasets.import({ path: file, kind: 'netcdf' });
    expect(openFds(file)).toBe(0);
  });

  it('the rasters service keeps at most 8 stacks open and releases the ones it evicts', async () => {
    const { impls } = world.services;
    await impls.project.create({ path: join(world.dir, 'p.fieldcal'), name: 'p', crs: 'EPSG:2154' });
    const files = Array.from({ length: 10 }, (_, i) => join(world.dir, `tas${i}.nc`));
    const ids: number[] = [];
    for (const f of files) {
      copyFileSync(NC4, f);
      ids.push((await impls.datasets.import({ path: f, kind: 'netcdf' })).id);
    }
    for (const id of ids) await impls.rasters.read({ source: { datasetId: id, step: 1 }, maxSize: 64 });
    const open = files.map(openFds);
    // the two read first were evicted by the last two: closed; the last 8 stay cached and open
    expect(open).toEqual([0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
    // an evicted stack is opened again on demand and reads as before
    const again = await impls.rasters.read({ source: { datasetId: ids[0]!, step: 1 }, maxSize: 64 });
    expect(again.width).toBeGreaterThan(0);
    expect(openFds(files[0]!)).toBe(1);
  });
});
