import { z } from 'zod';

/**
 * SCE-UA settings with the standard values of Duan, Sorooshian & Gupta (1994, J. Hydrol. 158):
 * m = 2n + 1 points per complex, q = n + 1 per sub-complex, alpha = 1, beta = 2n + 1; stop after
 * `maxRuns` model runs (2000 as in Sun et al. 2024), when the best objective changed by less than
 * `pcento` (1 %) over `kstop` (10) shuffling loops, or when the population has shrunk below `peps`
 * of the parameter ranges.
 */
export const sceUaOptionsSchema = z.strictObject({
  complexes: z.number().int().min(1).max(50).default(2),
  maxRuns: z.number().int().min(10).max(1_000_000).default(2000),
  kstop: z.number().int().min(1).max(100).default(10),
  pcento: z.number().min(0).max(1).default(0.01),
  peps: z.number().min(0).max(1).default(0.001),
  seed: z.number().int().default(1969),
});
export type SceUaOptions = z.output<typeof sceUaOptionsSchema>;
