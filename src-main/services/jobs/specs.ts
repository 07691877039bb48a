import { z } from 'zod';
import { FieldcalError } from '../../../src-shared/ipc';
import { griddedOptions, GRIDDED_METHOD_NAMES, type GriddedMethod } from '../calibration/registry';
import { VIC3L, VIC3L_PARAMS } from '../physics/vic3l';
import { issuePath } from '../calibration/gridded/options';

/**
 * A twin-experiment job: build the synthetic case (twin/generate.ts) and calibrate it with one
 * gridded method. Strict at every level; defaults filled and stored with the run.
 */
export const twinJobSchema = z
  .strictObject({
    kind: z.literal('twin'),
    method: z.enum(GRIDDED_METHOD_NAMES as [GriddedMethod, ...GriddedMethod[]]),
    options: z.record(z.string(), z.unknown()).default({}),
    seed: z.number().int().default(1),
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
        calibrated: z
          .array(z.enum(VIC3L_PARAMS))
          .min(1)
          .default([...VIC3L_PARAMS]),
        /** Search bounds overriding vic3l's (inside them); the truth always comes from vic3l's ranges. */
        bounds: z
          .partialRecord(z.enum(VIC3L_PARAMS), z.strictObject({ lower: z.number(), upper: z.number() }))
          .default({}),
      })
      .prefault({}),
    /** Model threads (0: one per core). */
    threads: z.number().int().min(0).max(256).default(0),
  })
  .superRefine((s, ctx) => {
    for (const [name, b] of Object.entries(s.twin.bounds)) {
      const [lo, hi] = VIC3L.parameters.find((p) => p.name === name)!.bounds;
      if (!(b.upper > b.lower))
        ctx.addIssue({
          code: 'custom',
          path: ['twin', 'bounds', name],
          message: `bounds reversed or empty (${b.lower} .. ${b.upper})`,
        });
      else if (b.lower < lo || b.upper > hi)
        ctx.addIssue({
          code: 'custom',
          path: ['twin', 'bounds', name],
          message: `bounds ${b.lower} .. ${b.upper} leave vic3l's valid range ${lo} .. ${hi}`,
        });
    }
    try {
      s.options = griddedOptions(s.method, s.options);
    } catch (e) {
      const field = ((e as FieldcalError).details?.field as string | undefined) ?? 'options';
      ctx.addIssue({ code: 'custom', path: field.split('.'), message: (e as Error).message });
    }
  });
export type TwinJobSpec = z.output<typeof twinJobSchema>;
export type JobSpec = TwinJobSpec;

/** Validates a job spec before anything starts: typed errors name every offending field. */
export function parseJobSpec(input: unknown, source = 'job'): JobSpec {
  const r = twinJobSchema.safeParse(input);
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
