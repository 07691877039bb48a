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
  },
  datasets: {
    list: {},
    import: { path: '/tmp/prcp', name: 'prcp', kind: 'stack', variable: 'prcp' },
    verify: { id: 1 },
    get: { id: 1 },
    remove: { id: 1 },
    layers: {},
    setLayer: { id: 1, visible: true, opacity: 0.5 },
  },
  jobs: {
    list: { status: 'running' },
    get: { id: 1 },
    submit: { spec: { kind: 'twin', method: 'ann' } },
    cancel: { id: 1 },
    resume: { id: 1 },
    methods: {},
  },
  export: { artifacts: { runId: 1 }, copyArtifact: { id: 1, destination: '/tmp/out.tif', overwrite: false } },
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
      for (const v of invalidVariants(valid)) calls.push({ service, method, ...v });
      const shape = (
        contract as unknown as Record<
          string,
          Record<
            string,
            { input: { shape: Record<string, { safeParse(v: unknown): { success: boolean } }> } }
          >
        >
      )[service]![method]!.input.shape;
      for (const key of Object.keys(shape)) {
        if (shape[key]!.safeParse(undefined).success) continue;
        const { [key]: _dropped, ...rest } = valid;
        calls.push({ service, method, label: `missing field ${key}`, payload: rest });
      }
    }
  }
  return calls;
}
