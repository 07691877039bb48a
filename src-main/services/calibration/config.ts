import { z } from 'zod';
import { FieldcalError } from '../../../src-shared/ipc';

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD');
/** Parameters a config may bound: GR4J's (structure table) and lr's llr. */
export const CONFIG_PARAMETERS = ['X1', 'X2', 'X3', 'X4', 'llr'] as const;

/**
 * One strict object per run (unknown keys refused at every level, defaults filled and stored with
 * the run): the method, the calibration period with its warm-up, bounds overriding the
 * structure's, the gauges to fit and the seed.
 */
export const runConfigSchema = z
  .strictObject({
    method: z.enum(['sce-ua', 'gradient', 'hda-pr']),
    structure: z.literal('gr4').default('gr4'),
    period: z.strictObject({ start: isoDate, end: isoDate, warmupStart: isoDate.optional() }),
    bounds: z
      .partialRecord(z.enum(CONFIG_PARAMETERS), z.strictObject({ lower: z.number(), upper: z.number() }))
      .default({}),
    gauges: z.array(z.string().min(1)).min(1).optional(),
    seed: z.number().int().default(1),
    iterations: z.number().int().min(1).max(100_000).default(200),
  })
  .superRefine((c, ctx) => {
    if (c.period.start > c.period.end)
      ctx.addIssue({ code: 'custom', path: ['period', 'end'], message: 'end is before start' });
    if (c.period.warmupStart && c.period.warmupStart > c.period.start) {
      ctx.addIssue({
        code: 'custom',
        path: ['period', 'warmupStart'],
        message: 'warm-up must start before the period',
      });
    }
    for (const [name, b] of Object.entries(c.bounds)) {
      if (b && !(b.upper > b.lower))
        ctx.addIssue({
          code: 'custom',
          path: ['bounds', name],
          message: `bounds reversed or empty (${b.lower} .. ${b.upper})`,
        });
    }
  });
export type RunConfig = z.output<typeof runConfigSchema>;

/** Parses a run config, answering a typed error that names every offending field. */
export function parseRunConfig(input: unknown, source = 'run config'): RunConfig {
  const r = runConfigSchema.safeParse(input);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => ({
    path: i.path.map(String).join('.') || '(root)',
    message: i.message,
  }));
  throw new FieldcalError(
    'VALIDATION',
    `${source}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    { issues, field: issues[0]!.path },
  );
}

/** Checks a config against the data it will run on: the period inside the data, the gauges present. */
export function checkConfigAgainstData(
  c: RunConfig,
  data: { first: Date; last: Date; gauges: string[] },
): void {
  const day = (d: Date) => d.toISOString().slice(0, 10);
  const from = c.period.warmupStart ?? c.period.start;
  if (from < day(data.first) || c.period.end > day(data.last)) {
    throw new FieldcalError(
      'VALIDATION',
      `period ${from} .. ${c.period.end} is outside the data (${day(data.first)} .. ${day(data.last)})`,
      {
        field:
          from < day(data.first)
            ? c.period.warmupStart
              ? 'period.warmupStart'
              : 'period.start'
            : 'period.end',
      },
    );
  }
  for (const g of c.gauges ?? []) {
    if (!data.gauges.includes(g))
      throw new FieldcalError(
        'VALIDATION',
        `gauge ${g} is not in the dataset's catchment (${data.gauges.join(', ')})`,
        { field: 'gauges', gauge: g },
      );
  }
}

/** Bounds of the calibrated parameters: the structure's, overridden by the config. */
export function boundsFor(
  c: RunConfig,
  names: readonly string[],
  defaults: { lower: readonly number[]; upper: readonly number[] },
) {
  return {
    lower: names.map((n, k) => c.bounds[n as keyof typeof c.bounds]?.lower ?? defaults.lower[k]!),
    upper: names.map((n, k) => c.bounds[n as keyof typeof c.bounds]?.upper ?? defaults.upper[k]!),
  };
}
