import { z } from 'zod';
import { objectiveSchema } from '../../gridded/options';
import { sceUaOptionsSchema } from '../../optim/sceUa';

/** SCE-UA over MPR transfer functions on a gridded target. */
export const sceUaGriddedOptions = z.strictObject({
  objective: objectiveSchema,
  transfer: z.enum(['sigmoid', 'linear', 'uniform']).default('sigmoid'),
  // 2000 model runs as in Sun et al. 2024; the other settings are Duan et al. 1994's standard ones
  maxRuns: z.number().int().min(10).max(1_000_000).default(2000),
  complexes: z.number().int().min(1).max(50).default(2),
});

/**
 * SCE-UA on lumped GR4J: Duan et al. 1994's standard settings (optim/sceUa.ts), 2000 runs. For
 * gr4-cemaneige the search runs in airGR's transformed space and `polish` (default on) ends it with
 * BFGS on the exact adjoint gradient from the SCE-UA optimum.
 */
export const sceUaLumpedOptions = sceUaOptionsSchema
  .omit({ seed: true })
  .extend({ polish: z.boolean().default(true) });
