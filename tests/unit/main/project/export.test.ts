import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceContainer } from '../../../../src-main/services';
import { testServices } from '../../../helpers/services';
import { sha256File } from '../../../../src-main/services/project/services';
import { FieldcalError } from '../../../../src-shared/ipc';

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

describe('export service', () => {
  it('copies a run artifact atomically after checking its checksum', async () => {
    services.session.create(join(tmp.dir, 'p.fieldcal'));
    const store = services.session.require('test');
    const src = join(tmp.dir, 'cp.tif');
    writeFileSync(src, Buffer.from('II*\u0000 pretend parameter raster'));
    const run = store.runs.create({ name: 'r', method: 'sce-ua', options: {}, seed: 1 });
    const a = store.runs.addArtifact({
      runId: run.id,
      kind: 'parameter',
      path: src,
      sizeBytes: 30,
      checksum: await sha256File(src),
    });
    expect(await services.impls.export.artifacts({ runId: run.id })).toEqual([a]);

    const dest = join(tmp.dir, 'out', '..', 'cp-copy.tif');
    const r = await services.impls.export.copyArtifact({ id: a.id, destination: dest });
    expect(r.bytes).toBe(readFileSync(src).length);
    expect(readFileSync(dest)).toEqual(readFileSync(src));
    // no temporary files left beside it
    expect(readdirSync(tmp.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    await expect(services.impls.export.copyArtifact({ id: a.id, destination: dest })).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    writeFileSync(src, 'changed');
    const err = await Promise.resolve()
      .then(() => services.impls.export.copyArtifact({ id: a.id, destination: dest, overwrite: true }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FieldcalError);
    expect(err).toMatchObject({ code: 'CONFLICT', details: { path: src } });
    writeFileSync(src, Buffer.from('II*\u0000 pretend parameter raster'));
    const missingDir = await Promise.resolve()
      .then(() =>
        services.impls.export.copyArtifact({ id: a.id, destination: join(tmp.dir, 'nope', 'x.tif') }),
      )
      .catch((e: unknown) => e);
    expect(missingDir).toMatchObject({ code: 'IO', details: { path: join(tmp.dir, 'nope', 'x.tif') } });
    expect(existsSync(join(tmp.dir, 'nope'))).toBe(false);
  });
});
