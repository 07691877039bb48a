import type * as TfModule from '@tensorflow/tfjs';
import { FieldcalError } from '../../../src-shared/ipc';
import { computeHandle } from '../compute';
import { conv2d } from '../compute/fusedLayers';
import {
  checkFields,
  checkProblem,
  checkSteps,
  forcingNames,
  Moments,
  normalGenerator,
  standardFields,
  standardForcing,
  standardisation,
  TrainingData,
  type Standardisation,
} from './data';
import { checkManifestProblem, problemFacts, readSurrogate, writeSurrogate } from './store';
import {
  DEFAULT_TRAIN,
  readWeights,
  trainNet,
  writeWeights,
  type Batch,
  type NetTrainer,
  type SurrogateProgress,
  type TrainableSurrogate,
  type TrainResult,
  type TrainSettings,
} from './train';
import type { Ensemble, SurrogateProblem } from './types';

type Tf = typeof TfModule;
type S = TfModule.SymbolicTensor;

/**
 * ARnet: the image-to-image autoregressive surrogate of Sun, Pan & Duan 2023 (J. Hydrol. 624,
 * 129944), used by the GAN-PO paper (Sun, Pan & Duan 2024, sections 3.2 and 4.4: "converts the
 * distributed surrogate modeling to an image-to-image regression task"; "directly takes parameter
 * fields as input and outputs target field"; architecture by reference to the 2023 paper only).
 *
 * What the GAN-PO paper gives, kept here: inputs are the parameter fields and the forcing fields of
 * day t, plus (autoregressive) the previous day's simulated target field; output the target field
 * of day t; MSE, Adam, early stopping on validation members (the same protocol as the LSTM).
 *
 * What it leaves open, chosen here:
 * - The network is a dense convolutional encoder-decoder after the deep autoregressive networks of
 *   Mo et al. 2019 (WRR 55, 3856: DenseED with the previous output as an input; the 2023 paper's
 *   own layer table is not available here, so its sizes are not copied): a 3 x 3 convolution, a
 *   dense block (Huang et al. 2017: each layer's 3 x 3 ReLU convolution sees all earlier
 *   features), a stride-2 convolution down, a dense block, a stride-2 transposed convolution up,
 *   concatenated with the full-resolution dense block (a U-Net skip: on grids of a few dozen cells
 *   a side the fine detail matters), a last dense block, and two 1 x 1 convolutions to the linear
 *   output. No batch normalisation: training and rollout then compute exactly the same function.
 * - `lags` previous days' fields (default 1, the paper's "previous day").
 * - Channels are standardised with the training members' statistics (as the LSTM); inactive cells
 *   and the padding to even rows and columns are 0 in the inputs and masked out of the loss.
 * - Lag channels in training, and the rollout drift. `predict` rolls out from step 0 on its own
 *   outputs (the field before step 0 is the training mean), whatever t0 is: the state at t0
 *   depends on every day before it. Trained with teacher forcing only (the lag channels the
 *   model's, i.e. vic3l's, previous-day fields), the network never sees its own errors, and in the
 *   rollout they accumulate: the held-out one-step NSE was far above the rollout's (bench
 *   `surrogate`, `arnet.heldout_one_step`). Two remedies, both on by default:
 *   - noise on the teacher-forced lag channels, `noise` standard deviations (standardised units;
 *     default 0.5: on the test ensemble the rollout median NSE was -0.01 with 0.05 and 0.39 with
 *     0.5; noise injection, Sanchez-Gonzalez et al. 2020, ICML);
 *   - training on its own rollouts (DAgger, Ross, Gordon & Bagnell 2011, AISTATS; "data as
 *     demonstrator", Venkatraman, Hebert & Bagnell 2015, AAAI; scheduled sampling, Bengio et al.
 *     2015): before each epoch, `rolloutMembers` train members drawn with the epoch's seed are
 *     rolled out with the current weights over `rolloutDays` days from a seeded start (from the
 *     model's field before it: a window, not the whole record, so the rollouts cost about what the
 *     epoch's training batches cost), and a share `rollout` of each batch's samples takes its day
 *     in such a window and its lag channels from the rollout (no noise: the rollout's error is the
 *     perturbation), its target the model's field. `rollout` 0 is teacher forcing alone.
 *   The validation loss (early stopping) is then the rollout's own error: with `rollout` > 0 the
 *   first `rolloutMembers` validation members are rolled out over fixed seeded windows before
 *   each validation pass, and the validation samples are drawn in them with lags from the rollout
 *   (the one-step prediction from the rollout's previous day is the rollout's next day), without
 *   noise; with `rollout` 0 it is the one-step loss on the model's previous-day fields. The
 *   rollout's accuracy over the whole record on held-out members is what `accuracy.ts` measures.
 * - Batches of 16 fields (one field is one cell-day per active cell: 16 x 408 ≈ 6,500 cell-days
 *   on the paper grid, the LSTM's 400 sequences being 400 cell-days).
 * - Antecedent forcing channels: the model's soil moisture integrates weeks of rainfall and
 *   evaporative demand, which one day's forcing and the previous day's target field do not show;
 *   the LSTM sees it through its 30-day window. For each time constant τ in `antecedent` (days),
 *   the exponentially weighted mean of P and of PET up to day t, a(t) = a(t-1) + (x(t) - a(t-1)) / τ
 *   (the antecedent precipitation index of Kohler & Linsley 1951, normalised), standardised over all
 *   steps and cells. Forcing-derived: the same in training, rollout and calibration, no drift.
 */
