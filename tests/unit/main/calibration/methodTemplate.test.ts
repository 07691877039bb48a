import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServices } from '../../../../src-main/services';
import { dispatch } from '../../../../src-main/ipc/dispatch';
import { JobHost } from '../../../../src-main/services/jobs/host';
import { ProjectStore } from '../../../../src-main/services/project/store';
import { GeoTiffRaster } from '../../../../src-main/services/rasters/geotiff';
import { VIC3L } from '../../../../src-main/services/physics/vic3l';
import { loadMethodModules, methodNames, METHODS } from '../../../../src-main/services/calibration/registry';
import { LUMPED_BOUNDS } from '../../../../src-main/services/calibration/lumped/problem';
import { runCli } from '../../../helpers/cli';

// The test-only method: one folder (tests/fixtures/methods/midpoint) whose index.ts registers it.
const MODULE = resolve('tests/fixtures/methods/midpoint/index.ts');
const dir = mkdtempSync(join(tmpdir(), 'fieldcal-template-'));
const saved = process.env.FIELDCAL_METHOD_MODULES;

beforeAll(async () => {
  process.env.FIELDCAL_METHOD_MODULES = MODULE;
  await loadMethodModules();
});
afterAll(() => {
  if (saved === undefined) delete process.env.FIELDCAL_METHOD_MODULES;
  else process.env.FIELDCAL_METHOD_MODULES = saved;
  rmSync(dir, { recursive: true, force: true });
});

describe('adding a method: one folder and one registry line', () => {
  it('is listed by jobs.methods with the problem kinds it accepts and its defaults', async () => {
    expect(Object.keys(METHODS)).not.toContain('midpoint');
    expect(methodNames('lumped')).toEqual(['sce-ua', 'gradient', 'bucket-nexus', 'midpoint']);
    expect(methodNames('gauges')).toEqual(['hda-pr', 'inverse-mapping']);
    const services = createServices({
      mode: 'server',
      version: '0',
      paths: { userData: dir, resources: dir, sampleData: dir },
    });
    const r = (await dispatch(services.impls, 'jobs', 'methods', {})) as {
      ok: true;
      value: Array<{ name: string; problems: string[]; defaults: Record<string, unknown> }>;
    };
    expect(r.ok).toBe(true);
    expect(r.value.map((m) => m.name)).toEqual([
      'sce-ua',
      'gradient',
      'ann',
      'dpl',
      'hda-pr',
      'gan-po',
      'kgssl',
      'bucket-nexus',
      'inverse-mapping',
      'midpoint',
    ]);
    expect(r.value.find((m) => m.name === 'midpoint')).toMatchObject({
      problems: ['lumped', 'gridded'],
      defaults: { fraction: 0.5 },
    });
    expect(r.value.find((m) => m.name === 'sce-ua')!.problems).toEqual(['lumped', 'gridded']);
    services.dispose();
  });

  it('runs as a job in a worker thread, with compute in its context, and writes its parameter GeoTIFFs', async () => {
    const store = ProjectStore.create({ path: join(dir, 'p.fieldcal') });
    const host = new JobHost(store);
    try {
      // refused options name the field, before anything is recorded
      expect(() =>
        host.submit({ kind: 'twin', method: 'midpoint', options: { fraction: 2 } }, { outDir: dir }),
      ).toThrow(/options\.fraction|fraction/);
      expect(store.runs.list()).toEqual([]);
      const run = host.submit(
        {
          kind: 'twin',
          method: 'midpoint',
          twin: {
            rows: 4,
            cols: 5,
            years: { warmup: 0, train: 1, valid: 1, test: 1 },
            calibrated: ['b', 'd2'],
          },
          threads: 1,
          options: { fraction: 0.25 },
        },
        { outDir: (id) => join(dir, `run-${id}`) },
      );
      expect((await host.wait(run.id)).status).toBe('succeeded');
      const info = host.result(run.id)!.info as { backend: string; values: number[] };
      expect(['cpu', 'cpu-native']).toContain(info.backend);
      const expected = ['b', 'd2'].map((n) => {
        const [lo, hi] = VIC3L.parameters.find((p) => p.name === n)!.bounds;
        return lo + 0.25 * (hi - lo);
      });
      const tif = store.runs.artifacts(run.id).find((a) => a.path.endsWith('d2.tif'))!;
      const raster = await GeoTiffRaster.open(tif.path);
      const values = await raster.readBandValues(0);
      await raster.close();
      // the twin's active cells carry the value, the others are nodata
      const active = Array.from(values).filter(Number.isFinite);
      expect(active.length).toBeGreaterThan(10);
      for (const v of active) expect(v).toBeCloseTo(expected[1]!, 5);
      expect(info.values[0]).toBeCloseTo(expected[0]!, 5);
      expect(store.runs.metrics(run.id).some((m) => m.period === 'test' && m.metric === 'spatialRmse')).toBe(
        true,
      );
    } finally {
      await host.close();
      store.close();
    }
  });

  it('is accepted by the CLI (a lumped basin CSV) where its module is loaded, and refused where it is not', () => {
    const cfg = join(dir, 'run.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        period: { warmupStart: '1989-01-01', start: '1990-01-01', end: '1990-12-31' },
        options: { fraction: 0.5 },
      }),
    );
    const args = ['calibrate', '--dataset', 'tests/fixtures/airgr-L0123001/L0123001_BasinObs.csv'];
    const r = runCli([...args, '--method', 'midpoint', '--config', cfg, '--json'], {
      FIELDCAL_METHOD_MODULES: MODULE,
    });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { parameters: Record<string, number> };
    ['X1', 'X2', 'X3', 'X4'].forEach((n, k) =>
      expect(out.parameters[n]).toBeCloseTo((LUMPED_BOUNDS.lower[k]! + LUMPED_BOUNDS.upper[k]!) / 2, 4),
    );
    const unknown = runCli([...args, '--method', 'midpoint', '--config', cfg], {
      FIELDCAL_METHOD_MODULES: '',
    });
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('method');
  });
});
