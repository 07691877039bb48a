import type * as TfModule from '@tensorflow/tfjs';
import { BUCKET_K } from '../../physics/bucket';
import { mulberry32 } from '../random';
import type { LossSettings, WindowBatch } from './model';

type Tf = typeof TfModule;
type Tensor = TfModule.Tensor;

/** Stores [C, S, G, X], each [batch, 1]. */
export type TfStores = [Tensor, Tensor, Tensor, Tensor];

/**
 * One step of the bucket model (physics/bucket/kernel.ts runBucket, fractions mode) in tfjs ops,
 * so autodiff runs through it: P [batch, 1], fractions [batch, 8]. Returns Q, ET and the new stores.
 */
export function bucketStepTf(
  tf: Tf,
  st: TfStores,
  P: Tensor,
  a: Tensor,
): { Q: Tensor; ET: Tensor; next: TfStores } {
  const f = tf.split(a, BUCKET_K, 1);
  const [C, S, G, X] = st;
  const I = tf.mul(f[0]!, P);
  const Ca = tf.add(C, I);
  const Ec = tf.mul(f[1]!, Ca);
  const Cb = tf.sub(Ca, Ec);
  const D = tf.mul(f[2]!, Cb);
  const W = tf.add(tf.sub(P, I), D);
  const F = tf.mul(f[3]!, W);
  const Sa = tf.add(S, F);
  const Es = tf.mul(f[4]!, Sa);
  const Sb = tf.sub(Sa, Es);
  const R = tf.mul(f[5]!, Sb);
  const Ga = tf.add(G, R);
  const B = tf.mul(f[6]!, Ga);
  const Xa = tf.add(tf.add(X, tf.sub(W, F)), B);
  const Q = tf.mul(f[7]!, Xa);
  return {
    Q,
    ET: tf.add(Ec, Es),
    next: [tf.sub(Cb, D), tf.sub(Sb, R), tf.sub(Ga, B), tf.sub(Xa, Q)],
  };
}

/** Weights of the step-by-step coupled LSTM: inputs are the forcing and the bucket's stores. */
export interface CoupledNet {
  wx: TfModule.Variable;
  wh: TfModule.Variable;
  b: TfModule.Variable;
  wo: TfModule.Variable;
  bo: TfModule.Variable;
}

export function buildCoupled(tf: Tf, nIn: number, hidden: number, seed: number): CoupledNet {
  const rand = mulberry32(seed);
  const k = 1 / Math.sqrt(hidden);
  const u = (n: number) => Float32Array.from({ length: n }, () => (2 * rand() - 1) * k);
  const H = hidden;
  const n = nIn + 4;
  return {
    wx: tf.variable(tf.tensor2d(u(n * 4 * H), [n, 4 * H])),
    wh: tf.variable(tf.tensor2d(u(H * 4 * H), [H, 4 * H])),
    b: tf.variable(tf.tensor1d(u(4 * H))),
    wo: tf.variable(tf.tensor2d(u(H * BUCKET_K), [H, BUCKET_K])),
    bo: tf.variable(tf.zeros([BUCKET_K])),
  };
}

/**
 * The step-by-step recurrent coupling (the learning path Liu & Hsu 2026 restructure away): at each
 * step the LSTM cell reads the forcing and the bucket's stores of the step before (log1p-scaled),
 * its fractions drive one bucket step, whose stores feed the next cell step; the loss is the same
 * data term as the parallel path, and tfjs autodiff unrolls the whole window (no fused kernel can
 * run it: each step waits for the bucket). Returns the scalar loss.
 */
export function coupledLoss(
  tf: Tf,
  net: CoupledNet,
  xb: Float32Array,
  nIn: number,
  w: WindowBatch,
  s: LossSettings,
): TfModule.Scalar {
  const { batch: Bn, steps: L } = w;
  const H = net.wh.shape[0]!;
  const x = tf.tensor3d(xb, [Bn, L, nIn]);
  const P = tf.tensor2d(Float32Array.from(w.P), [Bn, L]);
  const o = new Float32Array(Bn * L);
  const m = new Float32Array(Bn * L);
  let n = 0;
  for (let i = 0; i < Bn * L; i++)
    if (Number.isFinite(w.obs[i]!)) {
      o[i] = w.obs[i]!;
      m[i] = 1;
      n++;
    }
  const den = Math.max(1, n) * (s.loss === 'nse' ? s.obsVar : 1);
  let h: Tensor = tf.zeros([Bn, H]);
  let c: Tensor = tf.zeros([Bn, H]);
  let st: TfStores = [tf.zeros([Bn, 1]), tf.zeros([Bn, 1]), tf.zeros([Bn, 1]), tf.zeros([Bn, 1])];
  const qs: Tensor[] = [];
  const xs = tf.unstack(x, 1);
  const ps = tf.split(P, L, 1);
  for (let t = 0; t < L; t++) {
    const inp = tf.concat([xs[t]!, tf.log1p(tf.concat(st, 1))], 1);
    const z = tf.add(tf.add(tf.matMul(inp, net.wx), tf.matMul(h, net.wh)), net.b);
    const [zi, zf, zg, zo] = tf.split(z, 4, 1);
    c = tf.add(tf.mul(tf.sigmoid(zf!), c), tf.mul(tf.sigmoid(zi!), tf.tanh(zg!)));
    h = tf.mul(tf.sigmoid(zo!), tf.tanh(c));
    const a = tf.sigmoid(tf.add(tf.matMul(h, net.wo), net.bo));
    const r = bucketStepTf(tf, st, ps[t]!, a);
    qs.push(r.Q);
    st = r.next;
  }
  const q = tf.concat(qs, 1);
  const e = tf.mul(tf.sub(q, tf.tensor2d(o, [Bn, L])), tf.tensor2d(m, [Bn, L]));
  return tf.div(tf.sum(tf.square(e)), den) as TfModule.Scalar;
}
