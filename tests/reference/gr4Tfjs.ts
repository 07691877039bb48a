import type * as TfModule from '@tensorflow/tfjs';
import { B, D, NH, PERC_CONST } from '../../src-main/services/physics/gr4/forward';

type Tf = typeof TfModule;
type T = TfModule.Tensor;

/**
 * An independent GR4J written only with tfjs ops, differentiated by tfjs autodiff: the slow
 * reference that keeps the fast kernel and its hand-written adjoint honest. Vectorised over cells
 * (params [cells, 4]); forcing [cells, steps]; returns Q [cells, steps] from airGR's default
 * initial state. Keep it free of the kernel's code: only constants are shared.
 */
export function gr4Reference(
  tf: Tf,
  params: TfModule.Tensor2D,
  P: TfModule.Tensor2D,
  E: TfModule.Tensor2D,
): TfModule.Tensor2D {
  const [cells, steps] = P.shape;
  const [x1, x2, x3, x4] = tf.unstack(params, 1) as [T, T, T, T];
  // comparisons have no gradient in tfjs: take them on a constant copy of X4
  const x4c = tf.tensor1d(x4.dataSync());
  // UH ordinates as functions of X4 (S-curves, airGR SS1/SS2)
  const ss1 = (i: number) =>
    i <= 0
      ? tf.zeros([cells])
      : tf.where(tf.less(tf.scalar(i), x4c), tf.pow(tf.div(tf.scalar(i), x4), D), tf.onesLike(x4));
  const ss2 = (i: number) => {
    if (i <= 0) return tf.zeros([cells]);
    const r = tf.div(tf.scalar(i), x4);
    const low = tf.mul(0.5, tf.pow(r, D));
    const high = tf.sub(1, tf.mul(0.5, tf.pow(tf.relu(tf.sub(2, r)), D)));
    return tf.where(
      tf.lessEqual(tf.scalar(i), x4c),
      low,
      tf.where(tf.less(tf.scalar(i), tf.mul(2, x4c)), high, tf.onesLike(x4)),
    );
  };
  const o1 = Array.from({ length: NH }, (_, k) => tf.sub(ss1(k + 1), ss1(k)));
  const o2 = Array.from({ length: 2 * NH }, (_, k) => tf.sub(ss2(k + 1), ss2(k)));
  let S: T = tf.mul(0.3, x1);
  let R: T = tf.mul(0.5, x3);
  let s1: T[] = Array.from({ length: NH }, () => tf.zeros([cells]));
  let s2: T[] = Array.from({ length: 2 * NH }, () => tf.zeros([cells]));
  const Ps = tf.unstack(P, 1) as T[];
  const Es = tf.unstack(E, 1) as T[];
  const Q: T[] = [];
  for (let t = 0; t < steps; t++) {
    const p1 = Ps[t]!;
    const e = Es[t]!;
    const evap = tf.lessEqual(p1, e);
    const sr = tf.div(S, x1);
    // evaporation branch
    const twsA = tf.tanh(tf.minimum(tf.div(tf.relu(tf.sub(e, p1)), x1), 13));
    const er = tf.div(tf.mul(tf.mul(S, tf.sub(2, sr)), twsA), tf.add(1, tf.mul(tf.sub(1, sr), twsA)));
    // rain branch
    const pn = tf.relu(tf.sub(p1, e));
    const twsB = tf.tanh(tf.minimum(tf.div(pn, x1), 13));
    const ps = tf.div(tf.mul(tf.mul(x1, tf.sub(1, tf.square(sr))), twsB), tf.add(1, tf.mul(sr, twsB)));
    const S1 = tf.where(evap, tf.sub(S, er), tf.add(S, ps));
    const pr0 = tf.where(evap, tf.zerosLike(S), tf.sub(pn, ps));
    const S2 = tf.relu(S1);
    const perc = tf.mul(
      S2,
      tf.sub(1, tf.pow(tf.add(1, tf.div(tf.pow(tf.div(S2, x1), 4), PERC_CONST)), -0.25)),
    );
    S = tf.sub(S2, perc);
    const pr = tf.add(pr0, perc);
    s1 = s1.map((_, k) => tf.add(k + 1 < NH ? s1[k + 1]! : tf.zeros([cells]), tf.mul(o1[k]!, tf.mul(B, pr))));
    s2 = s2.map((_, k) =>
      tf.add(k + 1 < 2 * NH ? s2[k + 1]! : tf.zeros([cells]), tf.mul(o2[k]!, tf.mul(1 - B, pr))),
    );
    const rr0 = tf.div(R, x3);
    const exch = tf.mul(x2, tf.pow(rr0, 3.5));
    const R1 = tf.relu(tf.add(tf.add(R, s1[0]!), exch));
    const rr = tf.square(tf.div(R1, x3));
    const qr = tf.mul(R1, tf.sub(1, tf.pow(tf.add(1, tf.square(rr)), -0.25)));
    R = tf.sub(R1, qr);
    const qd = tf.relu(tf.add(s2[0]!, exch));
    Q.push(tf.relu(tf.add(qr, qd)));
  }
  return tf.stack(Q, 1) as TfModule.Tensor2D;
}
