import type * as TfModule from '@tensorflow/tfjs';
import { fusedAdam, type FusedAdamOptimizer } from '../../../compute/fusedAdam';
import { VIC3L_PARAMS } from '../../../physics/vic3l';
import { defaultValue, type GriddedProblem } from '../../gridded/problem';
import { dcganDiscriminator, unetGenerator } from '../../nets/ganPo';
import { dayImages, descriptorImage, imageLayout, type ImageLayout } from './images';
import type { GanPoOptions } from './options';
import { batchTarget, type BatchDesign, type StateCache } from './simulate';

type BatchReuse = NonNullable<Parameters<typeof batchTarget>[7]>;

type Tf = typeof TfModule;
type T = TfModule.Tensor;

/**
 * L_R = L_ub + L_lb (Sun et al. 2024, eq. 2): the mean excess of the generated values over the
 * upper bound, taken over the values that exceed it (0 when none does), plus the same below the
 * lower bound; `raw` [cells x k], bounds [1 x k]. The counts are constants of the gradient.
 */
export function rangeLoss(tf: Tf, raw: T, lower: T, upper: T): T {
  const side = (excess: T) => {
    const count = tf.sum(tf.step(excess)); // step: 1 where x > 0, gradient 0
    return tf.div(tf.sum(tf.relu(excess)), tf.maximum(count, 1));
  };
  return tf.add(side(tf.sub(raw, upper)), side(tf.sub(lower, raw)));
}

/**
 * `raw` clipped to [lower, upper] in the forward, with the gradient passed to `raw` unchanged (a
 * straight-through estimator, Bengio et al. 2013): a value past its bound still learns which way the
 * model's loss wants it, as it would through the paper's surrogate, which took unclipped values.
 */
export function clipPassingGradient(tf: Tf, raw: T, lower: T, upper: T): T {
  const f = tf.customGrad((...args: Array<T | TfModule.GradSaveFunc>) => ({
    value: tf.minimum(tf.maximum(args[0] as T, lower), upper),
    gradFunc: (dy: T) => dy,
  }));
  return f(raw);
}

/** The losses of one training step. */
export interface StepLosses {
  d: number;
  gAdv: number;
  gL1: number;
  gRange: number;
}

/**
 * The two networks, their optimisers and the fixed tensors of a problem: the descriptor image,
 * the bounds, the layout maps and the training days' discriminator inputs.
 */
export class GanPoNets {
  readonly layout: ImageLayout;
  readonly G: TfModule.LayersModel;
  readonly D: TfModule.LayersModel | null;
  readonly optG: FusedAdamOptimizer;
  readonly optD: FusedAdamOptimizer | null;
  private readonly x: T;
  private readonly lower: T;
  private readonly upper: T;
  private readonly span: T;
  private readonly defaults: T;
  /** 0/1 matrices (matrix products instead of gathers: tfjs's gather gradient is a slow JS segment sum). */
  private readonly columns: T;
  private readonly pick: T;
  private readonly days: ReturnType<typeof dayImages>;
  /** Observed target of the training days in cell layout [days x cells] (0 where missing) and its mask. */
  private readonly obsCells: Float32Array;
  private readonly maskCells: Float32Array;
  /**
   * h() through a surrogate (calibration/gridded/surrogate.ts): the calibrated parameters
   * [cells x calibrated] (clipped) to the target of days [s, e) [e - s x cells], differentiable;
   * null: the exact vic3l (`batchTarget`).
   */
  surrogateH: ((clipped: TfModule.Tensor2D, s: number, e: number) => TfModule.Tensor2D) | null = null;

