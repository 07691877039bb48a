import { z } from 'zod';
import { objectiveSchema } from '../../gridded/options';
import { physicsOptions } from '../../gridded/surrogate';

/** dPL options (Tsai et al. 2021): g_A (descriptors -> network) or g_z (LSTM over each cell's history). */
export const dplOptions = z.strictObject({
  objective: objectiveSchema,
  /** 'A': a network maps descriptors to parameters; 'z': an LSTM reads forcing, observed ET and descriptors over `history` steps. */
  g: z.enum(['A', 'z']).default('A'),
  lstmHidden: z.number().int().min(1).max(256).default(16),
  /** Steps of each cell's series, from the start of the training period, the LSTM reads (g_z). */
  history: z.number().int().min(1).default(120),
  /** Windows whose gradients add up to one Adam step (default: 1 for g_A, every window for g_z). */
  windowsPerStep: z.number().int().min(1).optional(),
  hidden: z.array(z.number().int().min(1).max(512)).max(4).default([32, 32]),
  epochs: z.number().int().min(1).max(10_000).default(12),
  batchCells: z.number().int().min(1).default(64),
  // Tsai et al. 2021 train on windows of the series after a warm-up; 30-day windows as issue 6 asks
  window: z.number().int().min(1).default(30),
  warmup: z.number().int().min(0).default(180),
  learningRate: z.number().positive().max(1).default(0.01),
  /**
   * h(): 'exact' vic3l and its adjoint, or an 'lstm' / 'arnet' surrogate trained first (the
   * paper's dPL through the LSTM surrogate; calibration/gridded/surrogate.ts). Through a surrogate,
   * every step runs the network on all cells (the loss stays on the step's cells) and no warm-up
   * run is needed (the LSTM's window carries the memory; ARnet rolls out from its own rollout).
   */
  ...physicsOptions,
});
