import { z } from 'zod';
import { lumpedColumnsSchema } from './assemble';

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
/** File APIs cut a name at a NUL byte: a path holding one names another file than it shows. */
const noNul = (p: string) => !p.includes('\u0000');
/** A smash-layout folder (prcp/, pet/, optional temp/ and et/, descriptor/, gauges, flow directions) over a period. */
const dataset = z.strictObject({
  path: z.string().min(1).refine(noNul, 'a path may not hold a NUL byte'),
  start: isoDate,
  end: isoDate,
  crs: z.string().min(1).optional(),
  flowdir: z.string().min(1).refine(noNul, 'a path may not hold a NUL byte').optional(),
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
/** Names of a run's periods: warm-up (run, not scored), training, validation (selection) and test. */
export const PERIOD_NAMES = ['warmup', 'train', 'valid', 'test'] as const;
export type NamedPeriodName = (typeof PERIOD_NAMES)[number];

/** Whether a YYYY-MM-DD string is a day of the (proleptic Gregorian) calendar: 2013-02-30 is not. */
export function isCalendarDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === s;
}

/** One named date range of a run; `end` is inclusive. */
const namedPeriod = z.strictObject({
  name: z.enum(PERIOD_NAMES),
  start: isoDate.refine(isCalendarDate, 'not a calendar date'),
  end: isoDate.refine(isCalendarDate, 'not a calendar date'),
});
export type NamedPeriod = z.output<typeof namedPeriod>;
/**
 * The periods of a run as named date ranges (instead of `split` or `twin.years`): each name at most
 * once, train and test required, in any order and with gaps between them (the model always runs
 * continuously from the first step of the data; a period later in time than another is fine).
 */
const periods = z.array(namedPeriod).min(1).max(PERIOD_NAMES.length);

/**
 * What is wrong with named periods regardless of the data (main adds what needs the step dates:
 * outside the data, no steps): end before start, a name given twice, overlapping ranges, train or
 * test missing. Paths are relative to the periods list (`[1, 'end']`).
 */
export function periodIssues(
  list: readonly NamedPeriod[],
): Array<{ path: Array<string | number>; message: string }> {
  const issues: Array<{ path: Array<string | number>; message: string }> = [];
  list.forEach((p, i) => {
    if (p.end < p.start)
      issues.push({ path: [i, 'end'], message: `end ${p.end} is before start ${p.start}` });
    if (list.findIndex((q) => q.name === p.name) < i)
      issues.push({ path: [i, 'name'], message: `period ${p.name} is given twice` });
    for (const q of list.slice(0, i))
      if (q.end >= q.start && p.end >= p.start && p.start <= q.end && q.start <= p.end)
        issues.push({
          path: [i, p.start >= q.start ? 'start' : 'end'],
          message: `${p.name} (${p.start} .. ${p.end}) overlaps ${q.name} (${q.start} .. ${q.end})`,
        });
  });
  for (const need of ['train', 'test'] as const)
    if (!list.some((p) => p.name === need))
      issues.push({ path: [], message: `a ${need} period is required` });
  return issues;
}

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
      /**
       * 'basin': an ellipse-shaped basin with terrain, soil and vegetation descriptors and periods
       * of whole 365-day years (`years`); 'paper': the GAN-PO paper's rectangle (all cells active),
       * its six soil descriptors and periods (2008 warm-up, train 2009-2010, test 2011, valid
       * 2013-2014) on real dates.
       */
      layout: z.enum(['basin', 'paper']).default('basin'),
      /** Whole years of each period, in this order from the first step (basin layout without `periods`). */
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
  /** Named date ranges (instead of `split` or `twin.years`); a synthetic twin's data span them. */
  periods: periods.optional(),
  studyArea: studyArea.optional(),
});