export interface ArnetConfig {
  /** Features of the first convolution. */
  features: number;
  /** Growth rate and layers of each dense block. */
  growth: number;
  layers: number;
  lags: number;
  /** Teacher-forcing noise on the lag channels (standard deviations). */
  noise: number;
  /** Share of training samples whose lag channels come from the network's own rollout (0: none). */
  rollout: number;
  /** Members rolled out before each epoch (train) and each validation pass (valid). */
  rolloutMembers: number;
  /** Days of each training rollout: a window at a seeded start, from the model's fields before it. */
  rolloutDays: number;
  /** Time constants (days) of the antecedent P and PET channels (exponentially weighted means); [] none. */
  antecedent: number[];
}

// rollout 0.5, 16 members, 60 days: chosen here; bench `surrogate` (paper twin, 16 members, 120 days,
// 4 epochs, 2 held-out members): rollout median NSE 0.30 with teacher forcing alone (one-step 0.78),
// 0.53 with these (one-step 0.67); per epoch 2 x 60 batched forward passes of 16 images, about the cost of the paper's 50
// training batches (full-record rollouts, 1,095 days, cost 10 times that)
// antecedent 7 and 30 days: chosen here (a week, and the LSTM's window); bench `surrogate` (defaults, 8 epochs):
// held-out rollout NSE median 0.24 without them, 0.75 with (worst decile -4.7 / -1.2), 0.72 with 3, 10, 30, 90 days;
// the LSTM 0.76 on the same case
const ANTECEDENT_DAYS = [7, 30];
export const ARNET_DEFAULTS: ArnetConfig = {
  features: 32,
  growth: 16,
  layers: 3,
  lags: 1,
  noise: 0.5,
  rollout: 0.5,
  rolloutMembers: 16,
  rolloutDays: 60,
  antecedent: ANTECEDENT_DAYS,
};
export const ARNET_TRAIN: Partial<TrainSettings> = { batchSize: 16 };

/**
 * The antecedent channels of `problem` (see ArnetConfig.antecedent): for P and PET and each time
 * constant τ, a(t) = a(t-1) + (x(t) - a(t-1)) / τ from a(0) = x(0), per cell, standardised with its
 * own mean and standard deviation over all steps and cells. [steps x cells] each.
 */
export function antecedentForcing(problem: SurrogateProblem, taus: readonly number[]): Float32Array[] {
  const { steps, cells } = problem;
  const out: Float32Array[] = [];
  for (const name of ['P', 'PET'] as const) {
    const x = problem.forcing[name];
    for (const tau of taus) {
      const a = new Float64Array(steps * cells);
      for (let k = 0; k < cells; k++) a[k] = x[k]!;
      for (let t = 1; t < steps; t++)
        for (let k = 0; k < cells; k++) {
          const prev = a[(t - 1) * cells + k]!;
          a[t * cells + k] = prev + (x[t * cells + k]! - prev) / tau;
        }
      const m = new Moments();
      for (const v of a) m.add(v);
      const { mean, std } = m.get(); // as the forcing's: a constant series standardises to 0
      out.push(Float32Array.from(a, (v) => (v - mean) / std));
    }
  }
  return out;
}

