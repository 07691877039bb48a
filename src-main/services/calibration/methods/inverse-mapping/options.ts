import { z } from 'zod';
import { filterOptionsSchema } from '../../inverse/filters';

/**
 * Simulation-based inverse mapping (Choi, Lee & Kim, EGU 2026) on gauge discharge with cn-lr.
 * `candidates`: scrambled Sobol points of the search space (a power of two keeps the net's
 * balance, Owen 2003). CEM: the elite fraction within Rubinstein & Kroese 2004's 0.01-0.1 and
 * their smoothing α = 0.7 (they advise 0.4 <= α <= 0.9). The network's sizes are this
 * implementation's choices (the paper gives none); Adam's rate: 3e-3 with batch 128 (measured below;
 * Kingma & Ba 2015's default is 1e-3).
 * `network.output`: 'coefficients' predicts the point of the search space (the MPR coefficients and
 * scalars; the fields follow from the descriptors by the transfer functions, Samaniego et al. 2010),
 * 'fields' one value per cell and parameter (the issue's first form). `network.pairs`: 'plausible'
 * trains on the filtered candidates (the paper), 'all' on every simulated one. `network.noise`: the
 * sd of the multiplicative log-normal observation error added to training flows; 0.1 is a typical
 * discharge rating error (McMillan et al. 2012, 10-20 % at medium to high flows).
 * `network.extraPairs`: training pairs sampled from the final CEM distribution, i.e. around the
 * elite, where the observed flows' answer lies (the CEM's refined sampling distribution as the
 * training-data generator, as the paper uses it).
 * `network.ensemble`: members trained from seeds seed, seed + 1, ...; their predictions averaged
 * (Lakshminarayanan et al. 2017).
 * Training length, measured on the Lez (256 candidates, 4 x 64 CEM, seed 19, 620 pairs, issue 19
 * session 7): batch 32 at rate 1e-3 early-stops at epoch 176 (best 146, patience 30); batch 128 at
 * rate 3e-3 at epoch 194 (best 164) in a quarter of the steps, held-out loss 0.0217 against
 * 0.0216, mean train NSE of its fields 0.596 against 0.544: the defaults (epochs 500 is a cap, the
 * held-out loss stops it). Neither longer training nor an ensemble of 5 brought the network's
 * fields to the search's best candidate on the training period (0.616); see `selection`.
 * `selection`: 'network' keeps the network's fields (the paper); 'better-on-train' keeps the best
 * plausible candidate of the search instead when it has the higher mean NSE over the gauges on the
 * TRAINING period (the CEM's own score; the test period is never looked at). On the Lez it picks the
 * candidate in every configuration measured (test NSE 0.79 / 0.86 / 0.82 against the network's
 * 0.71 / 0.67 / 0.72 with the defaults); on the 8 x 10 CN twin (same search) it picks the candidate too, whose Ks
 * field is unrelated to the truth (correlation 0.02 against the network's 0.98; CN 0.99 and 0.89;
 * test NSE 0.955 / 0.96 against 0.88 / 0.91): equifinality, hence 'network' stays the default.
 */
