import { z } from 'zod';
import {
  appInfoSchema,
  artifactRecordSchema,
  calibrationMethodSchema,
  datasetRecordSchema,
  jobProgressSchema,
  layerRecordSchema,
  projectInfoSchema,
  runDetailSchema,
  runRecordSchema,
  RUN_STATUSES,
} from '../types/records';
import { jobSpecSchema } from '../types/jobs';
import {
  exportableFieldSchema,
  gaugeRecordSchema,
  geometrySchema,
  hydrographSchema,
  identifyResultSchema,
  layerStyleSchema,
  mapViewStateSchema,
  pointSchema,
  progressPointSchema,
  rasterSourceSchema,
  rasterViewSchema,
  seriesSchema,
  studyAreaRecordSchema,
} from '../types/gis';
import {
  assembleSpecSchema,
  datasetManifestSchema,
  lumpedAssembleSpecSchema,
  lumpedManifestSchema,
  sourceProbeSchema,
} from '../types/assemble';
import { sweepRecordSchema, sweepSpecSchema } from '../types/sweep';
import { dialogCapabilitiesSchema, openDialogInputSchema, openDialogResultSchema } from '../types/dialogs';

/** One method of a service: a strict schema for its single argument object and one for its result. */
export interface MethodSpec<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  readonly input: I;
  readonly output: O;
}

function method<I extends z.ZodType, O extends z.ZodType>(input: I, output: O): MethodSpec<I, O> {
  return { input, output };
}

/** Strict object: unknown keys are refused, so a renderer cannot smuggle fields past validation. */
const args = <S extends z.ZodRawShape>(shape: S) => z.strictObject(shape);
const noArgs = args({});
const id = z.number().int().positive();
/**
 * A file or folder path from the caller: absolute (POSIX `/…`, Windows `C:\…` or `\\server\share`; a relative
 * path would be resolved against main's working folder, which the user never chose) and without a NUL byte (file
 * APIs cut the name there, so the overwrite check and the open would see two different files).
 */
const filePath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => !p.includes('\u0000'), 'a path may not hold a NUL byte')
  .refine((p) => /^(\/|[A-Za-z]:[\\/]|\\\\)/.test(p), 'expected an absolute path');
/** `EPSG:n`; proj4 strings are accepted where files carry them, but the project names an EPSG code. */
const crsString = z.string().regex(/^EPSG:\d{4,6}$/, 'expected EPSG:<code>');

/**
 * The contract between the renderer and main: every service, method and payload schema.
 * The preload, the WebSocket client, the IPC handlers and the bridge are all derived from this object.
 */
