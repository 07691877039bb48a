import type * as TfModule from '@tensorflow/tfjs';
import { batchNormalization, conv2d, lstm } from '../../compute/fusedLayers';

type Tf = typeof TfModule;
type T = TfModule.Tensor;

/**
 * The GAN-PO reference networks (Sun, Pan & Duan 2024, tables S1 and S2, at the sizes of
 * ../shared/bench/reference_torch.py): a U-Net generator (encoder 32-64-128-256 with
 * conv-BatchNorm-LeakyReLU blocks, transposed-convolution decoder with skip connections, sigmoid
 * output) and a DCGAN discriminator (64-128-256, 3 x 3 kernels, stride 2, LeakyReLU 0.2, a final
 * 4 x 4 convolution to one value). Channels-last, as tfjs.
 */
export const GAN_SIZES = { H: 32, W: 32, CA: 6, CP: 7, CF: 7 } as const;

/** Sizes of the two networks: image height and width (multiples of 8), attribute, parameter and forcing channels. */
export interface GanSizes {
  H: number;
  W: number;
  CA: number;
  CP: number;
  CF: number;
}

/**
 * How the networks' weights start: tfjs's defaults, or seeded Glorot-uniform kernels (reproducible
 * runs); a linear generator's output layer starts at zero weights, bias 0.5, either way.
 */
export interface GanInit {
  seed?: number;
  /** The generator's output activation: sigmoid (in (0, 1), the reference) or linear (unbounded). */
  output?: 'sigmoid' | 'linear';
  /**
   * Width: the generator's first filters, doubled at each encoder level; the discriminator's first
   * layer has twice as many (the reference: 32, so 32-64-128-256 and 64-128-256).
   */
  filters?: number;
}

/** Glorot-uniform kernels (tfjs's default for conv layers) from consecutive seeds, when a seed is given. */
function kernels(
  tf: Tf,
  init: GanInit,
): () => { kernelInitializer?: ReturnType<Tf['initializers']['glorotUniform']> } {
  let next = init.seed;
  return () =>
    next === undefined ? {} : { kernelInitializer: tf.initializers.glorotUniform({ seed: next++ }) };
}

function block(
  tf: Tf,
  x: TfModule.SymbolicTensor,
  filters: number,
  strides: number,
  k: ReturnType<typeof kernels> = () => ({}),
): TfModule.SymbolicTensor {
  const c = conv2d(tf, { filters, kernelSize: 3, strides, padding: 'same', ...k() }).apply(
    x,
  ) as TfModule.SymbolicTensor;
  const b = batchNormalization(tf, { momentum: 0.9, epsilon: 1e-5 }).apply(c) as TfModule.SymbolicTensor;
  return tf.layers.leakyReLU({ alpha: 0.2 }).apply(b) as TfModule.SymbolicTensor;
}

