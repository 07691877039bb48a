import { z } from 'zod';
import { objectiveSchema } from '../gridded/options';

/** dPL g_A options (Tsai et al. 2021). */
export const dplOptions = z.strictObject({
  objective: objectiveSchema,
  hidden: z.array(z.number().int().min(1).max(512)).max(4).default([32, 32]),
  epochs: z.number().int().min(1).max(10_000).default(12),
  batchCells: z.number().int().min(1).default(64),
  // Tsai et al. 2021 train on windows of the series after a warm-up; 30-day windows as issue 6 asks
  window: z.number().int().min(1).default(30),
  warmup: z.number().int().min(0).default(180),
  learningRate: z.number().positive().max(1).default(0.01),
});