export const contract = {
  appInfo: {
    get: method(noArgs, appInfoSchema),
  },
  project: {
    create: method(
      args({ path: filePath, name: z.string().min(1).max(200).optional(), crs: crsString.optional() }),
      projectInfoSchema,
    ),
    setCrs: method(args({ crs: crsString }), projectInfoSchema),
    open: method(args({ path: filePath }), projectInfoSchema),
    close: method(noArgs, z.object({ closed: z.boolean() })),
    current: method(noArgs, projectInfoSchema.nullable()),
    /** The map view saved with the project (null until one was saved). */
    getView: method(noArgs, mapViewStateSchema.nullable()),
    setView: method(args({ view: mapViewStateSchema }), mapViewStateSchema),
  },
  datasets: {
    list: method(noArgs, z.array(datasetRecordSchema)),
    import: method(
      args({
        path: filePath,
        name: z.string().min(1).max(200).optional(),
        kind: z.enum(['auto', 'raster', 'stack', 'netcdf', 'gauges']).optional(),
        variable: z.string().min(1).max(200).optional(),
      }),
      datasetRecordSchema,
    ),
    verify: method(
      args({ id }),
      z.object({ id: z.number().int(), status: z.enum(['ok', 'missing', 'changed']), detail: z.string() }),
    ),
    get: method(args({ id }), datasetRecordSchema),
    remove: method(args({ id }), z.object({ removed: z.boolean() })),
    /** Imports every static raster of a folder (e.g. descriptor/) as one dataset and layer each. */
    importFolder: method(
      args({ path: filePath, kind: z.enum(['auto', 'raster']).optional() }),
      z.array(datasetRecordSchema),
    ),
    layers: method(noArgs, z.array(layerRecordSchema)),
    setLayer: method(
      args({
        id,
        visible: z.boolean().optional(),
        opacity: z.number().min(0).max(1).optional(),
        name: z.string().min(1).max(200).optional(),
        style: layerStyleSchema.optional(),
      }),
      layerRecordSchema,
    ),
    /** Sets the drawing order: `ids` bottom to top, every layer of the project exactly once. */
    reorderLayers: method(args({ ids: z.array(id).max(10_000) }), z.array(layerRecordSchema)),
    /** Removes a layer from the map (its dataset stays in the project). */
    removeLayer: method(args({ id }), z.object({ removed: z.boolean() })),
    /** What a file or folder holds (format, NetCDF variables and dimension roles, grid, steps, CSV columns), headers only. */
    probe: method(args({ path: filePath }), sourceProbeSchema),
    /**
     * Builds a model dataset from named inputs (forcing, descriptors, flow directions, gauges, targets) on
     * one grid and step, saves it as a folder with a manifest, and records it (kind `model`). Every
     * mismatch is refused with the input named before anything is written.
     */
    assemble: method(
      args({ spec: assembleSpecSchema }),
      z.object({
        dataset: datasetRecordSchema,
        manifest: datasetManifestSchema,
        path: z.string(),
        warnings: z.array(z.string()),
      }),
    ),
    /**
     * Builds a lumped dataset from basin CSVs whose columns the user mapped (with units), in the form the
     * lumped and basins runs read, with a manifest of the mapping, and records it (kind `lumped`). Every
     * basin is checked first; a refusal names the file, the column and the row.
     */
    assembleLumped: method(
      args({ spec: lumpedAssembleSpecSchema }),
      z.object({
        dataset: datasetRecordSchema,
        manifest: lumpedManifestSchema,
        path: z.string(),
        warnings: z.array(z.string()),
      }),
    ),
  },
  rasters: {
    /** A CRS's proj4 definition (for the renderer to register in OpenLayers) and its units. */
    crs: method(
      args({ crs: z.string().min(1).max(4096) }),
      z.object({
        crs: z.string(),
        proj4: z.string(),
        name: z.string().nullable(),
        units: z.string().nullable(),
      }),
    ),
    /** A raster's values as Float32 (NaN = nodata), block-averaged so neither side exceeds `maxSize`. */
    read: method(
      args({ source: rasterSourceSchema, maxSize: z.number().int().min(16).max(8192).optional() }),
      rasterViewSchema,
    ),
    /** The file's value at a point in each source (the cell holding the point, full resolution). */
    identify: method(
      args({ point: pointSchema, sources: z.array(rasterSourceSchema).min(1).max(64) }),
      z.array(identifyResultSchema),
    ),
    /** The time series at a point of a stack, NetCDF variable or multi-band run output. */
    series: method(
      args({
        source: z.union([z.strictObject({ datasetId: id }), z.strictObject({ artifactId: id })]),
        point: pointSchema,
      }),
      seriesSchema,
    ),
  },
  gauges: {
    list: method(noArgs, z.array(gaugeRecordSchema)),
    /** Observed discharge, catchment rainfall and the simulation of each run that has one at this gauge. */
    hydrograph: method(args({ gaugeId: id, runIds: z.array(id).max(16).optional() }), hydrographSchema),
  },
  studyAreas: {
    list: method(noArgs, z.array(studyAreaRecordSchema)),
    /** Creates (no id) or replaces a drawn study area. */
    save: method(
      args({
        id: id.optional(),
        name: z.string().min(1).max(200),
        geometry: geometrySchema,
        crs: crsString.or(z.literal('EPSG:4326')),
      }),
      studyAreaRecordSchema,
    ),
    remove: method(args({ id }), z.object({ removed: z.boolean() })),
    /** Delineates the catchment above a gauge from the flow directions and saves it as a study area. */
    catchment: method(
      args({ gaugeId: id, name: z.string().min(1).max(200).optional() }),
      studyAreaRecordSchema,
    ),
  },
  jobs: {
    list: method(args({ status: z.enum(RUN_STATUSES).optional() }), z.array(runRecordSchema)),
    get: method(args({ id }), runDetailSchema),
    /** Queues a calibration job (validated in full before anything is recorded); outputs go next to the project. */
    submit: method(args({ spec: jobSpecSchema }), runRecordSchema),
    cancel: method(args({ id }), z.object({ cancelled: z.boolean() })),
    /** Resumes an interrupted run from its last checkpoint. */
    resume: method(args({ id }), runRecordSchema),
    /** The calibration methods a job may name, with their option defaults and schema per problem kind. */
    methods: method(noArgs, z.array(calibrationMethodSchema)),
    /** Everything that can be checked before a run (spec, options, data present, periods, study area), nothing recorded. */
    check: method(
      args({ spec: z.unknown() }),
      z.object({ issues: z.array(z.object({ path: z.string(), message: z.string() })) }),
    ),
    /** The run's recorded progress points (its loss curve). */
    history: method(args({ id }), z.array(progressPointSchema)),
    /**
     * Starts a sweep: the base spec expanded over the grid, seeds and datasets, every child checked
     * like jobs.submit before anything is recorded; a parent run with one child run each, on the local
     * host or a BullMQ queue (`spec.queue`). Answers the sweep as recorded (children queued).
     */
    sweep: method(args({ spec: sweepSpecSchema }), sweepRecordSchema),
    /** A sweep's table (one row per child, key metrics, time) and its winner by the selection rule. */
    sweepGet: method(args({ id }), sweepRecordSchema),
    /** Every sweep of the project, newest first. */
    sweeps: method(noArgs, z.array(sweepRecordSchema)),
  },
  export: {
    artifacts: method(args({ runId: id }), z.array(artifactRecordSchema)),
    copyArtifact: method(
      args({ id, destination: filePath, overwrite: z.boolean().optional() }),
      z.object({ path: z.string(), bytes: z.number().int() }),
    ),
    /** The fields a run can export (its parameter GeoTIFFs and simulated stacks). */
    fields: method(args({ runId: id }), z.array(exportableFieldSchema)),
    /** Writes the chosen fields into a folder, one GeoTIFF per field or one multi-band file, atomically. */
    writeFields: method(
      args({
        runId: id,
        artifactIds: z.array(id).min(1).max(256),
        folder: filePath,
        layout: z.enum(['per-field', 'multiband']),
        overwrite: z.boolean().optional(),
      }),
      z.object({ files: z.array(z.object({ path: z.string(), bytes: z.number().int() })) }),
    ),
  },
  /**
   * Native file dialogs: the desktop app answers from `dialog.showOpenDialog` (src-main/app/dialogs.ts); the
   * browser bridge and the CLI answer `open` with an `UNAVAILABLE` error and say so in `capabilities`.
   */
  dialogs: {
    capabilities: method(noArgs, dialogCapabilitiesSchema),
    open: method(openDialogInputSchema, openDialogResultSchema),
  },
} as const;

