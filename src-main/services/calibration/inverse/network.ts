import type * as TfModule from '@tensorflow/tfjs';
import { FieldcalError } from '../../../../src-shared/ipc';
import { mulberry32 } from '../../common/random';
import { fusedAdam, type FusedAdamOptimizer } from '../../compute/fusedAdam';

type Tf = typeof TfModule;

/**
 * The inverse network of simulation-based inverse mapping (Choi, Lee & Kim, EGU 2026): from the
 * discharge series at the gauges to one value per cell and parameter. Encoder: two 1-D
 * convolutions over time (gauges as channels, kernel 7 then 5, stride 2, ReLU), mean over time, a
 * dense layer to a latent vector (tanh). Decoder, per cell: the latent vector with the cell's
 * descriptors, a dense ReLU layer, a dense sigmoid layer to the parameters scaled to [0, 1] of
 * their bounds. MSE on the scaled parameters, Adam (Kingma & Ba 2015), early stopping on held-out
 * simulated pairs (the weights of the best held-out loss kept; Prechelt 1998). Every epoch can be checkpointed
 * and resumed exactly (InverseNetState). A series enters as an image of height 1 ([batch, 1, steps,
 * gauges]) so each convolution is one conv2d kernel (no reshapes around a conv1d); with one output
 * row and no descriptors (the coefficients output) the decoder is the latent vector alone; the
 * held-out loss is one forward pass. Measured on the Lez pairs (620 series of 3 x 182 days, batch
 * 32): 2440 kernels per epoch before, 1864 after, 188 tensors created per step before, 147 after.
 * What remains of a step's time on `cpu-native` is per-kernel: with 2 OpenMP threads and libgomp's
 * default spin-waiting, a loaded machine spends 80-145 ms of CPU per step, against 13-24 ms with
 * OMP_WAIT_POLICY=passive or 1 thread (the backend's setting, not this file's).
 */
export interface InverseNetConfig {
  filters: number;
  latent: number;
  hidden: number;
  epochs: number;
  batch: number;
  learningRate: number;
  patience: number;
  validFraction: number;
  /**
   * Observation-error augmentation: each training series is multiplied by exp(noise · ε), ε ~ N(0, 1)
   * per value, drawn afresh every epoch (0: none). The paper's flows are observations with error;
   * the network then does not read exact model output only (input noise as regularisation, Bishop 1995).
   */
  noise: number;
  seed: number;
  /** Seed of the held-out split (default `seed`): the members of an ensemble share one split. */
  splitSeed?: number;
}

/** Training pairs: per sample, the flows [gauges x steps] and the scaled parameters [cells x parameters]. */
export interface InversePairs {
  gauges: number;
  steps: number;
  cells: number;
  parameters: number;
  flows: Float32Array[];
  targets: Float32Array[];
}

export interface EpochRecord {
  epoch: number;
  train: number;
  valid: number;
}

/** Pairs per forward pass of the held-out loss: few passes, memory bounded for large pair sets. */
const LOSS_CHUNK = 1024;

/** Adam's defaults (Kingma & Ba 2015, Algorithm 1). */
const ADAM_B1 = 0.9;
const ADAM_B2 = 0.999;
const ADAM_EPS = 1e-8;

/** The network's training state after an epoch, JSON-serialisable (a checkpoint of the network phase). */
export interface InverseNetState {
  /** Epochs done. */
  epoch: number;
  weights: number[][];
  adam: { m: number[][]; v: number[][]; t: number };
  /** The shuffle generator's state (uint32) for the next epoch. */
  rng: number;
  /** Epochs since the best held-out loss. */
  since: number;
  best: { epoch: number; valid: number; weights: number[][] };
  history: EpochRecord[];
}

/** The series transform: log(1 + q) standardised per gauge with the training pairs' statistics; a missing value becomes the mean (0). */
export interface FlowScaling {
  mean: number[];
  sd: number[];
}