function buildModel(
  tf: Tf,
  h: number,
  w: number,
  channels: number,
  c: ArnetConfig,
  seed: number,
): TfModule.LayersModel {
  let next = seed * 64;
  const init = () => ({ kernelInitializer: tf.initializers.glorotUniform({ seed: next++ }) });
  const conv = (x: S, filters: number, k: number, strides = 1, activation: 'relu' | 'linear' = 'relu') =>
    conv2d(tf, { filters, kernelSize: k, strides, padding: 'same', activation, ...init() }).apply(x) as S;
  const cat = (xs: S[]) => tf.layers.concatenate({ axis: -1 }).apply(xs) as S;
  const dense = (x: S) => {
    let y = x;
    for (let i = 0; i < c.layers; i++) y = cat([y, conv(y, c.growth, 3)]);
    return y;
  };
  const input = tf.input({ shape: [h, w, channels] });
  const d1 = dense(conv(input, c.features, 3));
  const d2 = dense(conv(d1, 2 * c.features, 3, 2));
  const up = tf.layers
    .conv2dTranspose({
      filters: c.features,
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      activation: 'relu',
      ...init(),
    })
    .apply(d2) as S;
  const d3 = dense(cat([up, d1]));
  const out = conv(conv(d3, c.features, 1), 1, 1, 1, 'linear');
  return tf.model({ inputs: input, outputs: out });
}

/** A trained ARnet surrogate (see {@link ArnetConfig}). */
export class ArnetSurrogate implements TrainableSurrogate {
  readonly kind = 'arnet' as const;
  readonly model: TfModule.LayersModel;
  private readonly forcing: Float32Array[];
  private readonly nf: number;
  private readonly np: number;
  /** Image height and width: the grid padded to even sizes. */
  readonly h: number;
  readonly w: number;
  /** Pixel of each active cell. */
  private readonly pixel: Int32Array;
  private readonly maskImage: Float32Array;
  private readonly paramCache = new Map<number, Float32Array[]>();

  constructor(
    readonly tf: Tf,
    readonly problem: SurrogateProblem,
    readonly stats: Standardisation,
    readonly config: ArnetConfig,
    readonly settings: TrainSettings,
    readonly data: TrainingData,
  ) {
    this.forcing = [...standardForcing(problem, stats), ...antecedentForcing(problem, config.antecedent)];
    this.nf = this.forcing.length;
    this.np = problem.parameters.length;
    this.h = problem.rows + (problem.rows % 2);
    this.w = problem.cols + (problem.cols % 2);
    this.pixel = new Int32Array(problem.cells);
    this.maskImage = new Float32Array(this.h * this.w);
    let k = 0;
    for (let r = 0; r < problem.rows; r++)
      for (let c = 0; c < problem.cols; c++)
        if (problem.mask[r * problem.cols + c]) {
          this.pixel[k++] = r * this.w + c;
          this.maskImage[r * this.w + c] = 1;
        }
    this.model = buildModel(tf, this.h, this.w, this.channels, config, settings.seed);
  }

  get channels(): number {
    return this.np + this.nf + this.config.lags;
  }

  key(): string {
    return JSON.stringify({
      kind: this.kind,
      config: this.config,
      settings: this.settings,
      stats: this.stats,
    });
  }

  private memberParams(member: number): Float32Array[] {
    let p = this.paramCache.get(member);
    if (!p) {
      if (this.paramCache.size >= 1024) this.paramCache.clear();
      p = standardFields(this.stats, this.data.params(member));
      this.paramCache.set(member, p);
    }
    return p;
  }

  /**
   * Writes the input image of step t at batch slot `b`: parameters, forcing of day t, and the lag
   * fields, `lag(l)` giving day t - l's standardised field over cells (null before step 0).
   */
  private fillImage(
    x: Float32Array,
    b: number,
    params: Float32Array[],
    t: number,
    lag: (l: number) => ArrayLike<number> | null,
    noise: (() => number) | null,
  ): void {
    const C = this.channels;
    const cells = this.problem.cells;
    const base = b * this.h * this.w * C;
    for (let k = 0; k < cells; k++) {
      const o = base + this.pixel[k]! * C;
      for (let q = 0; q < this.np; q++) x[o + q] = params[q]![k]!;
      for (let f = 0; f < this.nf; f++) x[o + this.np + f] = this.forcing[f]![t * cells + k]!;
    }
    for (let l = 1; l <= this.config.lags; l++) {
      const v = lag(l);
      const ch = this.np + this.nf + l - 1;
      for (let k = 0; k < cells; k++)
        x[base + this.pixel[k]! * C + ch] = v ? v[k]! + (noise ? noise() : 0) : 0;
    }
  }

