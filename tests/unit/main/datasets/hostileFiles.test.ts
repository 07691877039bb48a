import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FieldcalError } from '../../../../src-shared/ipc';
import { readSmashGauges } from '../../../../src-main/services/grid/gauges';
import { readLumpedCsv } from '../../../../src-main/services/datasets/lumpedCsv';
import { openNetcdfStack } from '../../../../src-main/services/rasters/netcdf';
import { inspectGeoTiff } from '../../../../src-main/services/rasters/inspect';
import type { ServiceContainer } from '../../../../src-main/services';
import { nc3Fields } from '../../../../fuzz/netcdf';
import { testServices } from '../../../helpers/services';

const LEZ = 'resources/sample-data/lez';
let world: ReturnType<typeof testServices>;
let services: ServiceContainer;
beforeEach(() => {
  world = testServices('cli');
  services = world.services;
});
afterEach(() => world.cleanup());

/** The typed error a call fails with; an untyped one (or success) fails the test. */
async function typedError(fn: () => unknown): Promise<FieldcalError> {
  try {
    await fn();
  } catch (err) {
    if (!(err instanceof FieldcalError)) throw new Error(`untyped error: ${String(err)}`);
    return err;
  }
  throw new Error('expected a typed error, the call succeeded');
}

/** A smash gauge folder (attributes and the three Lez series) in the test's folder. */
function gaugeFolder(name: string): string {
  const g = join(world.dir, name);
  mkdirSync(g, { recursive: true });
  cpSync(join(LEZ, 'gauge_attributes.csv'), join(g, 'gauge_attributes.csv'));
  cpSync(join(LEZ, 'qobs'), join(g, 'qobs'), { recursive: true });
  return g;
}

describe('loaders never open a FIFO', () => {
  it('a FIFO as gauge_attributes.csv is refused, typed and named, by the loader and by datasets.import', async () => {
    const g = gaugeFolder('fifo-attrs');
    rmSync(join(g, 'gauge_attributes.csv'));
    execFileSync('mkfifo', [join(g, 'gauge_attributes.csv')]);
    const e = await typedError(() => readSmashGauges(g));
    expect(e.code).toBe('INVALID_FILE');
    expect(e.message).toContain(join(g, 'gauge_attributes.csv'));
    expect(e.message).toMatch(/named pipe/);
    await services.impls.project.create({ path: join(world.dir, 'p.fieldcal'), crs: 'EPSG:2154' });
    const viaImport = await typedError(() => services.impls.datasets.import({ path: g, kind: 'gauges' }));
    expect(viaImport.code).toBe('INVALID_FILE');
    expect(viaImport.message).toContain('gauge_attributes.csv');
  });

  it('a FIFO as qobs/<code>.csv is refused, typed and named', async () => {
    const g = gaugeFolder('fifo-qobs');
    const q = join(g, 'qobs', 'Y3204040.csv');
    rmSync(q);
    execFileSync('mkfifo', [q]);
    const e = await typedError(() => readSmashGauges(g));
    expect(e.code).toBe('INVALID_FILE');
    expect(e.message).toContain(q);
  });

  it('a FIFO given as a lumped CSV, a raster or a NetCDF file is refused before it is opened', async () => {
    for (const name of ['basin.csv', 'layer.tif', 'field.nc']) {
      const f = join(world.dir, name);
      execFileSync('mkfifo', [f]);
      const e = await typedError(() =>
        name.endsWith('.csv')
          ? readLumpedCsv(f)
          : name.endsWith('.nc')
            ? openNetcdfStack(f)
            : inspectGeoTiff(f),
      );
      expect(e.code).toBe('INVALID_FILE');
      expect(e.message).toContain(f);
    }
  });
});

describe('gauges imported twice', () => {
  it('a second import of the same gauges is a CONFLICT naming the code, and records nothing', async () => {
    await services.impls.project.create({ path: join(world.dir, 'p.fieldcal'), crs: 'EPSG:2154' });
    const g = gaugeFolder('lez-gauges');
    await services.impls.datasets.import({ path: g, kind: 'gauges' });
    const before = (await services.impls.datasets.list({})).length;
    const e = await typedError(() =>
      services.impls.datasets.import({ path: g, kind: 'gauges', name: 'again' }),
    );
    expect(e.code).toBe('CONFLICT');
    // the first gauge of gauge_attributes.csv is named
    expect(e.message).toContain('Y3204040');
    expect(e.details).toMatchObject({ code: 'Y3204040' });
    expect((await services.impls.datasets.list({})).length).toBe(before);
  });

  it('a code listed twice in one gauge_attributes.csv is refused with its line', async () => {
    const g = gaugeFolder('dup-in-file');
    const text = readFileSync(join(g, 'gauge_attributes.csv'), 'utf8').trimEnd().split('\n');
    writeFileSync(join(g, 'gauge_attributes.csv'), [...text, text[1]].join('\n'));
    const e = await typedError(() => readSmashGauges(g));
    expect(e.code).toBe('INVALID_FILE');
    expect(e.message).toMatch(/line 5: gauge code Y3204040 appears twice/);
  });
});

