import { z } from 'zod';
import { objectiveSchema } from '../gridded/options';

/** SCE-UA over MPR transfer functions on a gridded target. */
export const sceUaGriddedOptions = z.strictObject({
  objective: objectiveSchema,
  transfer: z.enum(['sigmoid', 'linear', 'uniform']).default('sigmoid'),
  // 2000 model runs as in Sun et al. 2024; the other settings are Duan et al. 1994's standard ones
  maxRuns: z.number().int().min(10).max(1_000_000).default(2000),
  complexes: z.number().int().min(1).max(50).default(2),
});