  constructor(
    private readonly tf: Tf,
    private readonly pr: GriddedProblem,
    private readonly o: GanPoOptions,
    seed: number,
  ) {
    const L = (this.layout = imageLayout(pr));
    const k = pr.calibrated.length;
    const nd = pr.descriptorNames.length;
    const [t0, t1] = pr.periods.train;
    this.days = dayImages(pr, L, t0, t1, [t0, t1]);
    const sizes = { H: L.H, W: L.W, CA: nd, CP: k, CF: this.days.vars };
    this.G = unetGenerator(tf, sizes, { seed, output: o.output, filters: o.filters });
    this.D =
      o.ablation === 'l1-only'
        ? null
        : dcganDiscriminator(tf, sizes, { seed: seed + 7919, filters: o.filters });
    // Adam (Kingma & Ba 2015) with the paper's lr and betas; epsilon 1e-8 as PyTorch's default
    this.optG = fusedAdam(tf, o.learningRate, o.beta1, o.beta2, 1e-8);
    this.optD = this.D ? fusedAdam(tf, o.learningRate, o.beta1, o.beta2, 1e-8) : null;
    this.x = tf.tensor4d(descriptorImage(pr, L), [1, L.H, L.W, nd]);
    this.lower = tf.tensor2d(pr.lower, [1, k]);
    this.upper = tf.tensor2d(pr.upper, [1, k]);
    this.span = tf.tensor2d(
      pr.upper.map((u, j) => u - pr.lower[j]!),
      [1, k],
    );
    // uncalibrated parameters at their structure defaults; columns maps the 7 vic3l parameters
    const fixed = VIC3L_PARAMS.filter((n) => !pr.calibrated.includes(n));
    this.defaults = tf.tensor2d(
      Float32Array.from({ length: pr.cells * fixed.length }, (_, i) =>
        defaultValue(fixed[i % fixed.length]!),
      ),
      [pr.cells, fixed.length],
    );
    // columns [7 x 7]: calibrated then fixed columns -> vic3l's order
    const cols = new Float32Array(7 * 7);
    VIC3L_PARAMS.forEach((n, j) => {
      const from = pr.calibrated.includes(n) ? pr.calibrated.indexOf(n) : k + fixed.indexOf(n);
      cols[from * 7 + j] = 1;
    });
    this.columns = tf.tensor2d(cols, [7, 7]);
    // pick [cells x H W]: an active cell's image position (pick · image gives cells, cells · pick the image)
    const pick = new Float32Array(pr.cells * L.H * L.W);
    L.pos.forEach((p, c) => (pick[c * L.H * L.W + p] = 1));
    this.pick = tf.tensor2d(pick, [pr.cells, L.H * L.W]);
    const n = pr.cells;
    this.obsCells = new Float32Array((t1 - t0) * n);
    this.maskCells = new Float32Array((t1 - t0) * n);
    for (let i = 0; i < this.obsCells.length; i++) {
      const v = pr.target.obs[t0 * n + i]!;
      if (Number.isFinite(v)) {
        this.obsCells[i] = v;
        this.maskCells[i] = 1;
      }
    }
  }

  gVars(): TfModule.Variable[] {
    return this.G.trainableWeights.map((w) => w.read() as TfModule.Variable);
  }

  dVars(): TfModule.Variable[] {
    return this.D ? this.D.trainableWeights.map((w) => w.read() as TfModule.Variable) : [];
  }

  /**
   * The generator's parameters: `raw` [cells x calibrated] = lower + o (upper - lower) of its output
   * o (linear: may leave the range; sigmoid: inside it), `full` [cells x 7] the vic3l parameters the
   * model runs on (raw clipped to the range, the others at their defaults). The generator runs as in
   * training (batch statistics of the one descriptor image) at every use, as pix2pix at inference
   * (Isola et al. 2017, section 3.3).
   */
  params(): { raw: T; full: TfModule.Tensor2D; clipped: TfModule.Tensor2D } {
    const { tf, layout: L } = this;
    const k = this.pr.calibrated.length;
    const out = this.G.apply(this.x, { training: true }) as T;
    const atCells = tf.matMul(this.pick, tf.reshape(out, [L.H * L.W, k]));
    const raw = tf.add(this.lower, tf.mul(atCells, this.span));
    const clipped =
      this.o.clipGradient === 'pass'
        ? clipPassingGradient(tf, raw, this.lower, this.upper)
        : tf.minimum(tf.maximum(raw, this.lower), this.upper);
    const all = this.defaults.shape[1] ? tf.concat([clipped, this.defaults], 1) : clipped;
    const full = tf.matMul(all, this.columns) as TfModule.Tensor2D;
    return { raw, full, clipped: clipped as TfModule.Tensor2D };
  }

