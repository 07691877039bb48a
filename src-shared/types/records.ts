import { z } from 'zod';

/** Run lifecycle. `interrupted` marks runs found `running` when a project is reopened after a crash. */
export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const projectCountsSchema = z.object({
  datasets: z.number().int(),
  layers: z.number().int(),
  gauges: z.number().int(),
  studyAreas: z.number().int(),
  runs: z.number().int(),
});

/** What the UI shows about the open project. */
export const projectInfoSchema = z.object({
  path: z.string(),
  name: z.string(),
  schemaVersion: z.number().int(),
  createdAt: z.string(),
  /** CRS used for files that carry none (and for new grids), e.g. `EPSG:2154`. */
  crs: z.string().nullable(),
  counts: projectCountsSchema,
});
export type ProjectInfo = z.infer<typeof projectInfoSchema>;

/** A dataset recorded in the project: a raster, stack, gauge set or vector imported from a local file. */
export const datasetRecordSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  /** `model`: a dataset assembled for the models (`datasets.assemble`), a folder with `fieldcal-dataset.json`. */
  kind: z.enum(['raster', 'stack', 'netcdf', 'gauges', 'vector', 'lumped', 'model']),
  sourcePath: z.string(),
  crs: z.string().nullable(),
  grid: z.record(z.string(), z.unknown()).nullable(),
  timeStart: z.string().nullable(),
  timeEnd: z.string().nullable(),
  steps: z.number().int().nullable(),
  sizeBytes: z.number().int().nullable(),
  checksum: z.string().nullable(),
  createdAt: z.string(),
  /** Whether the source is still where it was and the same size (`checked` adds the checksum). */
  status: z.enum(['ok', 'missing', 'changed']),
});
export type DatasetRecord = z.infer<typeof datasetRecordSchema>;

/** A map layer: one displayed view of a dataset. */
export const layerRecordSchema = z.object({
  id: z.number().int(),
  datasetId: z.number().int(),
  name: z.string(),
  visible: z.boolean(),
  opacity: z.number(),
  zOrder: z.number().int(),
  style: z.record(z.string(), z.unknown()),
});
export type LayerRecord = z.infer<typeof layerRecordSchema>;

export const runRecordSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  method: z.string(),
  options: z.record(z.string(), z.unknown()),
  status: z.enum(RUN_STATUSES),
  seed: z.number().int(),
  studyAreaId: z.number().int().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  error: z.string().nullable(),
});
export type RunRecord = z.infer<typeof runRecordSchema>;

export const runMetricSchema = z.object({
  period: z.string(),
  target: z.string(),
  metric: z.string(),
  value: z.number().nullable(),
});
export type RunMetric = z.infer<typeof runMetricSchema>;

export const artifactRecordSchema = z.object({
  id: z.number().int(),
  runId: z.number().int(),
  kind: z.string(),
  path: z.string(),
  sizeBytes: z.number().int().nullable(),
  checksum: z.string().nullable(),
  createdAt: z.string(),
});
export type ArtifactRecord = z.infer<typeof artifactRecordSchema>;

export const runDetailSchema = runRecordSchema.extend({
  metrics: z.array(runMetricSchema),
  artifacts: z.array(artifactRecordSchema),
  /** A lumped run's calibrated parameters (scalars, from its result.json); absent for field runs. */
  parameters: z.record(z.string(), z.number()).optional(),
  /** A basins (KGSSL) run's results per basin, from its result.json (issue 20); absent for other runs. */
  basins: z
    .object({
      codes: z.array(z.string()),
      /** Test-period reconstruction NSE per basin (null where not computable). */
      testNse: z.array(z.number().nullable()),
      /** Attribute names; observed and leave-basins-out imputed values [basin][attribute]. */
      attributes: z.array(z.string()),
      observed: z.array(z.array(z.number().nullable())),
      imputed: z.array(z.array(z.number().nullable())),
      /** Leave-basins-out correlation per attribute (null with fewer than 3 pairs). */
      correlation: z.array(z.number().nullable()),
      /** Distance matrices in embedding and attribute space, and their correlation. */
      distances: z.object({
        embedding: z.array(z.array(z.number().nullable())),
        attributes: z.array(z.array(z.number().nullable())),
        correlation: z.number().nullable(),
      }),
      /** The embeddings [basin][zDim]. */
      embeddings: z.array(z.array(z.number().nullable())),
      /** Median test NSE of the GR4J transfer rules (own, embedding, attributes, regionalMean), when run. */
      transfer: z.record(z.string(), z.number().nullable()).optional(),
    })
    .optional(),
});
export type RunDetail = z.infer<typeof runDetailSchema>;

/** A gridded calibration method a job may name (calibration/registry.ts). */
export const calibrationMethodSchema = z.object({
  name: z.string(),
  description: z.string(),
  /** Whether it checkpoints, so an interrupted run can resume. */
  resumable: z.boolean(),
  /** The problem kinds it accepts: a lumped series, gauge discharge on a grid, a gridded field target. */
  problems: z.array(z.enum(['lumped', 'gauges', 'gridded', 'basins'])),
  /** Its options for a gridded job, with their defaults (the first kind it accepts when not gridded). */
  defaults: z.record(z.string(), z.unknown()),
  /** Per problem kind it accepts: the option defaults and their JSON Schema (zod's toJSONSchema), for the form. */
  options: z.partialRecord(
    z.enum(['lumped', 'gauges', 'gridded', 'basins']),
    z.object({ defaults: z.record(z.string(), z.unknown()), schema: z.record(z.string(), z.unknown()) }),
  ),
});
export type CalibrationMethod = z.infer<typeof calibrationMethodSchema>;

/** Progress of a job, streamed as the `jobs.onProgress` event. */
export const jobProgressSchema = z.object({
  runId: z.number().int(),
  phase: z.string(),
  iteration: z.number().int(),
  total: z.number().int().nullable(),
  objective: z.number().nullable(),
  losses: z.record(z.string(), z.number()),
  etaSeconds: z.number().nullable(),
  message: z.string().nullable(),
});
export type JobProgress = z.infer<typeof jobProgressSchema>;

/** Versions, compute backend and paths: what `fieldcal info` prints and the status bar shows. */
export const appInfoSchema = z.object({
  name: z.string(),
  version: z.string(),
  mode: z.enum(['electron', 'server', 'cli']),
  versions: z.object({
    node: z.string(),
    electron: z.string().nullable(),
    electronPackage: z.string().nullable(),
    tfjs: z.string(),
    sqlite: z.string(),
  }),
  compute: z.object({
    backend: z.string(),
    threads: z.number().int(),
    tried: z.array(z.object({ backend: z.string(), ok: z.boolean(), reason: z.string().nullable() })),
  }),
  project: z.object({ schemaVersion: z.number().int(), path: z.string().nullable() }),
  paths: z.object({ userData: z.string(), sampleData: z.string(), resources: z.string() }),
});
export type AppInfo = z.infer<typeof appInfoSchema>;
