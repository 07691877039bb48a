import { z } from 'zod';

/**
 * Options of the bucket-nexus method (Liu & Hsu 2026, EGU26-21276). Defaults: one LSTM layer as
 * Kratzert et al. 2019 (HESS 23) with fewer units for one basin (32); training windows of one year
 * scored after one year of warm-up (Kratzert et al. 2018's 365-day sequences); Adam (Kingma & Ba
 * 2015) at 5e-3; λ = 1: the mass term counts as much as the data term per unit of variance.
 */
export const bucketNexusOptions = z.strictObject({
  /** `bucket`: the nexus driving the bucket model; `direct`: a plain LSTM of the same size (benchmark). */
  head: z
    .enum(['bucket', 'direct'])
    .default('bucket')
    .describe(
      'bucket: the LSTM nexus drives the bucket model; direct: a plain LSTM of the same size predicts discharge (benchmark)',
    ),
  hidden: z
    .number()
    .int()
    .min(2)
    .max(512)
    .default(32)
    .describe('Units of the one LSTM layer (as Kratzert et al. 2019, with fewer units for one basin)'),
  epochs: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(60)
    .describe('Training epochs; the epoch best on the held-out steps is kept'),
  learningRate: z
    .number()
    .positive()
    .max(1)
    .default(5e-3)
    .describe("Adam's learning rate (Kingma & Ba 2015)"),
  /** Warm-up steps at the start of each training window (run, not scored). */
  warmSteps: z
    .number()
    .int()
    .min(0)
    .max(3650)
    .default(365)
    .describe('Warm-up steps at the start of each training window: run, not scored (one year)'),
  /** Scored steps per training window. */
  windowSteps: z
    .number()
    .int()
    .min(10)
    .max(36_500)
    .default(365)
    .describe("Scored steps per training window (Kratzert et al. 2018's 365-day sequences)"),
  /** Steps between window starts. */
  strideSteps: z
    .number()
    .int()
    .min(1)
    .max(36_500)
    .default(91)
    .describe('Steps between the starts of consecutive training windows'),
  batch: z.number().int().min(1).max(1024).default(16).describe('Training windows per Adam step'),
  loss: z
    .enum(['nse', 'mse'])
    .default('nse')
    .describe(
      'Data term: nse (1 - NSE with the training variance, as Kratzert et al. 2019) or mse (mean squared error)',
    ),
  /** Weight λ of the mass-balance residual P - ET - Q - ΔS in the loss. */
  lambda: z
    .number()
    .min(0)
    .max(1e6)
    .default(1)
    .describe(
      'Weight λ of the mass-balance residual P - ET - Q - ΔS in the loss (1: as much as the data term)',
    ),
  /** How the outlet flux is given: fractions of the routing store (closes by construction) or amounts. */
  outlet: z
    .enum(['fractions', 'amounts'])
    .default('fractions')
    .describe(
      'Outlet flux as fractions of the routing store (closes the balance by construction) or as amounts',
    ),
  /** The last steps of the period held out for selecting the best epoch (absent: 20 % of the period). */
  validSteps: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe('Last steps of the period held out to select the best epoch (empty: 20 % of the period)'),
  /** Response-function figures and data (partial dependence, impulse responses) after training. */
  responses: z
    .boolean()
    .default(true)
    .describe(
      'After training, make response-function figures and data (partial dependence, impulse responses)',
    ),
});
export type BucketNexusOptions = z.output<typeof bucketNexusOptions>;
