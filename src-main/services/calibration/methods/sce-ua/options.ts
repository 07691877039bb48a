import { z } from 'zod';
import { objectiveSchema } from '../../gridded/options';
import { sceUaOptionsSchema } from '../../optim/sceUa';

/** SCE-UA over MPR transfer functions on a gridded target. */
export const sceUaGriddedOptions = z.strictObject({
  objective: objectiveSchema,
  transfer: z
    .enum(['sigmoid', 'linear', 'uniform'])
    .default('sigmoid')
    .describe(
      'MPR transfer function from descriptors to each parameter: sigmoid (bounded), linear (clamped) or uniform (one value)',
    ),
  // bounds and defaults from optim/sceUa.ts (2000 model runs as in Sun et al. 2024; Duan et al.
  // 1994's standard settings for the rest): here the whole search, there one pass of restarts
  maxRuns: sceUaOptionsSchema.shape.maxRuns.describe(
    'Maximum model runs of the search (Sun et al. 2024: 2000)',
  ),
  complexes: sceUaOptionsSchema.shape.complexes.describe(
    "Complexes evolved in parallel and shuffled every loop (the other settings: Duan et al. 1994's standard ones)",
  ),
});

/**
 * SCE-UA on lumped GR4J (or GR4J + CemaNeige) in airGR's transformed space: Duan et al. 1994's
 * standard settings (optim/sceUa.ts) per pass, `restarts` passes from seeds seed, seed + 1, ...
 * (the best kept), and `polish` (default on) refines each optimum with BFGS on the exact adjoint.
 */
export const sceUaLumpedOptions = sceUaOptionsSchema.omit({ seed: true }).extend({
  restarts: z
    .number()
    .int()
    .min(1)
    .max(20)
    .default(3)
    .describe('SCE-UA passes from seeds seed, seed + 1, …; the best is kept'),
  polish: z.boolean().default(true).describe('Refine each optimum with BFGS on the exact adjoint gradient'),
});