  /**
   * Standardised rollouts of several members at once (their images batched, 32 at a time), member
   * b over days [from[b], from[b] + days): each day's lag channels are the rollout's own earlier
   * days, the model's (standardised `data` target) before from[b], the training mean before step 0.
   * From step 0 over the whole record it is what `predict` computes. Per member [days x cells].
   */
  rollouts(members: number[], from?: number[], days = this.problem.steps): Float32Array[] {
    const { tf, h, w } = this;
    const C = this.channels;
    const { cells } = this.problem;
    const { lags } = this.config;
    const { mean, std } = this.stats.target;
    const out: Float32Array[] = [];
    for (let g = 0; g < members.length; g += 32) {
      const group = members.slice(g, g + 32);
      const n = group.length;
      const starts = group.map((_, b) => from?.[g + b] ?? 0);
      const params = group.map((m) => this.memberParams(m));
      const before = group.map((m, b) => {
        const a = Math.max(0, starts[b]! - lags);
        return { a, z: Float32Array.from(this.data.target(m, a, starts[b]!), (v) => (v - mean) / std) };
      });
      const z = group.map(() => new Float32Array(days * cells));
      const x = new Float32Array(n * h * w * C);
      for (let d = 0; d < days; d++) {
        for (let b = 0; b < n; b++) {
          const t = starts[b]! + d;
          const pre = before[b]!;
          this.fillImage(
            x,
            b,
            params[b]!,
            t,
            (l) =>
              l <= d
                ? z[b]!.subarray((d - l) * cells, (d - l + 1) * cells)
                : t - l >= 0
                  ? pre.z.subarray((t - l - pre.a) * cells, (t - l - pre.a + 1) * cells)
                  : null,
            null,
          );
        }
        const y = tf.tidy(() => this.model.predict(tf.tensor4d(x, [n, h, w, C])) as TfModule.Tensor);
        const v = y.dataSync();
        for (let b = 0; b < n; b++)
          for (let k = 0; k < cells; k++) z[b]![d * cells + k] = v[b * h * w + this.pixel[k]!]!;
        y.dispose();
      }
      out.push(...z);
    }
    return out;
  }

  trainer(): NetTrainer {
    const { tf, h, w } = this;
    const C = this.channels;
    const { cells, steps } = this.problem;
    const { lags, noise, rollout, rolloutMembers } = this.config;
    const days = Math.min(this.config.rolloutDays, steps);
    const { mean, std } = this.stats.target;
    // the network's own rollouts (standardised) by member, each over a window of `days` days from
    // `from`: of this epoch's drawn train members, and of the validation members
    interface Roll {
      from: number;
      z: Float32Array;
    }
    let trainRolls = new Map<number, Roll>();
    let validRolls = new Map<number, Roll>();
    const rolled = (ms: number[], rand: () => number) => {
      const from = ms.map(() => Math.floor(rand() * (steps - days + 1)));
      const z = this.rollouts(ms, from, days);
      return new Map(ms.map((m, i) => [m, { from: from[i]!, z: z[i]! }]));
    };
    return {
      tf,
      model: this.model,
      prepare: (phase, members, rand) => {
        if (!(rollout > 0) || !members.length) return undefined;
        if (phase === 'valid') {
          const ms = members.slice(0, rolloutMembers);
          validRolls = rolled(ms, rand);
          return ms;
        }
        // a seeded draw without replacement (partial Fisher-Yates)
        const pool = [...members];
        const n = Math.min(rolloutMembers, pool.length);
        for (let i = 0; i < n; i++) {
          const j = i + Math.floor(rand() * (pool.length - i));
          [pool[i], pool[j]] = [pool[j]!, pool[i]!];
        }
        trainRolls = rolled(pool.slice(0, n), rand);
        return undefined;
      },
      batch: (pick, size, rand, training): Batch => {
        const x = new Float32Array(size * h * w * C);
        const y = new Float32Array(size * h * w);
        const wt = new Float32Array(size * h * w);
        const gauss = training && noise > 0 ? normalGenerator(rand) : null;
        const sd = gauss ? () => noise * gauss!() : null;
        const own = training ? [...trainRolls.keys()] : [];
        for (let b = 0; b < size; b++) {
          // a share `rollout` of training samples from this epoch's rollouts
          const fromRoll = own.length > 0 && rand() < rollout;
          const m = fromRoll ? own[Math.floor(rand() * own.length)]! : pick();
          const roll = fromRoll ? trainRolls.get(m)! : training ? null : (validRolls.get(m) ?? null);
          // a rolled-out sample's day lies in its rollout's window
          const t = roll ? roll.from + Math.floor(rand() * days) : Math.floor(rand() * steps);
          const a = Math.max(0, t - lags);
          const raw = this.data.target(m, a, t + 1);
          const z = Float32Array.from(raw, (v) => (v - mean) / std);
          const truth = (l: number) =>
            t - l >= 0 ? z.subarray((t - l - a) * cells, (t - l - a + 1) * cells) : null;
          this.fillImage(
            x,
            b,
            this.memberParams(m),
            t,
            roll
              ? (l) =>
                  t - l >= roll.from
                    ? roll.z.subarray((t - l - roll.from) * cells, (t - l - roll.from + 1) * cells)
                    : truth(l)
              : truth,
            roll ? null : sd,
          );
          for (let k = 0; k < cells; k++) {
            y[b * h * w + this.pixel[k]!] = z[(t - a) * cells + k]!;
          }
          wt.set(this.maskImage, b * h * w);
        }
        return {
          x: tf.tensor4d(x, [size, h, w, C]),
          y: tf.tensor4d(y, [size, h, w, 1]),
          w: tf.tensor4d(wt, [size, h, w, 1]),
        };
      },
    };
  }