export function unetGenerator(tf: Tf, s: GanSizes = GAN_SIZES, init: GanInit = {}): TfModule.LayersModel {
  const k = kernels(tf, init);
  const f = init.filters ?? 32;
  const input = tf.input({ shape: [s.H, s.W, s.CA] });
  const e1 = block(tf, input, f, 1, k);
  const e2 = block(tf, e1, 2 * f, 2, k);
  const e3 = block(tf, e2, 4 * f, 2, k);
  const e4 = block(tf, e3, 8 * f, 2, k);
  const up = (x: TfModule.SymbolicTensor, filters: number) =>
    tf.layers
      .conv2dTranspose({ filters, kernelSize: 3, strides: 2, padding: 'same', ...k() })
      .apply(x) as TfModule.SymbolicTensor;
  const cat = (a: TfModule.SymbolicTensor, b: TfModule.SymbolicTensor) =>
    tf.layers.concatenate({ axis: -1 }).apply([a, b]) as TfModule.SymbolicTensor;
  const d3 = block(tf, cat(up(e4, 4 * f), e3), 4 * f, 1, k);
  const d2 = block(tf, cat(up(d3, 2 * f), e2), 2 * f, 1, k);
  const d1 = block(tf, cat(up(d2, f), e1), f, 1, k);
  // a linear output starts as the uniform field at the middle of every range: bias 0.5 and zero
  // weights (a zero-initialised output layer: Zhang, Dauphin & Ma 2019, Fixup; the output
  // convolution of Dhariwal & Nichol 2021), so the parameters start inside their bounds and no seed
  // starts from a spatial pattern of its own. Weights drawn at variance scale 0.01 gave each seed
  // a random pattern of ~10 % of the ranges, which Adam at 1e-4 unlearns slowly: on the paper's
  // twin seed 3 started with d2 and expt anti-correlated with the truth (cc -0.69, -0.58) and
  // reached 63.5 % of cells with RMSE reduced in 8 epochs, 88.2 % in 40 (zero: 91.2 %, 99.0 %)
  const linear = init.output === 'linear';
  const outInit = linear
    ? {
        kernelInitializer: tf.initializers.zeros(),
        biasInitializer: tf.initializers.constant({ value: 0.5 }),
      }
    : k();
  const out = conv2d(tf, {
    filters: s.CP,
    kernelSize: 1,
    activation: init.output ?? 'sigmoid',
    ...outInit,
  }).apply(d1) as TfModule.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

export function dcganDiscriminator(
  tf: Tf,
  s: GanSizes = GAN_SIZES,
  init: GanInit = {},
): TfModule.LayersModel {
  const k = kernels(tf, init);
  const f = 2 * (init.filters ?? 32);
  const input = tf.input({ shape: [s.H, s.W, s.CF + 1] });
  let x = conv2d(tf, { filters: f, kernelSize: 3, strides: 2, padding: 'same', ...k() }).apply(
    input,
  ) as TfModule.SymbolicTensor;
  x = tf.layers.leakyReLU({ alpha: 0.2 }).apply(x) as TfModule.SymbolicTensor;
  x = block(tf, x, 2 * f, 2, k);
  x = block(tf, x, 4 * f, 2, k);
  // the final convolution covers the remaining H/8 x W/8 field: one value per sample
  const out = conv2d(tf, { filters: 1, kernelSize: [s.H / 8, s.W / 8], ...k() }).apply(
    x,
  ) as TfModule.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

/**
 * One GAN-PO training step as reference_torch.py times it: a linear stand-in for the physics
 * (ET = Σ_channels parameter band 0 x forcing), one discriminator update with the least-squares
 * GAN loss (Mao et al. 2017), then one generator update with the least-squares loss + 30 x L1
 * (Sun et al. 2024, eq. 1 and section 2.1); Adam(1e-4, β1 = 0.5). Returns the two losses.
 */
export function ganStep(
  tf: Tf,
  g: TfModule.LayersModel,
  d: TfModule.LayersModel,
  opt: { g: TfModule.Optimizer; d: TfModule.Optimizer },
  data: { attrs: T; forcing: T; obs: T },
): { dLoss: number; gLoss: number } {
  const et = () => {
    const p = g.apply(data.attrs, { training: true }) as T;
    const band0 = tf.slice(p, [0, 0, 0, 0], [-1, -1, -1, 1]);
    return tf.sum(tf.mul(band0, data.forcing), -1, true);
  };
  const dOf = (x: T) => d.apply(tf.concat([data.forcing, x], -1), { training: true }) as T;
  const dLoss = opt.d.minimize(
    () => {
      const fake = tf.tidy(() => et());
      const real = tf.mean(tf.square(tf.sub(dOf(data.obs), 1)));
      const l = tf.add(real, tf.mean(tf.square(dOf(fake))));
      return l as TfModule.Scalar;
    },
    true,
    d.trainableWeights.map((w) => w.read() as TfModule.Variable),
  )!;
  const gLoss = opt.g.minimize(
    () => {
      const e = et();
      const adv = tf.mean(tf.square(tf.sub(dOf(e), 1)));
      return tf.add(adv, tf.mul(30, tf.mean(tf.abs(tf.sub(e, data.obs))))) as TfModule.Scalar;
    },
    true,
    g.trainableWeights.map((w) => w.read() as TfModule.Variable),
  )!;
  const out = { dLoss: dLoss.dataSync()[0]!, gLoss: gLoss.dataSync()[0]! };
  tf.dispose([dLoss, gLoss]);
  return out;
}

/** The paper's LSTM surrogate step of reference_torch.py: LSTM(14 -> hidden) over a sequence, last state -> dense(1), MSE, Adam(1e-3). */
export function lstmSurrogate(tf: Tf, inputs = 14, hidden = 128, seq = 30): TfModule.Sequential {
  const m = tf.sequential();
  // sigmoid gates and U(-1/sqrt(hidden), 1/sqrt(hidden)) weights and biases as PyTorch's nn.LSTM
  // (torch.nn.LSTM documentation; tfjs's defaults would be hard sigmoid and orthogonal recurrent weights)
  const k = 1 / Math.sqrt(hidden);
  const init = () => tf.initializers.randomUniform({ minval: -k, maxval: k });
  m.add(
    lstm(tf, {
      units: hidden,
      inputShape: [seq, inputs],
      recurrentActivation: 'sigmoid',
      kernelInitializer: init(),
      recurrentInitializer: init(),
      biasInitializer: init(),
    }),
  );
  m.add(tf.layers.dense({ units: 1 }));
  return m;
}

export function lstmStep(tf: Tf, m: TfModule.Sequential, opt: TfModule.Optimizer, x: T, y: T): number {
  const l = opt.minimize(
    () => tf.mean(tf.square(tf.sub(m.apply(x, { training: true }) as T, y))) as TfModule.Scalar,
    true,
  )!;
  const v = l.dataSync()[0]!;
  l.dispose();
  return v;
}