export function flowScaling(p: InversePairs, use: readonly number[]): FlowScaling {
  const mean = new Array<number>(p.gauges).fill(0);
  const sd = new Array<number>(p.gauges).fill(0);
  for (let g = 0; g < p.gauges; g++) {
    let s = 0;
    let s2 = 0;
    let n = 0;
    for (const i of use)
      for (let t = 0; t < p.steps; t++) {
        const v = Math.log1p(Math.max(0, p.flows[i]![g * p.steps + t]!));
        s += v;
        s2 += v * v;
        n++;
      }
    mean[g] = s / n;
    sd[g] = Math.sqrt(Math.max(1e-12, s2 / n - mean[g]! ** 2));
  }
  return { mean, sd };
}

/** A series [gauges x steps] as the network's input [steps x gauges]. */
function encodeFlow(
  f: ArrayLike<number>,
  gauges: number,
  steps: number,
  sc: FlowScaling,
  out: Float32Array,
  at: number,
) {
  for (let t = 0; t < steps; t++)
    for (let g = 0; g < gauges; g++) {
      const q = f[g * steps + t]!;
      out[at + t * gauges + g] = Number.isFinite(q)
        ? (Math.log1p(Math.max(0, q)) - sc.mean[g]!) / sc.sd[g]!
        : 0;
    }
}

export class InverseNet {
  private readonly vars: TfModule.Variable[];
  readonly history: EpochRecord[] = [];
  bestEpoch = -1;
  bestValid = Number.POSITIVE_INFINITY;
  private scaling: FlowScaling = { mean: [], sd: [] };
  private readonly opt: FusedAdamOptimizer;
  /** The descriptors [cells x max(1, nd)] as a constant tensor (zeros without any), or null for one output row and none. */
  private readonly desc: TfModule.Tensor2D | null;

  constructor(
    private readonly tf: Tf,
    private readonly shape: { gauges: number; steps: number; cells: number; parameters: number },
    private readonly descriptors: Float64Array,
    private readonly nd: number,
    private readonly cfg: InverseNetConfig,
  ) {
    if (descriptors.length !== shape.cells * nd)
      throw new FieldcalError('VALIDATION', `descriptors must be [${shape.cells} x ${nd}]`, {
        field: 'descriptors',
      });
    if (shape.steps < 16)
      throw new FieldcalError(
        'VALIDATION',
        `the inverse network needs at least 16 scored steps (got ${shape.steps})`,
        {
          field: 'periods',
        },
      );
    const rand = mulberry32(cfg.seed >>> 0);
    // Glorot uniform (Glorot & Bengio 2010), seeded
    const glorot = (shp: number[], fanIn: number, fanOut: number) => {
      const a = Math.sqrt(6 / (fanIn + fanOut));
      const n = shp.reduce((x, y) => x * y, 1);
      return tf.variable(
        tf.tensor(
          Float32Array.from({ length: n }, () => (2 * rand() - 1) * a),
          shp,
        ),
      );
    };
    const zeros = (n: number) => tf.variable(tf.zeros([n]));
    const { filters: F, latent: L, hidden: H } = cfg;
    const G = shape.gauges;
    const K = shape.parameters;
    this.vars = [
      glorot([1, 7, G, F], 7 * G, 7 * F),
      zeros(F),
      glorot([1, 5, F, F], 5 * F, 5 * F),
      zeros(F),
      glorot([F, L], F, L),
      zeros(L),
      glorot([L, H], L + nd, H),
      glorot([Math.max(1, nd), H], L + nd, H),
      zeros(H),
      glorot([H, K], H, K),
      zeros(K),
    ];
    // its step count and moments are saved and restored exactly (compute/fusedAdam.ts saveState/loadState)
    this.opt = fusedAdam(tf, cfg.learningRate, ADAM_B1, ADAM_B2, ADAM_EPS);
    this.desc =
      nd > 0
        ? tf.tensor2d(Float32Array.from(descriptors), [shape.cells, nd], 'float32')
        : shape.cells > 1
          ? tf.zeros([shape.cells, 1])
          : null;
  }

