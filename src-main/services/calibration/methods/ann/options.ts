import { z } from 'zod';
import { objectiveSchema } from '../../gridded/options';

/** ANN / multi-linear regionalization on a gridded target. */
export const annGriddedOptions = z.strictObject({
  objective: objectiveSchema,
  hidden: z.array(z.number().int().min(1).max(512)).max(4).default([16, 16]),
  iterations: z.number().int().min(1).max(100_000).default(150),
  learningRate: z.number().positive().max(1).default(0.01),
  validEvery: z.number().int().min(1).default(10),
});
