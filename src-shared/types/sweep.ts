import { z } from 'zod';

/**
 * Sweeps (issue 18): one base job spec expanded over a grid of option values, a list of seeds and/or a
 * list of datasets (basins), recorded as a parent run with one child run per combination, run on the
 * local job host (default) or on BullMQ workers across machines, and summarised in one table with a
 * winner chosen by a selection rule.
 */

const path = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => !p.includes('\u0000'), 'a path may not hold a NUL byte');
/** A dotted path into the job spec, e.g. `options.lambdaL` or `twin.noise` (never a prototype key). */
const specPath = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$/, 'a dotted path like options.lambdaL')
  .refine(
    (p) => !p.split('.').some((k) => ['__proto__', 'prototype', 'constructor'].includes(k)),
    'not a key',
  );
const gridValue = z.union([z.number().finite(), z.string().max(200), z.boolean()]);

/** How the winner is picked: a recorded run metric (`nse`, `kge`, `rmse`, `pctRmseReduced`, …) on a period. */
export const selectionSchema = z.strictObject({
  metric: z.string().min(1).max(64).default('nse'),
  period: z.enum(['train', 'valid', 'test']).default('valid'),
  /** For runs with one metric per gauge: the gauge code (default: the mean over the run's targets). */
  target: z.string().min(1).max(64).optional(),
  mode: z.enum(['max', 'min']).default('max'),
});

export const sweepSpecSchema = z
  .strictObject({
    name: z.string().min(1).max(120),
    /** A job spec as `jobs.submit` takes it; each child is this spec with its grid values, seed and dataset set. */
    base: z.record(z.string(), z.unknown()),
    /** Option values to cross: every combination is one child (e.g. `{ "options.lambdaL": [0.1, 1, 10] }`). */
    grid: z.record(specPath, z.array(gridValue).min(1).max(1000)).default({}),
    /** Seeds, crossed with the grid (each child's `seed`). */
    seeds: z.array(z.number().int()).min(1).max(1000).optional(),
    /** Datasets or basins, crossed with the rest: each child's `dataset.path` (a folder of basin CSVs lists its files). */
    datasets: z
      .union([
        z.array(path).min(1).max(10_000),
        z.strictObject({ folder: path, pattern: z.string().min(1).max(200).default('*.csv') }),
      ])
      .optional(),
    select: selectionSchema.prefault({}),
    /** Children running at once on the local host (the queue's workers set their own concurrency). */
    concurrency: z.number().int().min(1).max(64).default(1),
    /** `redis://[:password@]host:port[/db]`: children go on a BullMQ queue for `fieldcal worker`s; local when absent. */
    queue: z
      .string()
      .max(2048)
      .regex(/^rediss?:\/\//, 'expected redis://…')
      .optional(),
  })
  .superRefine((s, ctx) => {
    const n =
      Object.values(s.grid).reduce((a, v) => a * v.length, 1) *
      (s.seeds?.length ?? 1) *
      (Array.isArray(s.datasets) ? s.datasets.length : 1);
    if (n > 10_000)
      ctx.addIssue({
        code: 'custom',
        path: ['grid'],
        message: `${n} combinations of the grid, seeds and datasets: at most 10000 per sweep`,
      });
  });
export type SweepSpec = z.output<typeof sweepSpecSchema>;
export type SweepSpecInput = z.input<typeof sweepSpecSchema>;

/** One child of a sweep as listed in its table. */
export const sweepRowSchema = z.object({
  index: z.number().int(),
  runId: z.number().int().nullable(),
  /** The grid values of this child (dotted path → value), its seed and dataset. */
  values: z.record(z.string(), gridValue),
  seed: z.number().int(),
  dataset: z.string().nullable(),
  status: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted']),
  /** Key metrics of the child (`<period>.<metric>`, mean over targets where there are several). */
  metrics: z.record(z.string(), z.number().nullable()),
  seconds: z.number().nullable(),
  error: z.string().nullable(),
  /** Where it ran: `local` or the worker's name. */
  worker: z.string().nullable(),
});
export type SweepRow = z.infer<typeof sweepRowSchema>;

/**
 * The grid paths of a sweep's rows in the grid's order: a child leaves out values that do not
 * matter to it, so the order is the fullest row's, with any others after.
 */
export function gridPathsOf(rows: ReadonlyArray<Pick<SweepRow, 'values'>>): string[] {
  const fullest = rows.reduce<string[]>((a, r) => {
    const k = Object.keys(r.values);
    return k.length > a.length ? k : a;
  }, []);
  return [...new Set([...fullest, ...rows.flatMap((r) => Object.keys(r.values))])];
}

/** A sweep: its parent run, its table and the winner by the selection rule (null until one child succeeded). */
export const sweepRecordSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  status: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted']),
  children: z.number().int(),
  done: z.number().int(),
  select: z.object({ metric: z.string(), period: z.string(), mode: z.enum(['max', 'min']) }),
  /** The winning child's `index` in `rows` (not its run id), null until one child succeeded. */
  winner: z.number().int().nullable(),
  rows: z.array(sweepRowSchema),
  queue: z.string().nullable(),
});
export type SweepRecord = z.infer<typeof sweepRecordSchema>;
