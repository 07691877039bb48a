import { z } from 'zod';

/**
 * HDA-PR on gauge discharge (Huynh et al.): the ANN's hidden layers ([] is smash's multi-linear
 * mapping), Adam iterations and learning rate (0.003: the rate the Lez demo reaches smash's scores with).
 */
export const hdaPrOptions = z.strictObject({
  hidden: z
    .array(z.number().int().min(1).max(512))
    .max(4)
    .default([16, 16])
    .describe(
      "Hidden layer sizes of the ANN from descriptors to parameters; [] is smash's multi-linear mapping",
    ),
  iterations: z.number().int().min(1).max(100_000).default(200).describe('Adam iterations'),
  learningRate: z
    .number()
    .positive()
    .max(1)
    .default(0.003)
    .describe("Adam's learning rate (0.003: the rate the Lez demo reaches smash's scores with)"),
});