  predict(fields: Float64Array[], t0: number, t1: number): Float64Array {
    checkFields(this.problem, fields);
    checkSteps(this.problem, t0, t1);
    const { tf, h, w } = this;
    const C = this.channels;
    const cells = this.problem.cells;
    const { mean, std } = this.stats.target;
    const params = standardFields(this.stats, fields);
    const out = new Float64Array((t1 - t0) * cells);
    // the last `lags` standardised fields of the rollout, newest first
    const recent: Float32Array[] = [];
    const x = new Float32Array(h * w * C);
    for (let t = 0; t < t1; t++) {
      this.fillImage(x, 0, params, t, (l) => recent[l - 1] ?? null, null);
      const y = tf.tidy(() => this.model.predict(tf.tensor4d(x, [1, h, w, C])) as TfModule.Tensor);
      const v = y.dataSync();
      const z = new Float32Array(cells);
      for (let k = 0; k < cells; k++) z[k] = v[this.pixel[k]!]!;
      y.dispose();
      recent.unshift(z);
      if (recent.length > this.config.lags) recent.pop();
      if (t >= t0) for (let k = 0; k < cells; k++) out[(t - t0) * cells + k] = z[k]! * std + mean;
    }
    return out;
  }

  /**
   * Teacher-forced predictions over [t0, t1): each day from the model's own previous-day fields
   * `truth` (target units, step-major [t1 x cells] from step 0) instead of the rollout's, the
   * inputs the network sees in teacher-forced training. Against `predict` it measures the
   * rollout's drift (the bench's `heldout_one_step`); no use in calibration.
   */
  oneStep(fields: Float64Array[], truth: ArrayLike<number>, t0: number, t1: number): Float64Array {
    checkFields(this.problem, fields);
    checkSteps(this.problem, t0, t1);
    const { tf, h, w } = this;
    const C = this.channels;
    const cells = this.problem.cells;
    if (truth.length < t1 * cells)
      throw new FieldcalError(
        'VALIDATION',
        `oneStep wants the target of steps [0, ${t1}) (${t1 * cells} values)`,
        {
          field: 'truth',
        },
      );
    const { mean, std } = this.stats.target;
    const params = standardFields(this.stats, fields);
    const out = new Float64Array((t1 - t0) * cells);
    const lagOf = (t: number) => (l: number) =>
      t - l >= 0
        ? Float32Array.from({ length: cells }, (_, k) => (Number(truth[(t - l) * cells + k]) - mean) / std)
        : null;
    for (let from = t0; from < t1; from += 32) {
      const n = Math.min(32, t1 - from);
      const x = new Float32Array(n * h * w * C);
      for (let b = 0; b < n; b++) this.fillImage(x, b, params, from + b, lagOf(from + b), null);
      const y = tf.tidy(() => this.model.predict(tf.tensor4d(x, [n, h, w, C])) as TfModule.Tensor);
      const v = y.dataSync();
      for (let b = 0; b < n; b++)
        for (let k = 0; k < cells; k++)
          out[(from + b - t0) * cells + k] = v[b * h * w + this.pixel[k]!]! * std + mean;
      y.dispose();
    }
    return out;
  }

