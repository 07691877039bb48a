import { z } from 'zod';
import { objectiveSchema } from '../../gridded/options';

/** Per-cell L-BFGS on the adjoint gradient. */
export const gradientGriddedOptions = z.strictObject({
  objective: objectiveSchema,
  iterations: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(60)
    .describe("L-BFGS iterations on every cell's parameters, with the model's exact adjoint gradient"),
});

/** Box-constrained BFGS on lumped GR4J's exact adjoint gradient (no settings: it runs to convergence). */
export const gradientLumpedOptions = z.strictObject({});