export const inverseMappingOptions = z.strictObject({
  candidates: z
    .number()
    .int()
    .min(8)
    .max(65_536)
    .default(512)
    .describe(
      "Scrambled Sobol points of the search space simulated first (a power of two keeps the net's balance, Owen 2003)",
    ),
  /** Parameters made into fields from the descriptors by MPR (the paper's CN and Ks); the others are one value per basin. */
  mprParameters: z
    .array(z.enum(['CN', 'Ks', 'Smax', 'kg', 'llr']))
    .max(5)
    .refine((a) => new Set(a).size === a.length, { message: 'each parameter once' })
    .default(['CN', 'Ks'])
    .describe(
      "Parameters made into fields from the descriptors by MPR (the paper's CN and Ks); the others are one value per basin",
    ),
  filters: filterOptionsSchema
    .default(filterOptionsSchema.parse({}))
    .describe(
      'Physical filters of the candidates: Budyko band of long-term ET/P, and CN falling where vegetation rises',
    ),
  /** The final fields: 'network' the network's; 'better-on-train' the best plausible candidate's when its mean train NSE is higher. */
  selection: z
    .enum(['network', 'better-on-train'])
    .default('network')
    .describe(
      "Final fields: the network's, or better-on-train: the best plausible candidate's when its mean train NSE is higher",
    ),
  cem: z
    .strictObject({
      iterations: z
        .number()
        .int()
        .min(0)
        .max(200)
        .default(6)
        .describe('CEM iterations after the Sobol candidates'),
      samples: z
        .number()
        .int()
        .min(8)
        .max(65_536)
        .default(128)
        .describe('Parameter sets simulated per CEM iteration'),
      eliteFraction: z
        .number()
        .gt(0)
        .max(0.5)
        .default(0.1)
        .describe('Share of the plausible samples kept as the elite (Rubinstein & Kroese 2004: 0.01-0.1)'),
      smoothing: z
        .number()
        .gt(0)
        .max(1)
        .default(0.7)
        .describe("Smoothing α of the sampling distribution's update (Rubinstein & Kroese 2004: 0.7)"),
    })
    .default({ iterations: 6, samples: 128, eliteFraction: 0.1, smoothing: 0.7 })
    .describe(
      'Cross-entropy method search from the Sobol elite: iterations, samples, eliteFraction, smoothing',
    ),
  network: z
    .strictObject({
      filters: z
        .number()
        .int()
        .min(1)
        .max(256)
        .default(16)
        .describe("Filters of the encoder's convolutions over time"),
      latent: z
        .number()
        .int()
        .min(1)
        .max(256)
        .default(32)
        .describe('Size of the latent vector the encoder maps the flows to'),
      hidden: z.number().int().min(1).max(512).default(32).describe("Units of the decoder's dense layer"),
      epochs: z
        .number()
        .int()
        .min(1)
        .max(10_000)
        .default(500)
        .describe('Maximum training epochs (a cap: early stopping on the held-out pairs ends it)'),
      batch: z.number().int().min(1).max(4096).default(128).describe('Training pairs per batch'),
      learningRate: z
        .number()
        .positive()
        .max(1)
        .default(3e-3)
        .describe("Adam's learning rate (3e-3 with batch 128; Kingma & Ba 2015's default is 1e-3)"),
      patience: z
        .number()
        .int()
        .min(1)
        .max(1000)
        .default(30)
        .describe('Epochs without a better held-out loss before training stops'),
      validFraction: z
        .number()
        .gt(0)
        .max(0.5)
        .default(0.2)
        .describe('Share of the training pairs held out for early stopping'),
      output: z
        .enum(['coefficients', 'fields'])
        .default('coefficients')
        .describe(
          'coefficients: predict the point of the search space (MPR coefficients, scalars); fields: one value per cell and parameter',
        ),
      pairs: z
        .enum(['plausible', 'all'])
        .default('plausible')
        .describe('Train on the plausible (filtered) candidates, as the paper, or on all simulated ones'),
      extraPairs: z
        .number()
        .int()
        .min(0)
        .max(65_536)
        .default(512)
        .describe('Extra training pairs sampled from the final CEM distribution, around the elite'),
      noise: z
        .number()
        .min(0)
        .max(2)
        .default(0.1)
        .describe(
          'SD of the log-normal error added to training flows (0.1: a typical rating error, McMillan et al. 2012)',
        ),
      ensemble: z
        .number()
        .int()
        .min(1)
        .max(32)
        .default(1)
        .describe(
          'Networks trained from seeds seed, seed + 1, …, their predictions averaged (Lakshminarayanan et al. 2017)',
        ),
    })
    .default({
      filters: 16,
      latent: 32,
      hidden: 32,
      epochs: 500,
      batch: 128,
      learningRate: 3e-3,
      patience: 30,
      validFraction: 0.2,
      output: 'coefficients',
      pairs: 'plausible',
      extraPairs: 512,
      noise: 0.1,
      ensemble: 1,
    })
    .describe(
      'The inverse network from gauge flows to parameters: sizes, training, output, pairs, noise, ensemble',
    ),
});
export type InverseMappingOptions = z.output<typeof inverseMappingOptions>;