  /**
   * The differentiable forward (issue 17, training through h()): `params` [cells x parameters] in
   * parameter units to the target over steps [t0, t1), [(t1 - t0) x cells] in target units, as the
   * autoregressive rollout `predict` makes, in tfjs ops so tf's autodiff gives the gradient to
   * `params` through every step of the rollout (convolutions and their transposes have tfjs
   * gradients; no fused kernel here). The rollout starts at t0 from `before`, the target of the
   * `lags` steps before t0 (step-major [lags x cells], oldest first, target units: e.g. a
   * `predict` over the whole record at the current parameters), held constant, as the exact model's
   * batches start from the states of the last full pass (gan-po/simulate.ts); steps before 0 are
   * the training mean (0 standardised), as in `predict`.
   */
  forward(params: TfModule.Tensor2D, t0: number, t1: number, before?: ArrayLike<number>): TfModule.Tensor2D {
    checkSteps(this.problem, t0, t1);
    const { tf, h, w } = this;
    const { cells } = this.problem;
    const { lags } = this.config;
    if (params.shape[0] !== cells || params.shape[1] !== this.np)
      throw new FieldcalError(
        'VALIDATION',
        `surrogate forward wants params [${cells} x ${this.np}], got [${params.shape.join(' x ')}]`,
        { field: 'params' },
      );
    const need = Math.min(lags, t0);
    if (need > 0 && (!before || before.length < need * cells))
      throw new FieldcalError(
        'VALIDATION',
        `ARnet forward from step ${t0} needs the target of the ${need} step(s) before it (${need * cells} values)`,
        { field: 'before' },
      );
    const { mean, std } = this.stats.target;
    const hw = h * w;
    const pickT = new Float32Array(hw * cells);
    for (let k = 0; k < cells; k++) pickT[this.pixel[k]! * cells + k] = 1;
    return tf.tidy(() => {
      const scatter = tf.tensor2d(pickT, [hw, cells]);
      const gather = tf.transpose(scatter);
      const toImage = (f: TfModule.Tensor) =>
        tf.reshape(tf.matMul(scatter, tf.reshape(f, [cells, -1])), [1, h, w, -1]);
      const pm = tf.tensor2d(
        this.stats.params.map((m) => m.mean),
        [1, this.np],
      );
      const ps = tf.tensor2d(
        this.stats.params.map((m) => m.std),
        [1, this.np],
      );
      const pImage = toImage(tf.div(tf.sub(params, pm), ps));
      const mask = tf.tensor4d(this.maskImage, [1, h, w, 1]);
      // newest first: recent[l - 1] is day t - l, standardised, as an image
      const recent: TfModule.Tensor[] = [];
      const zero = tf.zeros([1, h, w, 1]);
      for (let l = 1; l <= lags; l++) {
        const s = t0 - l;
        if (s < 0) recent.push(zero);
        else {
          const at = (need - l) * cells;
          const z = Float32Array.from({ length: cells }, (_, k) => (Number(before![at + k]) - mean) / std);
          recent.push(toImage(tf.tensor2d(z, [cells, 1])));
        }
      }
      const rows: TfModule.Tensor[] = [];
      for (let t = t0; t < t1; t++) {
        // a fresh array per step: tfjs's cpu backends may keep the array as the tensor's storage
        const fx = new Float32Array(hw * this.nf);
        for (let k = 0; k < cells; k++)
          for (let f = 0; f < this.nf; f++)
            fx[this.pixel[k]! * this.nf + f] = this.forcing[f]![t * cells + k]!;
        const x = tf.concat([pImage, tf.tensor4d(fx, [1, h, w, this.nf]), ...recent.slice(0, lags)], -1);
        const y = tf.mul(this.model.apply(x) as TfModule.Tensor, mask);
        recent.unshift(y);
        recent.length = Math.min(recent.length, lags);
        rows.push(tf.reshape(tf.matMul(gather, tf.reshape(y, [hw, 1])), [1, cells]));
      }
      return tf.add(tf.mul(tf.concat(rows, 0), std), mean) as TfModule.Tensor2D;
    });
  }