/** A gridded calibration against a dataset's observed ET (et/) or SM (sm/) stack. */
const griddedJob = z.strictObject({
  kind: z.literal('gridded'),
  ...common,
  dataset,
  split: split.optional(),
  /** Named date ranges inside the dataset's start .. end (instead of `split`). */
  periods: periods.optional(),
  studyArea: studyArea.optional(),
  /** The model structure of gridded jobs (the one with a gridded ET / SM target). */
  structure: z.literal('vic3l').default('vic3l'),
  calibrated,
  bounds,
  target,
});

/**
 * Discharge at gauges on a grid (a smash-layout folder with qobs/, gauge_attributes.csv and flow
 * directions): GR4J + lr per cell, learned by a method that accepts gauge problems (HDA-PR).
 */
const gaugesJob = z.strictObject({
  kind: z.literal('gauges'),
  ...common,
  dataset,
  /** Named date ranges inside the dataset's start .. end: warmup (run, not scored), train (calibration), valid, test. */
  periods: periods.optional(),
  /** Steps at the start left out of the objective and scores when `periods` is not given (the model spins up). */
  warmup: z.number().int().min(0).default(0),
  /** Codes of the gauges whose discharge is calibrated on (default: every gauge of the dataset). */
  gauges: z.array(z.string().min(1)).min(1).optional(),
  /** Keeps the catchment cells whose centre lies inside (gauges outside it are left out). */
  studyArea: studyArea.optional(),
  /**
   * The model structure of gauge jobs: GR4J production and routing per cell, lr between cells
   * (gr4-lr), or the Curve-Number model per cell with lr (cn-lr; the inverse-mapping method).
   */
  structure: z.enum(['gr4-lr', 'cn-lr']).default('gr4-lr'),
});

/**
 * A lumped basin (issue 18: so basins can be sweep children): GR4J (or GR4J + CemaNeige) on one
 * basin CSV, calibrated by a method with a `lumped` runner, as `fieldcal calibrate` on a CSV does.
 */
const lumpedJob = z.strictObject({
  kind: z.literal('lumped'),
  ...common,
  dataset: z.strictObject({
    /** A basin CSV (date, P, PET, Q and optionally T columns). */
    path: z.string().min(1).refine(noNul, 'a path may not hold a NUL byte'),
    /** The CSV's columns and units (absent: headers recognised by their usual names, mm and °C). */
    columns: lumpedColumnsSchema.optional(),
    /** gr4-cemaneige: the basin's hypsometric curve (a table with one column per basin, or one column). */
    hypsometry: z
      .strictObject({
        path: z.string().min(1).refine(noNul, 'a path may not hold a NUL byte'),
        basin: z.string().min(1).optional(),
      })
      .optional(),
  }),
  structure: z.enum(['gr4', 'gr4-cemaneige']).default('gr4'),
  /** The calibration period (`train` in the run's metrics), after an optional warm-up from `warmupStart`. */
  period: z.strictObject({
    warmupStart: isoDate.refine(isCalendarDate, 'not a calendar date').optional(),
    start: isoDate.refine(isCalendarDate, 'not a calendar date'),
    end: isoDate.refine(isCalendarDate, 'not a calendar date'),
  }),
});

/**
 * Many lumped basins learned together (issue 20: KGSSL): a folder of basin CSVs (or CAMELS-FR's
 * ts/ layout with catchments.csv and hypsometry.csv), an optional attribute table (one row per
 * basin), a train period the method learns on and a test period it is scored on.
 */
const basinsJob = z.strictObject({
  kind: z.literal('basins'),
  ...common,
  dataset: z.strictObject({
    path: z.string().min(1).refine(noNul, 'a path may not hold a NUL byte'),
    /** The CSVs' columns and units (absent: CAMELS-FR's headers, else the usual names). */
    columns: lumpedColumnsSchema.optional(),
    /** A CSV with one row per basin: a code column, then numeric attributes. */
    attributes: z.string().min(1).refine(noNul, 'a path may not hold a NUL byte').optional(),
  }),
  train: z.strictObject({
    start: isoDate.refine(isCalendarDate, 'not a calendar date'),
    end: isoDate.refine(isCalendarDate, 'not a calendar date'),
  }),
  test: z.strictObject({
    start: isoDate.refine(isCalendarDate, 'not a calendar date'),
    end: isoDate.refine(isCalendarDate, 'not a calendar date'),
  }),
});