  /**
   * Scaled parameters [batch, cells, parameters] of a batch of encoded series [batch, 1, steps,
   * gauges] (a 1-D series as a 2-D image of height 1). Layers go through tfjs's fused ops
   * (convolution or product with its bias and activation): one kernel each without a gradient
   * (held-out loss, prediction); under a gradient tfjs runs bias and activation apart. On these
   * small tensors the number of kernels, not their arithmetic, sets a training step's time.
   */
  private forward(x: TfModule.Tensor4D): TfModule.Tensor3D {
    const tf = this.tf;
    const [c1, b1, c2, b2, we, be, wz, wd, bh, wo, bo] = this.vars as unknown as [
      TfModule.Tensor4D,
      TfModule.Tensor1D,
      TfModule.Tensor4D,
      TfModule.Tensor1D,
      TfModule.Tensor2D,
      TfModule.Tensor1D,
      TfModule.Tensor2D,
      TfModule.Tensor2D,
      TfModule.Tensor1D,
      TfModule.Tensor2D,
      TfModule.Tensor1D,
    ];
    const conv = (input: TfModule.Tensor4D, filter: TfModule.Tensor4D, bias: TfModule.Tensor1D) =>
      tf.fused.conv2d({ x: input, filter, strides: [1, 2], pad: 'same', bias, activation: 'relu' });
    const h2 = conv(conv(x, c1, b1), c2, b2);
    const pooled = tf.mean(h2, [1, 2]) as TfModule.Tensor2D;
    const z = tf.tanh(tf.fused.matMul({ a: pooled, b: we, bias: be })) as TfModule.Tensor2D;
    const B = x.shape[0];
    const { cells, parameters: K } = this.shape;
    const H = this.cfg.hidden;
    let h: TfModule.Tensor2D;
    if (!this.desc)
      // no descriptors (one output row per series): the latent vector alone
      h = tf.fused.matMul({ a: z, b: wz, bias: bh, activation: 'relu' }) as TfModule.Tensor2D;
    else {
      const fromZ = tf.matMul(z, wz).reshape([B, 1, H]);
      const fromD = tf.fused.matMul({ a: this.desc, b: wd, bias: bh }).reshape([1, cells, H]);
      h = tf.relu(tf.add(fromZ, fromD)).reshape([B * cells, H]);
    }
    return tf.fused.matMul({ a: h, b: wo, bias: bo, activation: 'sigmoid' }).reshape([B, cells, K]);
  }

  /** A batch's encoded series and targets; with `rand` and cfg.noise > 0, each flow value gets multiplicative log-normal noise. */
  private batchOf(p: InversePairs, idx: readonly number[], rand?: () => number) {
    const { gauges: G, steps: T, cells, parameters: K } = this.shape;
    const x = new Float32Array(idx.length * T * G);
    const y = new Float32Array(idx.length * cells * K);
    const noisy = rand && this.cfg.noise > 0 ? new Float32Array(G * T) : null;
    idx.forEach((i, b) => {
      let f: ArrayLike<number> = p.flows[i]!;
      if (noisy) {
        // Box-Muller on the epoch's generator (seeded: a resumed epoch draws the same noise)
        for (let j = 0; j < G * T; j++) {
          const e = Math.sqrt(-2 * Math.log(1 - rand!())) * Math.cos(2 * Math.PI * rand!());
          noisy[j] = f[j]! * Math.exp(this.cfg.noise * e);
        }
        f = noisy;
      }
      encodeFlow(f, G, T, this.scaling, x, b * T * G);
      y.set(p.targets[i]!, b * cells * K);
    });
    return { x, y };
  }

