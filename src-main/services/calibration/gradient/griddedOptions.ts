import { z } from 'zod';
import { objectiveSchema } from '../gridded/options';

/** Per-cell L-BFGS on the adjoint gradient. */
export const gradientGriddedOptions = z.strictObject({
  objective: objectiveSchema,
  iterations: z.number().int().min(1).max(10_000).default(60),
});
