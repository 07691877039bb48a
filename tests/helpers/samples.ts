import { contract, type MethodInput, type ServiceName, type MethodName } from '../../src-shared/ipc';

/**
 * One valid argument per contract method. Typed against the contract, so adding a method without a
 * sample here fails the typecheck, and every method is covered by the validation tests.
 */
export const validArgs: { [S in ServiceName]: { [M in MethodName<S>]: MethodInput<S, M> } } = {
  appInfo: { get: {} },
  project: {
    create: { path: '/tmp/x.fieldcal', name: 'x', crs: 'EPSG:2154' },
    setCrs: { crs: 'EPSG:2154' },
    open: { path: '/tmp/x.fieldcal' },
    close: {},
    current: {},
    getView: {},
    setView: { view: { projection: 'project', center: [3.85, 43.65], zoom: 9 } },
  },
  datasets: {
    list: {},
    import: { path: '/tmp/prcp', name: 'prcp', kind: 'stack', variable: 'prcp' },
    verify: { id: 1 },
    get: { id: 1 },
    remove: { id: 1 },
    layers: {},
    setLayer: {
      id: 1,
      visible: true,
      opacity: 0.5,
      name: 'slope',
      style: { colormap: 'viridis', range: 'percentile' },
    },
    importFolder: { path: '/tmp/descriptor', kind: 'raster' },
    reorderLayers: { ids: [2, 1] },
    removeLayer: { id: 1 },
    probe: { path: '/tmp/prcp.nc' },
    assemble: {
      spec: {
        name: 'lez',
        start: '2012-08-01',
        end: '2012-08-31',
        forcing: [
          { variable: 'prcp', source: { format: 'folder', path: '/tmp/prcp' } },
          {
            variable: 'pet',
            source: { format: 'netcdf', path: '/tmp/pet.nc', variable: 'pet' },
            units: 'mm/day',
          },
        ],
        flowdir: { path: '/tmp/flowdir.asc' },
        gauges: { format: 'smash', path: '/tmp/lez' },
      },
    },
    assembleLumped: {
      spec: {
        kind: 'lumped',
        name: 'basins',
        basins: [{ path: '/tmp/basin.csv', columns: { date: 'Date', P: 'Ptot', PET: 'Evap', Q: 'Qmmd' } }],
      },
    },
  },
  jobs: {
    list: { status: 'running' },
    get: { id: 1 },
    submit: { spec: { kind: 'twin', method: 'ann' } },
    cancel: { id: 1 },
    resume: { id: 1 },
    methods: {},
    check: { spec: { kind: 'twin', method: 'ann' } },
    history: { id: 1 },
    sweep: {
      spec: {
        name: 'lambda',
        base: { kind: 'twin', method: 'gan-po' },
        grid: { 'options.lambdaL': [1, 10], 'options.lambdaR': [0.1] },
        seeds: [1, 2],
      },
    },
    sweepGet: { id: 1 },
    sweeps: {},
  },
  export: {
    artifacts: { runId: 1 },
    copyArtifact: { id: 1, destination: '/tmp/out.tif', overwrite: false },
    fields: { runId: 1 },
    writeFields: { runId: 1, artifactIds: [1, 2], folder: '/tmp/out', layout: 'multiband', overwrite: false },
  },
  gauges: { list: {}, hydrograph: { gaugeId: 1, runIds: [1] } },
  studyAreas: {
    list: {},
    save: {
      name: 'area',
      geometry: {
        type: 'Polygon',
        coordinates: [
          [
            [0, 0],
            [1, 0],
            [1, 1],
            [0, 0],
          ],
        ],
      },
      crs: 'EPSG:4326',
    },
    remove: { id: 1 },
    catchment: { gaugeId: 1, name: 'Lez' },
  },
  rasters: {
    crs: { crs: 'EPSG:2154' },
    read: { source: { datasetId: 1, step: 0 }, maxSize: 512 },
    identify: { point: { x: 768500, y: 6290500, crs: 'EPSG:2154' }, sources: [{ artifactId: 1, band: 1 }] },
    series: { source: { datasetId: 1 }, point: { x: 768500, y: 6290500, crs: 'EPSG:2154' } },
  },
  dialogs: {
    capabilities: {},
    open: {
      title: 'Import',
      kind: 'file',
      filters: [{ name: 'Rasters', extensions: ['tif'] }],
      multi: false,
    },
  },
};

/** Payload variants that each method must refuse with VALIDATION. */
export function invalidVariants(valid: Record<string, unknown>): Array<{ label: string; payload: unknown }> {
  const out: Array<{ label: string; payload: unknown }> = [
    { label: 'extra field', payload: { ...valid, unexpected: 1 } },
    { label: 'argument of wrong type (string)', payload: 'not an object' },
    { label: 'argument of wrong type (array)', payload: [valid] },
  ];
  for (const [key, value] of Object.entries(valid)) {
    const wrong =
      typeof value === 'string'
        ? 42
        : typeof value === 'number'
          ? 'seven'
          : typeof value === 'boolean'
            ? 'yes'
            : 1;
    out.push({ label: `field ${key} of wrong type`, payload: { ...valid, [key]: wrong } });
  }
  return out;
}

/** Every (service, method, invalid payload) triple, missing required fields included. */
export function allInvalidCalls(): Array<{
  service: string;
  method: string;
  label: string;
  payload: unknown;
}> {
  const calls: Array<{ service: string; method: string; label: string; payload: unknown }> = [];
  for (const [service, methods] of Object.entries(validArgs)) {
    for (const [method, valid] of Object.entries(methods as Record<string, Record<string, unknown>>)) {
      const shape = (
        contract as unknown as Record<
          string,
          Record<
            string,
            { input: { shape: Record<string, { safeParse(v: unknown): { success: boolean } }> } }
          >
        >
      )[service]![method]!.input.shape;
      // a field that takes anything (jobs.check's spec, answered with issues) has no wrong type
      for (const v of invalidVariants(valid)) {
        const field = /^field (\w+) of wrong type$/.exec(v.label)?.[1];
        const wrong = field ? (v.payload as Record<string, unknown>)[field] : undefined;
        if (field && shape[field]?.safeParse(wrong).success) continue;
        calls.push({ service, method, ...v });
      }
      for (const key of Object.keys(shape)) {
        if (shape[key]!.safeParse(undefined).success) continue;
        const { [key]: _dropped, ...rest } = valid;
        calls.push({ service, method, label: `missing field ${key}`, payload: rest });
      }
    }
  }
  return calls;
}