  /** Mean squared error over the pairs `idx`, in forward passes of up to LOSS_CHUNK pairs (the held-out set: usually one). */
  private loss(p: InversePairs, idx: readonly number[]): number {
    if (!idx.length) return Number.NaN;
    const tf = this.tf;
    const { gauges: G, steps: T, cells, parameters: K } = this.shape;
    let sum = 0;
    for (let s = 0; s < idx.length; s += LOSS_CHUNK) {
      const part = idx.slice(s, s + LOSS_CHUNK);
      const { x, y } = this.batchOf(p, part);
      sum += tf.tidy(() => {
        const pred = this.forward(tf.tensor4d(x, [part.length, 1, T, G]));
        return tf.sum(tf.squaredDifference(pred, tf.tensor3d(y, [part.length, cells, K]))).dataSync()[0]!;
      });
    }
    return sum / (idx.length * cells * K);
  }

  /** One Adam step (Kingma & Ba 2015, Algorithm 1: β1 = 0.9, β2 = 0.999, ε = 1e-8) on the loss of a batch. */
  private adamStep(f: () => TfModule.Scalar): number {
    const tf = this.tf;
    const { value, grads } = tf.variableGrads(f, this.vars);
    this.opt.applyGradients(grads);
    const out = value.dataSync()[0]!;
    value.dispose();
    tf.dispose(grads);
    return out;
  }

  /** The weights as plain numbers (float32 values: exact through JSON). */
  private snapshot(vars: readonly TfModule.Variable[]): number[][] {
    return vars.map((v) => Array.from(v.dataSync()));
  }

  /** Adam's state as plain numbers (float32 values: exact through JSON). */
  private adamState(): InverseNetState['adam'] {
    const s = this.opt.saveState(this.vars);
    return { t: s.t, m: s.m.map((a) => Array.from(a)), v: s.v.map((a) => Array.from(a)) };
  }

  /** Refuses saved arrays that do not fit the network's variables. */
  private checkShapes(vars: readonly TfModule.Variable[], values: readonly number[][], what: string): void {
    if (values.length !== vars.length || values.some((a, k) => a.length !== vars[k]!.size))
      throw new FieldcalError(
        'VALIDATION',
        `the checkpoint's ${what} do not match the network (options.network changed since it was saved?)`,
        { field: 'resume' },
      );
  }

  private restoreInto(vars: readonly TfModule.Variable[], values: readonly number[][], what: string): void {
    this.checkShapes(vars, values, what);
    vars.forEach((v, k) => {
      const t = this.tf.tensor(Float32Array.from(values[k]!), v.shape);
      v.assign(t);
      t.dispose();
    });
  }

