import { z } from 'zod';

/** vic3l's parameters in the model's order (physics/vic3l's VIC3L table names them with units, bounds and sources). */
export const VIC3L_PARAMETER_NAMES = ['b', 'Ds', 'Dsmax', 'Ws', 'd2', 'd3', 'expt'] as const;
export type Vic3lParameterName = (typeof VIC3L_PARAMETER_NAMES)[number];

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD');
const calibrated = z
  .array(z.enum(VIC3L_PARAMETER_NAMES))
  .min(1)
  .default([...VIC3L_PARAMETER_NAMES]);
/** Search bounds overriding vic3l's (main checks they stay inside vic3l's valid ranges). */
const bounds = z
  .partialRecord(z.enum(VIC3L_PARAMETER_NAMES), z.strictObject({ lower: z.number(), upper: z.number() }))
  .default({});
/** A smash-layout folder (prcp/, pet/, optional temp/ and et/, descriptor/, gauges, flow directions) over a period. */
const dataset = z.strictObject({
  path: z.string().min(1),
  start: isoDate,
  end: isoDate,
  crs: z.string().min(1).optional(),
  flowdir: z.string().min(1).optional(),
});
/** A drawn study area: GeoJSON (Polygon, MultiPolygon, Feature or FeatureCollection) and its CRS; cells whose centre lies inside are calibrated. */
const studyArea = z.strictObject({
  geometry: z.looseObject({ type: z.string() }),
  crs: z.string().min(1).default('EPSG:4326'),
});
/** Steps of warm-up, training, validation and test from the first step (default 25/35/20/20 % of the data). */
const split = z.strictObject({
  warmup: z.number().int().min(0),
  train: z.number().int().min(1),
  valid: z.number().int().min(0),
  test: z.number().int().min(1),
});
/** The observed field: ET (et/ stack, mm/step) or top-layer soil moisture (sm/ stack, m³/m³). */
const target = z.enum(['ET', 'SM']).default('ET');
const common = {
  /** A registry key of main's calibration methods that accepts gridded problems (checked in main). */
  method: z.string().min(1),
  /** The method's options (checked in main against the method's strict schema, defaults filled). */
  options: z.record(z.string(), z.unknown()).default({}),
  seed: z.number().int().default(1),
  /** Model threads (0: one per core). */
  threads: z.number().int().min(0).max(256).default(0),
};

/**
 * A twin-experiment job: the identical-twin case on the synthetic grid and weather, or on a real
 * dataset's grid, forcing and descriptors, calibrated with one gridded method.
 */
const twinJob = z.strictObject({
  kind: z.literal('twin'),
  ...common,
  twin: z
    .strictObject({
      rows: z.number().int().min(4).max(1000).default(17),
      cols: z.number().int().min(4).max(1000).default(24),
      seed: z.number().int().default(1),
      years: z
        .strictObject({
          warmup: z.number().int().min(0).max(50).default(1),
          train: z.number().int().min(1).max(50).default(2),
          valid: z.number().int().min(1).max(50).default(2),
          test: z.number().int().min(1).max(50).default(1),
        })
        .prefault({}),
      noise: z.number().min(0).max(1).default(0.05),
      latitude: z.number().min(-66).max(66).default(33),
      calibrated,
      bounds,
      target,
    })
    .prefault({}),
  dataset: dataset.optional(),
  split: split.optional(),
  studyArea: studyArea.optional(),
});

/** A gridded calibration against a dataset's observed ET (et/) or SM (sm/) stack. */
const griddedJob = z.strictObject({
  kind: z.literal('gridded'),
  ...common,
  dataset,
  split: split.optional(),
  studyArea: studyArea.optional(),
  /** The model structure of gridded jobs (the one with a gridded ET / SM target). */
  structure: z.literal('vic3l').default('vic3l'),
  calibrated,
  bounds,
  target,
});

/**
 * A calibration job as it crosses IPC (jobs.submit) and is stored with its run: strict at every
 * level, defaults filled. Main checks what this layer cannot know (the method and its options,
 * bounds inside vic3l's ranges) and passes the parsed spec on unchanged.
 */
export const jobSpecSchema = z.discriminatedUnion('kind', [twinJob, griddedJob]).superRefine((s, ctx) => {
  const b = s.kind === 'twin' ? s.twin.bounds : s.bounds;
  const at = s.kind === 'twin' ? ['twin', 'bounds'] : ['bounds'];
  for (const [name, v] of Object.entries(b))
    if (!(v.upper > v.lower))
      ctx.addIssue({
        code: 'custom',
        path: [...at, name],
        message: `bounds reversed or empty (${v.lower} .. ${v.upper})`,
      });
  if (s.dataset && s.dataset.start > s.dataset.end)
    ctx.addIssue({ code: 'custom', path: ['dataset', 'end'], message: 'end is before start' });
});
/** A job spec as written by a caller (defaults optional). */
export type JobSpecInput = z.input<typeof jobSpecSchema>;
/** A parsed job spec: defaults filled. */
export type JobSpec = z.output<typeof jobSpecSchema>;
export type TwinJobSpec = Extract<JobSpec, { kind: 'twin' }>;
export type GriddedJobSpec = Extract<JobSpec, { kind: 'gridded' }>;
