import { z } from 'zod';
import { physicsOptions } from '../../gridded/surrogate';

/** The default epochs (Sun et al. 2024) and pre-training epochs (see `pretrainEpochs`). */
const EPOCHS = 200;
const PRETRAIN_EPOCHS = 20;

/**
 * Pre-training epochs of a GAN-PO run shortened to `epochs`: the defaults' share, rounded, at
 * least one where the defaults pre-train, and below `epochs` (the discriminator must join).
 */
export function shortPretrain(epochs: number, d: { epochs: number; pretrainEpochs: number }): number {
  if (d.pretrainEpochs === 0) return 0;
  const share = Math.max(1, Math.round((epochs * d.pretrainEpochs) / d.epochs));
  return Math.max(0, Math.min(d.pretrainEpochs, share, epochs - 1));
}

/**
 * GAN-PO options. Defaults are Sun, Pan & Duan (2024, section 2.2): λl = 30 (chosen by their grid
 * search; their λr = 1 is not Fieldcal's default, see `lambdaRange`, nor is their discriminator from
 * the first epoch, see `pretrainEpochs`), Adam with learning rate 1e-4 and β = (0.5, 0.999), batches of 32 days, 200
 * epochs. `sequence` and `warmupWindow` are Fieldcal's design of the simulator h() (see index.ts).
 * The measurements quoted below were made with the generator's earlier output layer (small random
 * weights; zero since 2026-12-03, nets/ganPo.ts), which gave seed 3 its slow start.
 */