  /** A batch's simulated target [B x cells] as the discriminator sees it: standardised, on the image, masked. */
  private image(sim: T, d0: number, B: number): T {
    const { tf, layout: L } = this;
    const { mean, sd } = this.days.target;
    const z = tf.div(tf.sub(sim, mean), sd);
    const padded = tf.matMul(z, this.pick);
    return tf.mul(tf.reshape(padded, [B, L.H, L.W, 1]), this.daySlice(this.days.mask, d0, B, 1));
  }

  private daySlice(a: Float32Array, d0: number, B: number, ch: number): T {
    const px = this.layout.H * this.layout.W * ch;
    return this.tf.tensor4d(a.subarray(d0 * px, (d0 + B) * px), [B, this.layout.H, this.layout.W, ch]);
  }

  /** h() of days [s, e): the surrogate's when set, else the exact vic3l's (`sequence`). */
  private h(
    p: { full: TfModule.Tensor2D; clipped: TfModule.Tensor2D },
    cache: StateCache,
    s: number,
    e: number,
    reuse?: BatchReuse,
  ): T {
    if (this.surrogateH) return this.surrogateH(p.clipped, s, e);
    const { sequence, warmupWindow } = this.o;
    const design: BatchDesign =
      sequence === 'full' ? { kind: 'full' } : { kind: sequence, window: warmupWindow };
    return batchTarget(this.tf, this.pr, p.full, cache, s, e, design, reuse);
  }

  /** The discriminator's judgement of [forcing of the day, target field] (Sun et al. 2024, after Pan et al. 2021). */
  private judge(forcing: T, target: T): T {
    return this.D!.apply(this.tf.concat([forcing, target], -1), { training: true }) as T;
  }

  /**
   * One training step on the days [s, e) of the problem: the discriminator first, on the
   * observed fields against the generator's current simulation (least squares, Mao et al. 2017:
   * (D(f, y) - 1)² + D(f, h(G(x)))²), then the generator on (D(f, h(G(x))) - 1)² + λl L1 + λr L_R
   * (Sun et al. 2024, eq. 3 with the least-squares adversarial loss, section 2.1.2). Not
   * `adversarial` (the pre-training epochs): the generator's step alone, without the adversarial term.
   */
  step(cache: StateCache, s: number, e: number, adversarial = true): StepLosses {
    const { tf, pr, o } = this;
    const d0 = s - pr.periods.train[0];
    const B = e - s;
    let d = 0;
    // the discriminator's step simulates what the generator's forward does (same weights): run once
    const reuse: BatchReuse = {};
    const D = adversarial ? this.D : null;
    if (D) {
      const forcing = this.daySlice(this.days.forcing, d0, B, this.days.vars);
      const real = this.daySlice(this.days.obs, d0, B, 1);
      const fake = tf.tidy(() => this.image(this.h(this.params(), cache, s, e, reuse), d0, B));
      const dl = this.optD!.minimize(
        () => {
          const r = tf.mean(tf.square(tf.sub(this.judge(forcing, real), 1)));
          return tf.add(r, tf.mean(tf.square(this.judge(forcing, fake)))) as TfModule.Scalar;
        },
        true,
        this.dVars(),
      )!;
      d = dl.dataSync()[0]!;
      tf.dispose([dl, forcing, real, fake]);
    }
    const n = pr.cells;
    const obs = tf.tensor2d(this.obsCells.subarray(d0 * n, (d0 + B) * n), [B, n]);
    const mask = tf.tensor2d(this.maskCells.subarray(d0 * n, (d0 + B) * n), [B, n]);
    const forcing = D ? this.daySlice(this.days.forcing, d0, B, this.days.vars) : null;
    const parts: T[] = [];
    const gl = this.optG.minimize(
      () => {
        const p = this.params();
        const { raw } = p;
        const sim = this.h(p, cache, s, e, reuse);
        // L1 (Sun et al. 2024 eq. 3, λl term): mean absolute error over observed active cells
        const l1 = tf.div(tf.sum(tf.mul(tf.abs(tf.sub(sim, obs)), mask)), tf.maximum(tf.sum(mask), 1));
        const range = rangeLoss(tf, raw, this.lower, this.upper);
        const adv = forcing
          ? tf.mean(tf.square(tf.sub(this.judge(forcing, this.image(sim, d0, B)), 1)))
          : tf.scalar(0);
        parts.push(tf.keep(adv), tf.keep(l1), tf.keep(range));
        return tf.addN([adv, tf.mul(o.lambdaL1, l1), tf.mul(o.lambdaRange, range)]) as TfModule.Scalar;
      },
      true,
      this.gVars(),
    )!;
    const [gAdv, gL1, gRange] = parts.map((p) => p.dataSync()[0]!);
    tf.dispose([gl, obs, mask, ...(forcing ? [forcing] : []), ...parts]);
    return { d, gAdv: gAdv!, gL1: gL1!, gRange: gRange! };
  }