/** Events pushed from main to the renderer; names start with `on`. */
export const events = {
  project: {
    onChanged: z.object({ project: projectInfoSchema.nullable() }),
  },
  datasets: {
    /** Progress of `datasets.assemble`: the input being read and the fraction done. */
    onAssembleProgress: z.object({ name: z.string(), stage: z.string(), done: z.number().min(0).max(1) }),
  },
  jobs: {
    onProgress: jobProgressSchema,
    /** A run changed status (queued, running, succeeded, failed, cancelled). */
    onStatus: runRecordSchema,
  },
} as const;

export type Contract = typeof contract;
export type ServiceName = keyof Contract;
export type MethodName<S extends ServiceName> = keyof Contract[S] & string;
export type Events = typeof events;

type SpecOf<S extends ServiceName, M extends MethodName<S>> =
  Contract[S][M] extends MethodSpec<infer I, infer O> ? { input: I; output: O } : never;

/** Argument type of a method, as the caller writes it (optional fields may be left out). */
export type MethodInput<S extends ServiceName, M extends MethodName<S>> = z.input<SpecOf<S, M>['input']>;
/** Argument type after validation, as the implementation receives it. */
export type MethodArgs<S extends ServiceName, M extends MethodName<S>> = z.output<SpecOf<S, M>['input']>;
export type MethodOutput<S extends ServiceName, M extends MethodName<S>> = z.output<SpecOf<S, M>['output']>;

/** An event listener returns a function that unsubscribes it. */
export type Unsubscribe = () => void;
type EventsOf<S extends ServiceName> = S extends keyof Events
  ? { [E in keyof Events[S]]: (listener: (payload: z.output<Events[S][E]>) => void) => Unsubscribe }
  : unknown;

/** The client view of one service: what `window.api[service]` and the WebSocket client expose. */
export type ServiceClient<S extends ServiceName> = {
  [M in MethodName<S>]: (arg: MethodInput<S, M>) => Promise<MethodOutput<S, M>>;
} & EventsOf<S>;

/** The whole client API. */
export type FieldcalApi = { [S in ServiceName]: ServiceClient<S> };

/** The main-side implementation of one service: receives validated arguments. */
export type ServiceImpl<S extends ServiceName> = {
  [M in MethodName<S>]: (arg: MethodArgs<S, M>) => Promise<MethodOutput<S, M>> | MethodOutput<S, M>;
};
export type ServiceImpls = { [S in ServiceName]: ServiceImpl<S> };

/** Event name on the wire, e.g. `project.onChanged`. */
export type EventKey = {
  [S in keyof Events]: `${S & string}.${keyof Events[S] & string}`;
}[keyof Events];
export type EventPayload<K extends EventKey> = K extends `${infer S}.${infer E}`
  ? S extends keyof Events
    ? E extends keyof Events[S]
      ? z.output<Events[S][E]>
      : never
    : never
  : never;

/** Lists every (service, method) pair of the contract, for the preload, bridge and tests. */
export function contractMethods(): Array<{ service: ServiceName; method: string }> {
  const out: Array<{ service: ServiceName; method: string }> = [];
  for (const service of Object.keys(contract) as ServiceName[]) {
    for (const m of Object.keys(contract[service])) out.push({ service, method: m });
  }
  return out;
}

/** Lists every event of the contract as `service.onX`. */
export function contractEvents(): EventKey[] {
  const out: string[] = [];
  for (const s of Object.keys(events) as Array<keyof Events>) {
    for (const e of Object.keys(events[s])) out.push(`${s}.${e}`);
  }
  return out as EventKey[];
}

/** Electron IPC channel of a method. */
export const invokeChannel = (service: string, m: string): string => `fieldcal:${service}.${m}`;
/** Electron IPC channel of an event. */
export const eventChannel = (key: string): string => `fieldcal:event:${key}`;
