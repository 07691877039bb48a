import { z } from 'zod';

/**
 * KGSSL on a multi-basin dataset (Ghosh et al., KDD 2022). Defaults are sized for tens of basins on
 * a CPU (the paper's 531 CAMELS basins used larger networks and longer training); each says where it
 * comes from.
 */
export const kgsslOptions = z.strictObject({
  /** Embedding dimension (chosen here: small beside the 19-basin test set). */
  zDim: z.number().int().min(1).max(256).default(8).describe('Dimension of the basin embedding'),
  /** LSTM units of the encoder and the forward model (chosen here for CPU time; Kratzert et al. 2019 use 256). */
  hidden: z
    .number()
    .int()
    .min(1)
    .max(512)
    .default(32)
    .describe('LSTM units of the encoder and the forward model (Kratzert et al. 2019 use 256)'),
  /** Window length, days (chosen here: a season; Kratzert et al. 2019 use 365). */
  window: z
    .number()
    .int()
    .min(8)
    .max(1000)
    .default(120)
    .describe('Window length, days (a season; Kratzert et al. 2019 use 365)'),
  /** Steps of each forward window not scored (state spin-up; chosen here: half the window). */
  spinup: z
    .number()
    .int()
    .min(0)
    .max(999)
    .default(60)
    .describe(
      'Steps at the start of each forward window that are not scored (state spin-up; half the window)',
    ),
  epochs: z.number().int().min(1).max(10_000).default(40).describe('Training epochs'),
  batchesPerEpoch: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(20)
    .describe('Batches per epoch, each of basins and windows drawn at random from the training periods'),
  /** Basins per batch, each with two encoder windows and one forward window (chosen here). */
  batchBasins: z
    .number()
    .int()
    .min(2)
    .max(4096)
    .default(16)
    .describe('Basins per batch, each with its encoder windows and one forward window'),
  /**
   * Encoder windows per basin and batch (views): 2 is the poster's anchor–positive pair; more views
   * average the pairwise contrastive loss over every pair (CMC's full graph, Tian et al. 2020) and the
   * embedding over more windows. Chosen here.
   */
  windowsPerBasin: z
    .number()
    .int()
    .min(2)
    .max(16)
    .default(2)
    .describe(
      'Encoder windows (views) per basin and batch: 2 is an anchor–positive pair; more average the contrastive loss over all pairs',
    ),
  /** Adam's step (Kingma & Ba 2015's default 1e-3). */
  learningRate: z
    .number()
    .positive()
    .max(1)
    .default(1e-3)
    .describe("Adam's learning rate (Kingma & Ba 2015's default 1e-3)"),
  /** L2's form: InfoNCE (Oord et al. 2018) or the triplet margin loss (Schroff et al. 2015). */
  contrastive: z
    .enum(['infonce', 'triplet'])
    .default('infonce')
    .describe(
      'Contrastive loss L2: infonce (InfoNCE, Oord et al. 2018) or triplet (margin loss, Schroff et al. 2015)',
    ),
  /** InfoNCE temperature (0.1: Chen et al. 2020, SimCLR). */
  temperature: z
    .number()
    .positive()
    .max(10)
    .default(0.1)
    .describe('InfoNCE temperature (Chen et al. 2020, SimCLR: 0.1)'),
  /** Triplet margin α (0.2: Schroff et al. 2015). */
  margin: z.number().min(0).max(100).default(0.2).describe('Triplet margin α (Schroff et al. 2015: 0.2)'),
  /** Loss weights of L1 (reconstruction), L2 (contrastive) and L3 (attribute regression; 0 = self-supervised only). Chosen here. */
  weights: z
    .strictObject({
      reconstruction: z.number().min(0).default(1).describe('Weight of L1, the reconstruction loss'),
      contrastive: z.number().min(0).default(0.1).describe('Weight of L2, the contrastive loss'),
      regression: z
        .number()
        .min(0)
        .default(0.1)
        .describe('Weight of L3, the attribute regression loss (0: self-supervised only)'),
    })
    .default({ reconstruction: 1, contrastive: 0.1, regression: 0.1 })
    .describe(
      'Loss weights: L1 reconstruction, L2 contrastive, L3 attribute regression (0: self-supervised only)',
    ),
  /** Leave-basins-out folds of the imputation (5-fold cross-validation, as is usual). */
  folds: z
    .number()
    .int()
    .min(2)
    .max(100)
    .default(5)
    .describe('Leave-basins-out folds of the attribute imputation (5-fold cross-validation)'),
  /** Attribute noise levels, in standard deviations of each attribute (the poster's corruption figure). */
  noise: z
    .array(z.number().min(0).max(10))
    .min(1)
    .max(10)
    .default([0, 0.25, 0.5, 1])
    .describe(
      'Attribute noise levels, in standard deviations of each attribute, for the noisy-attribute comparison',
    ),
  /** Train the attribute-conditioned forward model for the noisy-attribute comparison. */
  attributeBaseline: z
    .boolean()
    .default(true)
    .describe('Train the attribute-conditioned forward model for the noisy-attribute comparison'),
  /** Parameter transfer to left-out basins: GR4J by SCE-UA on each basin's train period (sce-ua's lumped runner). */
  transfer: z
    .strictObject({
      enabled: z.boolean().default(true).describe('Run the parameter transfer'),
      /** Donors averaged (several donors: Oudin et al. 2008, WRR 44, W03413). */
      neighbours: z
        .number()
        .int()
        .min(1)
        .max(50)
        .default(3)
        .describe('Donor basins averaged (Oudin et al. 2008)'),
      /** SCE-UA passes per basin (sce-ua's lumped default is 3). */
      restarts: z
        .number()
        .int()
        .min(1)
        .max(20)
        .default(1)
        .describe("SCE-UA passes per basin (sce-ua's lumped default is 3)"),
      /** Warm-up before the scored period, days (airGR's usual one year). */
      warmup: z
        .number()
        .int()
        .min(0)
        .max(3650)
        .default(365)
        .describe("Warm-up before the scored period, days (airGR's usual one year)"),
    })
    .default({ enabled: true, neighbours: 3, restarts: 1, warmup: 365 })
    .describe(
      "GR4J parameter transfer to left-out basins: SCE-UA on each basin's train period, donors averaged",
    ),
});
export type KgsslOptions = z.output<typeof kgsslOptions>;