  /** The seeded held-out split of the pairs; sets the flow scaling from the training pairs only. */
  private splitOf(p: InversePairs): { valid: number[]; train: number[] } {
    const n = p.flows.length;
    const split = mulberry32(((this.cfg.splitSeed ?? this.cfg.seed) ^ 0x51ed27) >>> 0);
    const order = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(split() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const nv = Math.max(1, Math.round(this.cfg.validFraction * n));
    const valid = order.slice(0, nv);
    const train = order.slice(nv);
    this.scaling = flowScaling(p, train);
    return { valid, train };
  }

  /** The weights as plain numbers (a trained member kept in a checkpoint). */
  weights(): number[][] {
    return this.snapshot(this.vars);
  }

  /** A trained network again from its weights (`weights()`) and the pairs it was trained on (the split and scaling). */
  restore(p: InversePairs, weights: readonly number[][]): { valid: number[]; train: number[] } {
    const split = this.splitOf(p);
    this.restoreInto(this.vars, weights, 'member weights');
    return split;
  }

  /**
   * Trains on the pairs (a seeded `validFraction` held out), one call of `onEpoch` per epoch;
   * stops after `patience` epochs without a better held-out loss, or when `cancelled`. After every
   * epoch `checkpoint` receives the whole training state (weights, Adam's moments and step, the
   * generator state, the epoch, the best weights so far and the history); `resume` continues from
   * such a state and ends where an uninterrupted run does. Returns the held-out indices.
   */
  train(
    p: InversePairs,
    onEpoch?: (e: EpochRecord) => void,
    cancelled?: () => boolean,
    hooks: { checkpoint?: (s: InverseNetState) => void; resume?: InverseNetState } = {},
  ): { valid: number[]; train: number[] } {
    const tf = this.tf;
    const n = p.flows.length;
    if (n < 4)
      throw new FieldcalError(
        'VALIDATION',
        `the inverse network needs at least 4 plausible simulated pairs (got ${n})`,
        {
          field: 'options.candidates',
        },
      );
    const { valid, train } = this.splitOf(p);
    const { gauges: G, steps: T, cells, parameters: K } = this.shape;
    let best = this.snapshot(this.vars);
    let since = 0;
    let epoch = 0;
    // each epoch's shuffle comes from a generator seeded by the previous one's draw (the state is one uint32)
    let rng = (this.cfg.seed ^ 0x2545f491) >>> 0;
    const r = hooks.resume;
    if (r) {
      this.restoreInto(this.vars, r.weights, 'weights');
      this.checkShapes(this.vars, r.adam.m, "Adam's first moments");
      this.checkShapes(this.vars, r.adam.v, "Adam's second moments");
      this.opt.loadState(this.vars, {
        t: r.adam.t,
        m: r.adam.m.map((a) => Float32Array.from(a)),
        v: r.adam.v.map((a) => Float32Array.from(a)),
      });
      rng = r.rng >>> 0;
      epoch = r.epoch;
      since = r.since;
      best = r.best.weights;
      this.bestEpoch = r.best.epoch;
      // JSON keeps no Infinity: a missing best is +Infinity again
      this.bestValid = typeof r.best.valid === 'number' ? r.best.valid : Number.POSITIVE_INFINITY;
      this.history.length = 0;
      this.history.push(...r.history);
    }
    while (epoch < this.cfg.epochs && since < this.cfg.patience) {
      const rand = mulberry32(rng);
      rng = Math.floor(rand() * 2 ** 32) >>> 0;
      const perm = train.slice();
      for (let i = perm.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [perm[i], perm[j]] = [perm[j]!, perm[i]!];
      }
      let tl = 0;
      for (let s = 0; s < perm.length; s += this.cfg.batch) {
        const part = perm.slice(s, s + this.cfg.batch);
        const { x, y } = this.batchOf(p, part, rand);
        const xt = tf.tensor4d(x, [part.length, 1, T, G]);
        const yt = tf.tensor3d(y, [part.length, cells, K]);
        tl +=
          this.adamStep(() => tf.mean(tf.squaredDifference(this.forward(xt), yt)) as TfModule.Scalar) *
          part.length;
        xt.dispose();
        yt.dispose();
      }
      epoch++;
      const rec = { epoch, train: tl / train.length, valid: this.loss(p, valid) };
      this.history.push(rec);
      onEpoch?.(rec);
      if (rec.valid < this.bestValid) {
        this.bestValid = rec.valid;
        this.bestEpoch = rec.epoch;
        best = this.snapshot(this.vars);
        since = 0;
      } else since++;
      hooks.checkpoint?.({
        epoch,
        weights: this.snapshot(this.vars),
        adam: this.adamState(),
        rng,
        since,
        best: { epoch: this.bestEpoch, valid: this.bestValid, weights: best },
        history: this.history.slice(),
      });
      if (cancelled?.()) break;
    }
    this.restoreInto(this.vars, best, 'best weights');
    return { valid, train };
  }

  /** Scaled parameters [cells x parameters] for each series [gauges x steps] (observed: NaN allowed). */
  predict(series: ReadonlyArray<ArrayLike<number>>): Float32Array[] {
    const tf = this.tf;
    const { gauges: G, steps: T, cells, parameters: K } = this.shape;
    const x = new Float32Array(series.length * T * G);
    series.forEach((f, b) => encodeFlow(f, G, T, this.scaling, x, b * T * G));
    const out = tf.tidy(
      () => this.forward(tf.tensor4d(x, [series.length, 1, T, G])).dataSync() as Float32Array,
    );
    return series.map((_, b) => out.slice(b * cells * K, (b + 1) * cells * K));
  }

  dispose(): void {
    this.vars.forEach((v) => v.dispose());
    this.desc?.dispose();
    this.opt.dispose();
  }
}
