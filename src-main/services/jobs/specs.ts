import { z } from 'zod';
import { FieldcalError } from '../../../src-shared/ipc';
import { griddedOptions, GRIDDED_METHOD_NAMES, type GriddedMethod } from '../calibration/registry';
import { VIC3L, VIC3L_PARAMS } from '../physics/vic3l';
import { issuePath } from '../calibration/gridded/options';

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD');
const method = z.enum(GRIDDED_METHOD_NAMES as [GriddedMethod, ...GriddedMethod[]]);
const calibrated = z
  .array(z.enum(VIC3L_PARAMS))
  .min(1)
  .default([...VIC3L_PARAMS]);
/** Search bounds overriding vic3l's (inside them). */
const bounds = z
  .partialRecord(z.enum(VIC3L_PARAMS), z.strictObject({ lower: z.number(), upper: z.number() }))
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
  method,
  options: z.record(z.string(), z.unknown()).default({}),
  seed: z.number().int().default(1),
  /** Model threads (0: one per core). */
  threads: z.number().int().min(0).max(256).default(0),
};

/**
 * A twin-experiment job: build the identical-twin case (twin/generate.ts) on the synthetic grid
 * and weather, or on a real dataset's grid, forcing and descriptors, and calibrate it with one
 * gridded method.
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

/** A gridded calibration against a dataset's observed ET stack (et/). */
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

/** Every job kind; strict at every level, defaults filled and stored with the run. */
export const jobSchema = z.discriminatedUnion('kind', [twinJob, griddedJob]).superRefine((s, ctx) => {
  const b = s.kind === 'twin' ? s.twin.bounds : s.bounds;
  const at = s.kind === 'twin' ? ['twin', 'bounds'] : ['bounds'];
  for (const [name, v] of Object.entries(b)) {
    const [lo, hi] = VIC3L.parameters.find((p) => p.name === name)!.bounds;
    if (!(v.upper > v.lower))
      ctx.addIssue({
        code: 'custom',
        path: [...at, name],
        message: `bounds reversed or empty (${v.lower} .. ${v.upper})`,
      });
    else if (v.lower < lo || v.upper > hi)
      ctx.addIssue({
        code: 'custom',
        path: [...at, name],
        message: `bounds ${v.lower} .. ${v.upper} leave vic3l's valid range ${lo} .. ${hi}`,
      });
  }
  if (s.dataset && s.dataset.start > s.dataset.end)
    ctx.addIssue({ code: 'custom', path: ['dataset', 'end'], message: 'end is before start' });
  try {
    s.options = griddedOptions(s.method, s.options);
  } catch (e) {
    const field = ((e as FieldcalError).details?.field as string | undefined) ?? 'options';
    ctx.addIssue({ code: 'custom', path: field.split('.'), message: (e as Error).message });
  }
});
export type JobSpec = z.output<typeof jobSchema>;
export type TwinJobSpec = Extract<JobSpec, { kind: 'twin' }>;

/** Validates a job spec before anything starts: typed errors name every offending field. */
export function parseJobSpec(input: unknown, source = 'job'): JobSpec {
  const r = jobSchema.safeParse(input);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => ({ path: issuePath(i), message: i.message }));
  throw new FieldcalError(
    'VALIDATION',
    `${source}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    {
      issues,
      field: issues[0]!.path,
    },
  );
}
