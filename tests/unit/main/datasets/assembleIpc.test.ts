import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createServices, type ServiceContainer } from '../../../../src-main/services';
import { dispatch } from '../../../../src-main/ipc/dispatch';
import { tempDir } from '../../../helpers/tmp';

const LEZ = resolve('resources/sample-data/lez');
let tmp: ReturnType<typeof tempDir>;
let c: ServiceContainer;
beforeAll(() => {
  tmp = tempDir();
  c = createServices({
    mode: 'server',
    version: 't',
    paths: { userData: tmp.dir, resources: tmp.dir, sampleData: tmp.dir },
  });
});
afterAll(() => {
  c.dispose();
  tmp.cleanup();
});

describe('datasets.probe and datasets.assemble over IPC (contract-validated)', () => {
  it('probes a dated folder, a GeoTIFF and a CSV', async () => {
    const folder = await dispatch(c.impls, 'datasets', 'probe', { path: join(LEZ, 'prcp') });
    expect(folder).toMatchObject({
      ok: true,
      value: {
        format: 'folder',
        layout: 'dated',
        step: 'daily',
        crs: null,
        first: '2012-08-01T00:00:00.000Z',
      },
    });
    const tif = await dispatch(c.impls, 'datasets', 'probe', { path: join(LEZ, 'France_flwdir.tif') });
    expect(tif).toMatchObject({ ok: true, value: { format: 'geotiff', crs: 'EPSG:2154' } });
    const csv = await dispatch(c.impls, 'datasets', 'probe', { path: join(LEZ, 'gauge_attributes.csv') });
    expect(csv).toMatchObject({ ok: true, value: { format: 'csv', columns: ['code', 'x', 'y', 'area'] } });
  });

  it('assembles beside the project, records a model dataset and emits progress', async () => {
    const project = join(tmp.dir, 'lez.fieldcal');
    expect(await dispatch(c.impls, 'project', 'create', { path: project, name: 'lez' })).toMatchObject({
      ok: true,
    });
    const progress: unknown[] = [];
    const off = c.events.onAny((k, p) => k === 'datasets.onAssembleProgress' && progress.push(p));
    const r = await dispatch(c.impls, 'datasets', 'assemble', {
      spec: {
        name: 'lez-aug',
        start: '2012-08-01',
        end: '2012-08-05',
        crs: 'EPSG:2154',
        forcing: [
          { variable: 'prcp', source: { format: 'folder', path: join(LEZ, 'prcp') } },
          { variable: 'pet', source: { format: 'folder', path: join(LEZ, 'pet') } },
        ],
        descriptors: [{ name: 'slope', path: join(LEZ, 'descriptor', 'slope.tif') }],
        flowdir: { path: join(LEZ, 'France_flwdir.tif') },
        gauges: { format: 'smash', path: LEZ },
      },
    });
    off();
    expect(r.ok, JSON.stringify(r)).toBe(true);
    const v = (r as { value: { path: string; dataset: { kind: string; steps: number } } }).value;
    expect(v.path).toBe(join(tmp.dir, 'lez-datasets', 'lez-aug'));
    expect(v.dataset).toMatchObject({ kind: 'model', steps: 5 });
    expect(existsSync(join(v.path, 'fieldcal-dataset.json'))).toBe(true);
    expect(progress.at(-1)).toEqual({ name: 'lez-aug', stage: 'done', done: 1 });
    // its parts are on the map like any import, and its gauges in the list
    const layers = (await dispatch(c.impls, 'datasets', 'layers', {})) as { value: Array<{ name: string }> };
    expect(layers.value.map((l) => l.name).sort()).toEqual([
      'lez-aug · pet',
      'lez-aug · prcp',
      'lez-aug · slope',
    ]);
    const gauges = (await dispatch(c.impls, 'gauges', 'list', {})) as { value: Array<{ code: string }> };
    expect(gauges.value.map((g) => g.code).sort()).toEqual(['Y3204010', 'Y3204030', 'Y3204040']);
    const prcp = (await dispatch(c.impls, 'datasets', 'list', {})) as {
      value: Array<{ id: number; name: string; kind: string; steps: number | null }>;
    };
    const stack = prcp.value.find((d) => d.name === 'lez-aug · prcp')!;
    expect(stack).toMatchObject({ kind: 'stack', steps: 5 });
    // the drawn values are the assembled file's: step 0 of the stack read through the map's path
    const view = (await dispatch(c.impls, 'rasters', 'read', {
      source: { datasetId: stack.id, step: 0 },
    })) as {
      ok: boolean;
      value: { data: Float32Array };
    };
    expect(view.ok).toBe(true);
    expect(view.value.data.some((x) => Number.isFinite(x))).toBe(true);
    // a refusal comes back typed, naming the input
    const bad = await dispatch(c.impls, 'datasets', 'assemble', {
      spec: {
        name: 'lez-aug',
        start: '2012-08-01',
        end: '2012-08-05',
        crs: 'EPSG:2154',
        forcing: [
          { variable: 'prcp', source: { format: 'folder', path: join(LEZ, 'prcp') } },
          { variable: 'pet', source: { format: 'folder', path: join(LEZ, 'pet') } },
        ],
        flowdir: { path: join(LEZ, 'France_flwdir.tif') },
        gauges: { format: 'smash', path: LEZ },
      },
    });
    expect(bad).toMatchObject({ ok: false, error: { code: 'CONFLICT', details: { field: 'out' } } });
  }, 60_000);

  it('assembles a lumped basin CSV beside the project, records it (kind lumped), and a lumped job names it', async () => {
    const project = join(tmp.dir, 'ire.fieldcal');
    expect(await dispatch(c.impls, 'project', 'create', { path: project, name: 'ire' })).toMatchObject({
      ok: true,
    });
    const csv = resolve('tests/fixtures/camels-fr/V123521001.csv');
    const r = await dispatch(c.impls, 'datasets', 'assembleLumped', {
      spec: {
        kind: 'lumped',
        name: 'ire',
        basins: [{ path: csv, columns: { date: 'Date', P: 'Ptot', PET: 'Evap', Q: 'Qmmd', T: 'Temp' } }],
      },
    });
    expect(r.ok, JSON.stringify(r)).toBe(true);
    const v = (
      r as {
        value: {
          path: string;
          dataset: { kind: string; steps: number; timeStart: string };
          manifest: { basins: Array<{ code: string; rows: number }> };
        };
      }
    ).value;
    expect(v.path).toBe(join(tmp.dir, 'ire-datasets', 'ire'));
    expect(v.dataset).toMatchObject({ kind: 'lumped', steps: 7305, timeStart: '1999-01-01T00:00:00.000Z' });
    expect(v.manifest.basins).toMatchObject([{ code: 'V123521001', rows: 7305 }]);
    // a lumped job on the dataset's folder, with no column mapping, passes every check before a run
    const check = await dispatch(c.impls, 'jobs', 'check', {
      spec: {
        kind: 'lumped',
        method: 'sce-ua',
        dataset: { path: v.path },
        period: { warmupStart: '2000-01-01', start: '2001-01-01', end: '2003-12-31' },
      },
    });
    expect(check).toEqual({ ok: true, value: { issues: [] } });
    // a folder that is not a lumped dataset is refused with the reason
    const notLumped = await dispatch(c.impls, 'jobs', 'check', {
      spec: {
        kind: 'lumped',
        method: 'sce-ua',
        dataset: { path: resolve('resources/sample-data/lez') },
        period: { start: '2001-01-01', end: '2003-12-31' },
      },
    });
    expect(notLumped).toMatchObject({
      ok: true,
      value: {
        issues: [
          { path: 'dataset.path', message: expect.stringMatching(/is a folder but not a lumped dataset/) },
        ],
      },
    });
    // a column mapping that is not the file's is refused, naming the mapping
    const bad = await dispatch(c.impls, 'datasets', 'assembleLumped', {
      spec: {
        kind: 'lumped',
        name: 'ire2',
        basins: [{ path: csv, columns: { date: 'Date', P: 'Ptot', PET: 'Evap', Q: 'Qmm' } }],
      },
    });
    expect(bad).toMatchObject({
      ok: false,
      error: {
        code: 'VALIDATION',
        details: { field: 'basins[0].columns.Q', file: csv, column: 'Qmm', row: 1 },
      },
    });
  }, 60_000);
});