export const ganPoOptions = z
  .strictObject({
    epochs: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(EPOCHS)
      .describe('Training epochs, pre-training included (Sun et al. 2024: 200)'),
    /** Days per batch (paper: 32). */
    batchDays: z.number().int().min(1).max(366).default(32).describe('Days per batch (Sun et al. 2024: 32)'),
    learningRate: z
      .number()
      .positive()
      .max(1)
      .default(1e-4)
      .describe("Adam's learning rate of the generator and the discriminator (Sun et al. 2024: 1e-4)"),
    beta1: z.number().min(0).max(0.9999).default(0.5).describe("Adam's β1 (Sun et al. 2024: 0.5)"),
    beta2: z.number().min(0).max(0.99999).default(0.999).describe("Adam's β2 (Sun et al. 2024: 0.999)"),
    /**
     * Epochs of the generator on λl L1 + λr L_R alone before the discriminator joins (0: from the
     * start, as the paper). Pre-training the generator on its content loss, then the adversarial
     * phase from there: Ledig et al. 2017 (SRGAN, section 3.2), Wang et al. 2018 (ESRGAN, section 3.4).
     * Measured on the paper's twin (200 epochs, Intel Xeon, seeds 1 / 2 / 3): with D from the start,
     * seed 3's discriminator won at once (D loss 0.37 by epoch 7) and held the generator at a train
     * L1 of 0.15-0.2 through epoch 113 (validation MSE 0.13-0.19 in epochs 1-8), while the L1-only ablation of the
     * same seed left that start (L1 0.07 by epoch 58). With 20 epochs of pre-training: best
     * validation MSE 0.0105 / 0.0119 / 0.0124 (from the start: 0.0111 on seed 1), test RMSE reduced in
     * 99.5 / 99.0 / 99.5 % of cells. A lower discriminator rate (1e-5) and instance noise (σ 0.2, 0.5
     * of the standardised target; Sønderby et al. 2017) did not free seed 3 / change seed 1.
     */
    pretrainEpochs: z
      .number()
      .int()
      .min(0)
      .max(10_000)
      .default(PRETRAIN_EPOCHS)
      .describe(
        'Epochs of the generator on its L1 and range losses alone before the discriminator joins (0: from the start, as the paper)',
      ),
    /** Weight of the L1 term (paper: 30). */
    lambdaL1: z.number().min(0).default(30).describe('Weight λl of the L1 term (Sun et al. 2024: 30)'),
    /**
     * Weight of the range loss L_R (paper: 1, from its grid search, where h() was a surrogate taking
     * unclipped values). Through the exact model the values are clipped to their ranges, and a value
     * past its bound gets no gradient from the model, only from L_R. Measured with sequence 'full' on
     * the paper's twin, 40 epochs, best validation MSE (seeds 1 / 2 / 3): λr = 1 0.0142 / 0.0239 /
     * 0.189 (seed 3 pushed values past their bounds in its first epoch, L_R 0.35, and stayed there;
     * seed 1 fell into the same state after epoch 100 of 200); λr = 30 0.0142 / 0.0160 / 0.0321 (L_R
     * 0 from then on). Test RMSE reduced: λr = 1 99.3 / 96.3 / 60.8 % of cells, λr = 30 99.3 / 98.0 /
     * 93.4 %. Hence 30, chosen on the validation period; `options.grid` searches it as the paper did.
     */
    lambdaRange: z
      .number()
      .min(0)
      .default(30)
      .describe(
        'Weight λr of the range loss L_R, which pulls parameters back inside their ranges (paper: 1; 30 here, chosen on the validation period)',
      ),
    /**
     * Generator output to parameters, lower + o (upper - lower) of the output o: 'linear' (the
     * paper's, with L_R) lets a value leave its range, L_R (eq. 2) pulls it back and the model runs on
     * it clipped; the output layer starts at the middle of the range (bias 0.5, zero weights).
     * 'sigmoid' keeps it inside (L_R is then 0). Measured on the paper's twin (seed 1, sequence
     * 'window', small random output weights then, not zero): linear reaches a validation MSE of
     * 0.057 by epoch 30; sigmoid 0.109 at epoch 30 and 0.066 at best (epoch 108 of 200) before its
     * outputs saturate and training stalls.
     */
    output: z
      .enum(['linear', 'sigmoid'])
      .default('linear')
      .describe(
        "Generator output to parameters: linear (the paper's; may leave the range, L_R pulls it back) or sigmoid (kept inside)",
      ),
    /**
     * The gradient of the clip to the ranges that the model runs on: 'zero' (the clip's own: a value
     * past its bound learns only from L_R) or 'pass' (straight-through: the model's gradient at the
     * bound reaches the value, as through the paper's surrogate, which ran on unclipped values).
     * Measured on the paper's twin (sequence 'full', λr = 1, validation MSE at epoch 30): seed 3
     * 0.154 with 'pass' against 0.260 with 'zero' (stuck past its bounds), seed 2 0.040 against
     * 0.028, its values drifting far past the bounds (L_R 18); λr = 30 with 'zero' gave 0.036 on seed 3.
     */
    clipGradient: z
      .enum(['zero', 'pass'])
      .default('zero')
      .describe(
        'Gradient through the clip to the ranges: zero (a value past its bound learns from L_R only) or pass (straight-through)',
      ),
    /**
     * Network width: the U-Net's first filters, doubled at each of its four levels; the
     * discriminator's first layer has twice as many (Sun et al. 2024, tables S1 and S2: 32, so
     * 32-64-128-256 and 64-128-256). The work per step grows as its square: a narrower network
     * trains where convolutions are slow (tfjs's JavaScript kernels, without the native addon).
     */
    filters: z
      .number()
      .int()
      .min(2)
      .max(128)
      .default(32)
      .describe(
        "Network width: the generator's first filters, doubled at each level; the discriminator has twice as many (Sun et al. 2024: 32)",
      ),
    /** 'l1-only': no discriminator (the paper's Table 1 ablation). */
    ablation: z
      .enum(['none', 'l1-only'])
      .default('none')
      .describe("l1-only: train without the discriminator (the paper's Table 1 ablation)"),
    /**
     * How the exact h() simulates a batch of days [s, e): 'full' runs vic3l from the first step (its
     * own initial states) to e and the loss reads the batch's days only, so the gradient follows every
     * state back to the start; 'window' runs it from `warmupWindow` days before s, started from the
     * states of the last full pass (one run at the end of every epoch), held fixed in the gradient.
     * Measured on the paper's twin (seed 1, 40 epochs each): 'window' with 60 days reaches a
     * validation MSE of 0.056 (test: RMSE reduced in 86.8 % of cells, KGE > 0.6 in 93.4 %, d2
     * recovered with cc -0.34), the whole sequence 0.0133 (test: 99.5 %, 99.8 %, d2 cc 0.97) at 1.8
     * times the seconds per epoch (13.6 against 7.7 s on a loaded 2-core machine). In 200 epochs
     * with 'full': GAN-PO 99.3 % (best epoch 11, d2 cc 0.95), the L1-only ablation 99.8 % (d2 cc
     * 0.99); seed 2 at 40 epochs 96.3 %. At equal parameters the window's d2 derivative is within
     * 1.2 % of the exact one (unit test), so what 'window' loses comes mostly from its start states:
     * the last pass's, of parameters up to an epoch old.
     */
    sequence: z
      .enum(['full', 'window'])
      .default('full')
      .describe(
        'How the exact h() runs a batch: full (from the first step, gradient through every state) or window (from warmupWindow days before)',
      ),
    /**
     * 'window' h(), and an ARnet surrogate's rollouts: days simulated before each batch from the
     * states of the last full pass (spin-up of the new parameters); 0 starts each batch from those
     * states directly.
     */
    warmupWindow: z
      .number()
      .int()
      .min(0)
      .max(3650)
      .default(60)
      .describe(
        "Days simulated before each batch from the last full pass's states (sequence window, ARnet rollouts); 0: none",
      ),
    /**
     * h(): 'exact' vic3l, or an 'lstm' / 'arnet' surrogate trained first on a perturbed-parameter
     * ensemble (the paper's GAN-PO_LSTM and GAN-PO_ARnet), its settings, dynamic updates and reuse
     * (calibration/gridded/surrogate.ts). An ARnet batch rolls out from warmupWindow days before it.
     */
    ...physicsOptions,
  })
  .superRefine((o, ctx) => {
    // a run whose pre-training fills it would be the L1-only ablation under GAN-PO's name
    if (o.ablation === 'none' && o.pretrainEpochs >= o.epochs)
      ctx.addIssue({
        code: 'custom',
        path: ['pretrainEpochs'],
        message: `must be below epochs (${o.epochs}): after ${o.pretrainEpochs} epochs of pre-training the discriminator would never join (ablation 'l1-only' trains without it); ${shortPretrain(o.epochs, { epochs: EPOCHS, pretrainEpochs: PRETRAIN_EPOCHS })} keeps the defaults' share (${PRETRAIN_EPOCHS} of ${EPOCHS} epochs)`,
      });
  });
export type GanPoOptions = z.output<typeof ganPoOptions>;