/**
 * A calibration job as it crosses IPC (jobs.submit) and is stored with its run: strict at every
 * level, defaults filled. Main checks what this layer cannot know (the method and its options,
 * bounds inside vic3l's ranges) and passes the parsed spec on unchanged.
 */
export const jobSpecSchema = z
  .discriminatedUnion('kind', [twinJob, griddedJob, gaugesJob, lumpedJob, basinsJob])
  .superRefine((s, ctx) => {
    const b = s.kind === 'twin' ? s.twin.bounds : s.kind === 'gridded' ? s.bounds : {};
    const at = s.kind === 'twin' ? ['twin', 'bounds'] : ['bounds'];
    for (const [name, v] of Object.entries(b))
      if (!(v.upper > v.lower))
        ctx.addIssue({
          code: 'custom',
          path: [...at, name],
          message: `bounds reversed or empty (${v.lower} .. ${v.upper})`,
        });
    if (s.kind === 'basins') {
      for (const p of ['train', 'test'] as const)
        if (s[p].start > s[p].end)
          ctx.addIssue({ code: 'custom', path: [p, 'end'], message: 'end is before start' });
      if (s.train.start <= s.test.end && s.test.start <= s.train.end)
        ctx.addIssue({
          code: 'custom',
          path: ['test'],
          message: 'the test period overlaps the train period',
        });
      return;
    }
    if (s.kind === 'lumped') {
      if (s.period.start > s.period.end)
        ctx.addIssue({ code: 'custom', path: ['period', 'end'], message: 'end is before start' });
      if (s.period.warmupStart && s.period.warmupStart > s.period.start)
        ctx.addIssue({
          code: 'custom',
          path: ['period', 'warmupStart'],
          message: 'warm-up must start before the period',
        });
      if (s.structure === 'gr4-cemaneige' && !s.dataset.hypsometry)
        ctx.addIssue({
          code: 'custom',
          path: ['dataset', 'hypsometry'],
          message: 'gr4-cemaneige needs the basin hypsometry ({"path", "basin"})',
        });
      return;
    }
    if (s.dataset && s.dataset.start > s.dataset.end)
      ctx.addIssue({ code: 'custom', path: ['dataset', 'end'], message: 'end is before start' });
    if (s.periods) {
      for (const i of periodIssues(s.periods))
        ctx.addIssue({ code: 'custom', path: ['periods', ...i.path], message: i.message });
      if (s.kind !== 'gauges' && s.split)
        ctx.addIssue({ code: 'custom', path: ['periods'], message: 'give either split or periods' });
    }
    if (s.kind === 'twin' && s.dataset && s.twin.layout === 'paper')
      ctx.addIssue({
        code: 'custom',
        path: ['twin', 'layout'],
        message:
          "the paper layout is synthetic: a twin on a dataset takes the dataset's grid and descriptors",
      });
  });
/** A job spec as written by a caller (defaults optional). */
export type JobSpecInput = z.input<typeof jobSpecSchema>;
/** A parsed job spec: defaults filled. */
export type JobSpec = z.output<typeof jobSpecSchema>;
export type TwinJobSpec = Extract<JobSpec, { kind: 'twin' }>;
export type GriddedJobSpec = Extract<JobSpec, { kind: 'gridded' }>;
export type GaugesJobSpec = Extract<JobSpec, { kind: 'gauges' }>;
export type LumpedJobSpec = Extract<JobSpec, { kind: 'lumped' }>;
export type BasinsJobSpec = Extract<JobSpec, { kind: 'basins' }>;
