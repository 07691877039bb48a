// Issue 15 (fail early, lose nothing): a gridded job that fails after training keeps the fields it
// learned, records them as the run's artifacts and says why.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { AppEvents } from '../../../../src-main/services/events';
import { JobHost } from '../../../../src-main/services/jobs/host';
import { ProjectStore } from '../../../../src-main/services/project/store';
import { tempDir } from '../../../helpers/tmp';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => (tmp = tempDir()));
afterEach(() => tmp.cleanup());

it('a twin whose report cannot be written fails with why, keeping its parameter GeoTIFFs and trained.json', async () => {
  const out = join(tmp.dir, 'run');
  // the report folder cannot be made: a file stands in its place (a failure after training)
  cpSync(resolve('README.md'), join(out, 'report'), { recursive: true });
  const store = ProjectStore.create({ path: join(tmp.dir, 'p.fieldcal') });
  const host = new JobHost(store, new AppEvents());
  try {
    const run = host.submit(
      {
        kind: 'twin',
        method: 'gradient',
        options: { iterations: 2 },
        twin: {
          rows: 6,
          cols: 7,
          years: { warmup: 1, train: 1, valid: 1, test: 1 },
          calibrated: ['b', 'Ws'],
        },
        threads: 1,
        seed: 3,
      },
      { outDir: out },
    );
    const done = await host.wait(run.id);
    expect(done.status).toBe('failed');
    expect(done.error).toMatch(/after training: the learned fields are kept in .*b\.tif.*trained\.json/);
    const arts = store.runs.artifacts(run.id);
    expect(arts.map((a) => a.kind).sort()).toEqual([
      'parameter-geotiff',
      'parameter-geotiff',
      'parameter-geotiff',
      'parameter-geotiff',
      'trained-json',
    ]);
    // the kept field is the one the method trained: GDAL reads it, inside b's bounds
    const b = join(out, 'b.tif');
    expect(existsSync(b)).toBe(true);
    const stats = JSON.parse(execFileSync('gdalinfo', ['-json', '-stats', b], { encoding: 'utf8' })) as {
      bands: Array<{ minimum: number; maximum: number }>;
    };
    expect(stats.bands[0]!.minimum).toBeGreaterThanOrEqual(0);
    expect(stats.bands[0]!.maximum).toBeLessThanOrEqual(1);
    expect(JSON.parse(readFileSync(join(out, 'trained.json'), 'utf8'))).toMatchObject({
      method: 'gradient',
      calibrated: ['b', 'Ws'],
    });
  } finally {
    await host.close();
    store.close();
  }
}, 180_000);