  async save(dir: string): Promise<void> {
    await writeSurrogate(
      dir,
      {
        kind: this.kind,
        config: { ...this.config },
        settings: this.settings,
        stats: this.stats,
        problem: problemFacts(this.problem, forcingNames(this.problem)),
      },
      readWeights(this.model),
      this.model.weights.map((wt) => wt.read().shape),
    );
  }

  dispose(): void {
    this.model.dispose();
  }
}

export interface ArnetTrainOptions {
  config?: Partial<ArnetConfig>;
  settings?: Partial<TrainSettings>;
  checkpointDir?: string;
  onProgress?: (p: SurrogateProgress) => void;
  beforeBatch?: (epoch: number, batch: number) => void;
}

function checkConfig(c: ArnetConfig): void {
  for (const k of ['features', 'growth', 'layers', 'lags', 'rolloutMembers', 'rolloutDays'] as const)
    if (!(Number.isInteger(c[k]) && c[k] >= 1))
      throw new FieldcalError('VALIDATION', `ARnet ${k} must be a positive integer (got ${c[k]})`, {
        field: k,
      });
  if (!(c.noise >= 0 && c.noise < 10))
    throw new FieldcalError('VALIDATION', `ARnet noise must be in [0, 10) (got ${c.noise})`, {
      field: 'noise',
    });
  if (!(c.rollout >= 0 && c.rollout <= 1))
    throw new FieldcalError('VALIDATION', `ARnet rollout must be in [0, 1] (got ${c.rollout})`, {
      field: 'rollout',
    });
  if (
    !Array.isArray(c.antecedent) ||
    c.antecedent.length > 8 ||
    !c.antecedent.every((d) => typeof d === 'number' && d >= 1 && d <= 3660)
  )
    throw new FieldcalError(
      'VALIDATION',
      `ARnet antecedent must be at most 8 time constants of 1 to 3,660 days (got ${JSON.stringify(c.antecedent)})`,
      { field: 'antecedent' },
    );
}

/** Trains ARnet on an ensemble's train members (early stopping on its validation members). */
export async function trainArnet(
  problem: SurrogateProblem,
  ensemble: Ensemble,
  o: ArnetTrainOptions = {},
): Promise<{ surrogate: ArnetSurrogate; result: TrainResult }> {
  checkProblem(problem);
  const config = { ...ARNET_DEFAULTS, ...o.config };
  checkConfig(config);
  const settings = { ...DEFAULT_TRAIN, ...ARNET_TRAIN, ...o.settings };
  const { tf } = await computeHandle();
  const data = new TrainingData(problem, ensemble);
  const s = new ArnetSurrogate(tf, problem, standardisation(data), config, settings, data);
  try {
    const result = await trainNet(s.trainer(), {
      settings,
      train: data.members('train'),
      valid: data.members('valid'),
      restoreBest: true,
      key: s.key(),
      ...(o.checkpointDir ? { checkpointDir: o.checkpointDir } : {}),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      ...(o.beforeBatch ? { beforeBatch: o.beforeBatch } : {}),
    });
    return { surrogate: s, result };
  } catch (err) {
    s.dispose();
    throw err;
  }
}

/** Loads a saved ARnet for a problem (same grid, parameters, target, model and data); see `loadLstm`. */
export async function loadArnet(
  dir: string,
  problem: SurrogateProblem,
  ensemble: Ensemble | null = null,
): Promise<ArnetSurrogate> {
  checkProblem(problem);
  const { manifest, weights } = await readSurrogate(dir);
  if (manifest.kind !== 'arnet')
    throw new FieldcalError('VALIDATION', `${dir} holds a ${manifest.kind} surrogate, not an ARnet`, {
      path: dir,
    });
  checkManifestProblem(dir, manifest, problem, forcingNames(problem));
  // a surrogate saved before the antecedent channels existed was trained without them
  const config = { ...ARNET_DEFAULTS, antecedent: [], ...manifest.config } as ArnetConfig;
  checkConfig(config);
  const { tf } = await computeHandle();
  const s = new ArnetSurrogate(
    tf,
    problem,
    manifest.stats,
    config,
    manifest.settings,
    new TrainingData(problem, ensemble),
  );
  try {
    writeWeights(tf, s.model, weights);
  } catch (err) {
    s.dispose();
    throw new FieldcalError('INVALID_FILE', `${dir}: ${(err as Error).message}`, { path: dir });
  }
  return s;
}