  /** The generator's calibrated fields (clipped to the ranges) and the full parameter values, [cells x 7]. */
  fields(): { fields: Float64Array[]; full: Float32Array; excess: number } {
    const { tf, pr } = this;
    const k = pr.calibrated.length;
    const { raw, full, excess } = tf.tidy(() => {
      const p = this.params();
      return { raw: p.raw, full: p.full, excess: rangeLoss(tf, p.raw, this.lower, this.upper) };
    });
    const r = raw.dataSync();
    const fv = full.dataSync() as Float32Array;
    const ex = excess.dataSync()[0]!;
    tf.dispose([raw, full, excess]);
    const fields = pr.calibrated.map((_, j) =>
      Float64Array.from({ length: pr.cells }, (_, c) =>
        Math.min(pr.upper[j]!, Math.max(pr.lower[j]!, r[c * k + j]!)),
      ),
    );
    return { fields, full: fv, excess: ex };
  }

  /** Every weight of both networks (batch-norm statistics included), in a fixed order. */
  weights(): Float32Array[] {
    const all = [...this.G.getWeights(), ...(this.D?.getWeights() ?? [])];
    return all.map((w) => (w.dataSync() as Float32Array).slice());
  }

  setWeights(values: Float32Array[]): void {
    const { tf } = this;
    const g = this.G.getWeights();
    const d = this.D?.getWeights() ?? [];
    const make = (ref: T[], from: number) => ref.map((w, i) => tf.tensor(values[from + i]!, w.shape));
    const gt = make(g, 0);
    const dt = make(d, g.length);
    this.G.setWeights(gt);
    this.D?.setWeights(dt);
    tf.dispose([...gt, ...dt]);
  }

  /** The generator's weights only (the best one is kept). */
  generatorWeights(): Float32Array[] {
    return this.G.getWeights().map((w) => (w.dataSync() as Float32Array).slice());
  }

  setGeneratorWeights(values: Float32Array[]): void {
    const t = this.G.getWeights().map((w, i) => this.tf.tensor(values[i]!, w.shape));
    this.G.setWeights(t);
    this.tf.dispose(t);
  }

  dispose(): void {
    this.optG.dispose();
    this.optD?.dispose();
    this.G.dispose();
    this.D?.dispose();
    this.tf.dispose([this.x, this.lower, this.upper, this.span, this.defaults, this.columns, this.pick]);
  }
}
