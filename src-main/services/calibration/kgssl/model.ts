import type * as TfModule from '@tensorflow/tfjs';
import { FieldcalError } from '../../../../src-shared/ipc';
import { mulberry32 } from '../../common/random';
import { fusedAdam, type AdamState, type FusedAdamOptimizer } from '../../compute/fusedAdam';
import { lstmWithHead } from '../../compute/fusedLayers';
import { readWeights, writeWeights } from '../../surrogate/train';
import type { KgsslData } from './data';

type Tf = typeof TfModule;
type T = TfModule.Tensor;

/** The KGSSL networks' and training's settings (methods/kgssl/options.ts gives defaults and sources). */
export interface KgsslConfig {
  zDim: number;
  hidden: number;
  window: number;
  spinup: number;
  epochs: number;
  batchesPerEpoch: number;
  batchBasins: number;
  learningRate: number;
  contrastive: 'infonce' | 'triplet';
  temperature: number;
  margin: number;
  weights: { reconstruction: number; contrastive: number; regression: number };
  /** Encoder windows drawn per basin and batch (views; 2 when absent). */
  windowsPerBasin?: number;
}

/** Seed of a random stream per (seed, epoch, part), so a resumed run draws what an uninterrupted one did. */
const streamSeed = (seed: number, epoch: number, part: number) =>
  (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca6b) ^ Math.imul(part + 1, 0xc2b2ae35)) >>>
  0;

function lstmNet(
  tf: Tf,
  steps: number,
  features: number,
  hidden: number,
  out: number,
  seq: boolean,
  seed: number,
) {
  return lstmWithHead(tf, { steps, features, hidden, out, returnSequences: seq }, seed);
}

/**
 * KGSSL (Ghosh et al., KDD 2022): an encoder LSTM from windows of [forcing, streamflow] to an
 * embedding z (aggregated per basin by the mean over its windows), a forward LSTM over forcing
 * conditioned on z (z repeated at every step) reconstructing streamflow (L1), the knowledge-guided
 * contrastive loss (L2: windows of the same basin closer than windows of other basins), and a
 * regression head z → known attributes with missing values masked (L3). With `conditioning:
 * 'attributes'` there is no encoder: the forward LSTM is conditioned on the standardised attributes
 * (the poster's baseline after Kratzert et al. 2019).
 */
export class KgsslNets {
  readonly encoder: TfModule.Sequential | null;
  readonly decoder: TfModule.Sequential;
  readonly head: TfModule.Sequential | null;
  readonly cond: number;
  readonly opt: FusedAdamOptimizer;