describe('headers are checked before the file is hashed', () => {
  it('a 10 GB sparse file with a bad header is refused by datasets.import', async () => {
    await services.impls.project.create({ path: join(world.dir, 'p.fieldcal'), crs: 'EPSG:2154' });
    const big = join(world.dir, 'huge.tif');
    writeFileSync(big, 'this is not a TIFF header');
    // sparse: no disk space used; the old importer hashed all 10 GB (49 s) before reading the header
    expect(spawnSync('truncate', ['-s', '10G', big]).status).toBe(0);
    const e = await typedError(() => services.impls.datasets.import({ path: big }));
    expect(e.code).toBe('INVALID_FILE');
    expect(e.message).toContain(big);
    expect(await services.impls.datasets.list({})).toEqual([]);
  });
});

describe('netcdfjs errors are typed and name the file', () => {
  const NC3 = 'tests/fixtures/netcdf/prcp_nc3.nc';
  /** prcp_nc3.nc with one header field of the variable `prcp` (the last variable) set to a value. */
  function patched(kind: 'type' | 'begin' | 'vsize', value: number): string {
    const b = Buffer.from(readFileSync(NC3));
    const f = nc3Fields(b)
      .filter((x) => x.kind === kind)
      .at(-1)!;
    b.writeUInt32BE(value >>> 0, f.pos);
    const out = join(world.dir, `${kind}-${value}.nc`);
    writeFileSync(out, b);
    return out;
  }
  const readEverything = async (f: string) => {
    const s = await openNetcdfStack(f);
    for (let i = 0; i < s.steps.length; i++) await s.read(i);
    await s.readColumn(0, 0);
  };

  it('a variable of an unknown type ("non valid type -1")', async () => {
    const f = patched('type', 99);
    const e = await typedError(() => readEverything(f));
    expect(e.code).toBe('INVALID_FILE');
    expect(e.message).toContain(f);
  });

  it('data past the end of the file ("Offset is outside the bounds of the DataView")', async () => {
    for (const f of [patched('begin', 100_000), patched('vsize', 100_000)]) {
      const e = await typedError(() => readEverything(f));
      expect(e.code).toBe('INVALID_FILE');
      expect(e.message).toContain(f);
    }
  });

  it('a 1.9 GB file with a small CDF header reads only the bytes its header declares', async () => {
    // the old reader took the whole file into memory: 2 GB of RSS in the server for this file
    const big = join(world.dir, 'big.nc');
    writeFileSync(big, readFileSync(NC3));
    expect(spawnSync('truncate', ['-s', '1900M', big]).status).toBe(0);
    const rss0 = process.memoryUsage().rss;
    const s = await openNetcdfStack(big);
    const v = await s.read(0);
    expect(process.memoryUsage().rss - rss0).toBeLessThan(256 * 2 ** 20);
    expect(s.steps.length).toBe(3);
    expect(v[3 * 5]).toBeCloseTo(1, 12);
  });

  it('a header declaring more than 1 GiB of data is refused before anything is read', async () => {
    const f = patched('vsize', 1_500_000_000);
    expect(spawnSync('truncate', ['-s', '5000M', f]).status).toBe(0);
    const e = await typedError(() => openNetcdfStack(f));
    expect(e.code).toBe('UNSUPPORTED_FORMAT');
    expect(e.message).toContain(f);
    expect(e.details).toMatchObject({ file: f, maxBytes: 2 ** 30 });
  });

  it('an intact file still reads the same values', async () => {
    const s = await openNetcdfStack(NC3);
    // prcp(t=0, y=6298500 (south row), x=761500) = 0 * 0.1 + 1 (scale_factor, add_offset); north-up: last row
    const v = await s.read(0);
    expect(v[3 * 5]).toBeCloseTo(1, 12);
    expect(s.steps.length).toBe(3);
  });
});
