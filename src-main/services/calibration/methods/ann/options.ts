import { z } from 'zod';
import { objectiveSchema } from '../../gridded/options';

/** ANN / multi-linear regionalization on a gridded target. */
export const annGriddedOptions = z.strictObject({
  objective: objectiveSchema,
  hidden: z
    .array(z.number().int().min(1).max(512))
    .max(4)
    .default([16, 16])
    .describe(
      'Hidden layer sizes of the network from descriptors to parameters; [] is the multi-linear mapping',
    ),
  iterations: z
    .number()
    .int()
    .min(1)
    .max(100_000)
    .default(150)
    .describe("Full-batch Adam iterations through the model's adjoint on the training period"),
  learningRate: z.number().positive().max(1).default(0.01).describe("Adam's learning rate"),
  validEvery: z
    .number()
    .int()
    .min(1)
    .default(10)
    .describe(
      'Iterations between validation checks; the iteration with the best validation objective is kept',
    ),
});