  constructor(
    readonly tf: Tf,
    readonly data: KgsslData,
    readonly cfg: KgsslConfig,
    readonly seed: number,
    readonly conditioning: 'embedding' | 'attributes' = 'embedding',
  ) {
    const { F, A } = data;
    const W = cfg.window;
    this.cond = conditioning === 'embedding' ? cfg.zDim : A;
    if (this.cond < 1)
      throw new FieldcalError(
        'VALIDATION',
        'an attribute-conditioned forward model needs at least one attribute',
        {
          field: 'attributes',
        },
      );
    this.encoder =
      conditioning === 'embedding' ? lstmNet(tf, W, F + 2, cfg.hidden, cfg.zDim, false, seed) : null;
    this.decoder = lstmNet(tf, W, F + this.cond, cfg.hidden, 1, true, seed + 1);
    this.head =
      conditioning === 'embedding' && A > 0 && cfg.weights.regression > 0
        ? (() => {
            const h = tf.sequential();
            h.add(
              tf.layers.dense({
                units: A,
                inputShape: [cfg.zDim],
                kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 16 + 7 }),
              }),
            );
            return h;
          })()
        : null;
    this.opt = fusedAdam(tf, cfg.learningRate);
  }

  get models(): TfModule.Sequential[] {
    return [this.encoder, this.decoder, this.head].filter((m): m is TfModule.Sequential => m !== null);
  }

  variables(): TfModule.Variable[] {
    return this.models.flatMap((m) => m.trainableWeights.map((w) => w.read() as TfModule.Variable));
  }

  /** Encoder over windows [b, W, F + 2] → z [b, zDim]. */
  encode(x: T): T {
    return this.encoder!.apply(x) as T;
  }

  /** Forward model: forcing [b, W, F] and conditioning [b, C] → standardised discharge [b, W]. */
  decode(forcing: T, cond: T): T {
    const { tf } = this;
    const [b, W] = forcing.shape as [number, number, number];
    const rep = tf.tile(tf.reshape(cond, [b, 1, this.cond]), [1, W, 1]);
    const y = this.decoder.apply(tf.concat([forcing, rep], 2)) as T;
    return tf.reshape(y, [b, W]);
  }

  /** L2 on anchor and positive embeddings of the same basins [B, zDim] (row i of both = basin i). */
  contrastive(za: T, zp: T): T {
    const { tf, cfg } = this;
    const B = za.shape[0]!;
    if (cfg.contrastive === 'infonce') {
      // InfoNCE (Oord et al. 2018, eq. 4) on L2-normalised embeddings, temperature τ (Chen et al. 2020),
      // symmetric: the positive of window i is the other window of its basin, the negatives the other basins'
      const a = tf.div(za, tf.add(tf.norm(za, 2, 1, true), 1e-6));
      const p = tf.div(zp, tf.add(tf.norm(zp, 2, 1, true), 1e-6));
      const logits = tf.div(tf.matMul(a, p, false, true), cfg.temperature);
      const labels = tf.oneHot(tf.range(0, B, 1, 'int32'), B);
      return tf.div(
        tf.add(
          tf.losses.softmaxCrossEntropy(labels, logits),
          tf.losses.softmaxCrossEntropy(labels, tf.transpose(logits)),
        ),
        2,
      );
    }
    // triplet margin loss (Schroff et al. 2015, eq. 1): max(0, ‖a − p‖² − ‖a − n‖² + α), negative = the next basin's window
    const n = tf.concat([tf.slice(zp, [1, 0], [B - 1, -1]), tf.slice(zp, [0, 0], [1, -1])], 0);
    const dp = tf.sum(tf.square(tf.sub(za, zp)), 1);
    const dn = tf.sum(tf.square(tf.sub(za, n)), 1);
    return tf.mean(tf.relu(tf.add(tf.sub(dp, dn), cfg.margin)));
  }

  /** One epoch of Adam steps; returns the mean losses. Random windows from the train period only. */
  epoch(e: number): { total: number; L1: number; L2: number; L3: number } {
    const { tf, data, cfg } = this;
    const rand = mulberry32(streamSeed(this.seed, e, 0));
    const W = cfg.window;
    const F = data.F;
    const B = Math.min(cfg.batchBasins, data.n);
    const V = Math.max(2, cfg.windowsPerBasin ?? 2);
    const order = Array.from({ length: data.n }, (_, i) => i);
    const vars = this.variables();
    const sums = { total: 0, L1: 0, L2: 0, L3: 0 };
    const start = (k: number) =>
      data.train[k]!.i0 + Math.floor(rand() * (data.train[k]!.i1 - data.train[k]!.i0 - W + 1));
    for (let b = 0; b < cfg.batchesPerEpoch; b++) {
      // B distinct basins (partial Fisher–Yates)
      for (let i = 0; i < B; i++) {
        const j = i + Math.floor(rand() * (data.n - i));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      const ks = order.slice(0, B);
      const enc = new Float32Array(V * B * W * (F + 2));
      const fx = new Float32Array(B * W * F);
      const y = new Float32Array(B * W);
      const m = new Float32Array(B * W);
      const cond = this.encoder ? null : new Float32Array(B * data.A);
      ks.forEach((k, i) => {
        for (let v = 0; v < V; v++) data.encoderWindow(enc, v * B + i, k, start(k), W);
        const s = start(k);
        data.forcingWindow(fx, i, k, s, W);
        for (let j = cfg.spinup; j < W; j++) {
          const v = data.q[k]![s + j]!;
          if (Number.isFinite(v)) {
            y[i * W + j] = v;
            m[i * W + j] = data.weight[k]!;
          }
        }
        if (cond) cond.set(data.attrs.subarray(k * data.A, (k + 1) * data.A), i * data.A);
      });
      const attr = new Float32Array(B * data.A);
      const amask = new Float32Array(B * data.A);
      ks.forEach((k, i) => {
        attr.set(data.attrs.subarray(k * data.A, (k + 1) * data.A), i * data.A);
        amask.set(data.mask.subarray(k * data.A, (k + 1) * data.A), i * data.A);
      });
      const parts = { L1: 0, L2: 0, L3: 0 };
      const read: T[] = [];
      const loss = this.opt.minimize(
        () => {
          const fT = tf.tensor3d(fx, [B, W, F]);
          let z: T;
          let L2: T | null = null;
          let L3: T | null = null;
          if (this.encoder) {
            const zz = this.encode(tf.tensor3d(enc, [V * B, W, F + 2]));
            const views = Array.from({ length: V }, (_, v) => tf.slice(zz, [v * B, 0], [B, -1]));
            z = tf.div(tf.addN(views), V); // the basin's embedding: the mean over its windows
            if (cfg.weights.contrastive > 0) {
              // V > 2 views: the pairwise loss averaged over every pair of views (CMC's full graph, Tian et al. 2020)
              const pairs: T[] = [];
              for (let a = 0; a < V; a++)
                for (let b = a + 1; b < V; b++) pairs.push(this.contrastive(views[a]!, views[b]!));
              L2 = pairs.length === 1 ? pairs[0]! : tf.div(tf.addN(pairs), pairs.length);
            }
            if (this.head) {
              const mk = tf.tensor2d(amask, [B, data.A]);
              const err = tf.mul(
                tf.square(tf.sub(this.head.apply(z) as T, tf.tensor2d(attr, [B, data.A]))),
                mk,
              );
              L3 = tf.div(tf.sum(err), tf.maximum(tf.sum(mk), 1));
            }
          } else z = tf.tensor2d(cond!, [B, data.A]);
          const mk = tf.tensor2d(m, [B, W]);
          // NSE* (Kratzert et al. 2019): squared error weighted 1 / (σ_b + 0.1)², over observed steps after the spin-up
          const L1 = tf.div(
            tf.sum(tf.mul(tf.square(tf.sub(this.decode(fT, z), tf.tensor2d(y, [B, W]))), mk)),
            Math.max(
              m.reduce((s, v) => s + (v > 0 ? 1 : 0), 0),
              1,
            ),
          );
          let total = tf.mul(L1, cfg.weights.reconstruction);
          read.push(tf.keep(tf.clone(L1)));
          if (L2) {
            total = tf.add(total, tf.mul(L2, cfg.weights.contrastive));
            read.push(tf.keep(tf.clone(L2)));
          }
          if (L3) {
            total = tf.add(total, tf.mul(L3, cfg.weights.regression));
            read.push(tf.keep(tf.clone(L3)));
          }
          return total as TfModule.Scalar;
        },
        true,
        vars,
      )!;
      const [l1, l2, l3] = read.map((t) => t.dataSync()[0]!);
      parts.L1 = l1 ?? 0;
      if (this.encoder && cfg.weights.contrastive > 0) parts.L2 = l2 ?? 0;
      if (this.head) parts.L3 = (cfg.weights.contrastive > 0 ? l3 : l2) ?? 0;
      sums.total += loss.dataSync()[0]!;
      sums.L1 += parts.L1;
      sums.L2 += parts.L2;
      sums.L3 += parts.L3;
      tf.dispose([loss, ...read]);
      if (!Number.isFinite(sums.total))
        throw new FieldcalError('INTERNAL', `KGSSL training diverged at epoch ${e + 1}`, { epoch: e + 1 });
    }
    const n = cfg.batchesPerEpoch;
    return { total: sums.total / n, L1: sums.L1 / n, L2: sums.L2 / n, L3: sums.L3 / n };
  }

  /** Each basin's embedding: the mean of the encoder over its train-period windows (stride W). [n][zDim] */
  embeddings(): Float64Array[] {
    const { tf, data, cfg } = this;
    const W = cfg.window;
    const C = data.F + 2;
    return Array.from({ length: data.n }, (_, k) => {
      const { i0, i1 } = data.train[k]!;
      const count = Math.floor((i1 - i0) / W);
      const x = new Float32Array(count * W * C);
      for (let w = 0; w < count; w++) data.encoderWindow(x, w, k, i0 + w * W, W);
      const z = tf.tidy(() => tf.mean(this.encode(tf.tensor3d(x, [count, W, C])), 0));
      const v = Float64Array.from(z.dataSync());
      z.dispose();
      return v;
    });
  }

  /** Attributes predicted by the L3 head from embeddings, in attribute units ([n][A]); null without a head. */
  predictAttributes(z: Float64Array[]): Float64Array[] | null {
    if (!this.head) return null;
    const { tf, data } = this;
    const out = tf.tidy(
      () =>
        this.head!.apply(
          tf.tensor2d(
            z.flatMap((r) => [...r]),
            [z.length, this.cfg.zDim],
          ),
        ) as T,
    );
    const v = out.dataSync();
    out.dispose();
    return z.map((_, k) =>
      Float64Array.from(
        { length: data.A },
        (_, j) => v[k * data.A + j]! * data.attrStats[j]!.std + data.attrStats[j]!.mean,
      ),
    );
  }

  /**
   * The forward model's discharge (mm/step) over rows [i0, i1) of basin k, conditioned on `cond`:
   * windows of W steps advancing by W − spinup, each scored after its spin-up (the first window
   * starts spin-up steps early, on the forcing before i0 where there is some).
   */
  predict(k: number, cond: ArrayLike<number>, i0: number, i1: number): Float64Array {
    const { tf, data, cfg } = this;
    const W = cfg.window;
    const S = cfg.spinup;
    const F = data.F;
    const stride = W - S;
    const starts: number[] = [];
    for (let s = i0 - S; s < i1 - S; s += stride) starts.push(s);
    const x = new Float32Array(starts.length * W * F);
    starts.forEach((s, r) => data.forcingWindow(x, r, k, s, W));
    const y = tf.tidy(() =>
      this.decode(
        tf.tensor3d(x, [starts.length, W, F]),
        tf.tile(tf.tensor2d(Float32Array.from(cond), [1, this.cond]), [starts.length, 1]),
      ),
    );
    const v = y.dataSync();
    y.dispose();
    const out = new Float64Array(i1 - i0);
    starts.forEach((s, r) => {
      for (let j = S; j < W; j++) {
        const t = s + j;
        if (t >= i0 && t < i1) out[t - i0] = data.toMm(v[r * W + j]!);
      }
    });
    return out;
  }

  /** Weights and optimiser state as plain arrays (a checkpoint). */
  save(): { weights: number[][][]; adam: { t: number; m: number[][]; v: number[][] } } {
    const st: AdamState = this.opt.saveState(this.variables());
    return {
      weights: this.models.map((m) => readWeights(m).map((a) => Array.from(a))),
      adam: { t: st.t, m: st.m.map((a) => Array.from(a)), v: st.v.map((a) => Array.from(a)) },
    };
  }

  load(s: ReturnType<KgsslNets['save']>): void {
    this.models.forEach((m, i) =>
      writeWeights(
        this.tf,
        m,
        s.weights[i]!.map((a) => Float32Array.from(a)),
      ),
    );
    this.opt.loadState(this.variables(), {
      t: s.adam.t,
      m: s.adam.m.map((a) => Float32Array.from(a)),
      v: s.adam.v.map((a) => Float32Array.from(a)),
    });
  }

  dispose(): void {
    for (const m of this.models) m.dispose();
    this.opt.dispose();
  }
}
