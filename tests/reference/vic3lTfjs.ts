import type * as TfModule from '@tensorflow/tfjs';
import { VIC3L_CONSTANTS } from '../../src-main/services/physics/vic3l/structure';

type Tf = typeof TfModule;
type T = TfModule.Tensor;

/**
 * An independent vic3l written only with tfjs ops and differentiated by tfjs autodiff: the slow
 * reference that keeps the fast kernel and its hand-written adjoint honest. Vectorised over cells:
 * params [cells, 7] (b, Ds, Dsmax, Ws, d2, d3, expt), forcing [cells, steps] (T optional), daily
 * step, initial moisture half of each layer's capacity, no snow at start. Returns ET, surface
 * runoff and baseflow [cells, steps]. Only the constants table is shared with the kernel.
 */
export function vic3lReference(
  tf: Tf,
  params: TfModule.Tensor2D,
  P: TfModule.Tensor2D,
  PET: TfModule.Tensor2D,
  Tair?: TfModule.Tensor2D,
): { ET: TfModule.Tensor2D; R: TfModule.Tensor2D; Qb: TfModule.Tensor2D } {
  const k = VIC3L_CONSTANTS;
  const [cells, steps] = P.shape;
  const [b, Ds, Dsmax, Ws, d2, d3, expt] = tf.unstack(params, 1) as [T, T, T, T, T, T, T];
  const mm = 1000 * k.porosity;
  const Wm1 = tf.fill([cells], k.d1 * mm);
  const Wm2 = tf.mul(d2, mm);
  const Wm3 = tf.mul(d3, mm);
  const Wm = tf.add(Wm1, Wm2);
  let W1: T = tf.mul(Wm1, 0.5);
  let W2: T = tf.mul(Wm2, 0.5);
  let W3: T = tf.mul(Wm3, 0.5);
  let SWE: T = tf.zeros([cells]);
  const Ps = tf.unstack(P, 1);
  const Es = tf.unstack(PET, 1);
  const Ts = Tair ? tf.unstack(Tair, 1) : undefined;
  const ET: T[] = [];
  const RS: T[] = [];
  const QB: T[] = [];
  // tfjs's pow gradient is NaN at a zero base (0 x log 0): keep bases positive, values unchanged in float32
  const tiny = 1e-30;
  // comparisons have no gradient in tfjs: branch on constant copies
  const cst = (x: T) => tf.tensor(x.dataSync(), x.shape);
  for (let t = 0; t < steps; t++) {
    let win: T = Ps[t]!;
    if (Ts) {
      const frac = tf.clipByValue(tf.div(tf.sub(k.maxSnowTemp, Ts[t]!), k.maxSnowTemp - k.minRainTemp), 0, 1);
      const snowf = tf.mul(Ps[t]!, frac);
      const swe1 = tf.add(SWE, snowf);
      const melt = tf.minimum(tf.mul(k.ddf, tf.relu(tf.sub(Ts[t]!, k.meltTemp))), swe1);
      SWE = tf.sub(swe1, melt);
      win = tf.add(tf.sub(Ps[t]!, snowf), melt);
    }
    // variable infiltration curve
    const Wt = tf.add(W1, W2);
    const bp = tf.add(b, 1);
    const im = tf.mul(bp, Wm);
    const x = tf.minimum(tf.div(Wt, Wm), 1);
    const y = tf.pow(tf.maximum(tf.sub(1, x), tiny), tf.div(1, bp));
    const w = tf.sub(y, tf.div(win, im));
    const saturated = tf.add(tf.sub(win, Wm), Wt);
    const partial = tf.add(saturated, tf.mul(Wm, tf.pow(tf.maximum(w, tiny), bp)));
    const R = tf.where(
      tf.greater(cst(win), 0),
      tf.where(tf.greater(cst(w), 0), partial, saturated),
      tf.zerosLike(win),
    );
    const inf = tf.sub(win, R);
    const s1 = tf.minimum(inf, tf.relu(tf.sub(Wm1, W1)));
    W1 = tf.add(W1, s1);
    W2 = tf.add(W2, tf.sub(inf, s1));
    // moisture-limited evapotranspiration
    const Wt2 = tf.add(W1, W2);
    const wcr = tf.mul(Wm, k.wcrFraction);
    const wp = tf.mul(Wm, k.wpFraction);
    const beta = tf.clipByValue(tf.div(tf.sub(Wt2, wp), tf.sub(wcr, wp)), 0, 1);
    const ae = tf.minimum(tf.mul(Es[t]!, beta), tf.relu(tf.sub(Wt2, wp)));
    const e1 = tf.where(
      tf.greater(cst(Wt2), 0),
      tf.div(tf.mul(ae, W1), tf.maximum(Wt2, 1e-6)),
      tf.zerosLike(ae),
    );
    W1 = tf.sub(W1, e1);
    W2 = tf.sub(W2, tf.sub(ae, e1));
    // gravity drainage
    const k12 = tf.mul(k.ksat, tf.pow(tf.maximum(tf.div(W1, Wm1), tiny), expt));
    const q12 = tf.minimum(tf.minimum(k12, W1), tf.relu(tf.sub(Wm2, W2)));
    W1 = tf.sub(W1, q12);
    W2 = tf.add(W2, q12);
    const k23 = tf.mul(k.ksat, tf.pow(tf.maximum(tf.div(W2, Wm2), tiny), expt));
    const q23 = tf.minimum(tf.minimum(k23, W2), tf.relu(tf.sub(Wm3, W3)));
    W2 = tf.sub(W2, q23);
    W3 = tf.add(W3, q23);
    // ARNO baseflow
    const z = tf.div(W3, Wm3);
    const lin = tf.div(tf.mul(Ds, Dsmax), Ws);
    const u = tf.div(tf.relu(tf.sub(z, Ws)), tf.sub(1, Ws));
    const qraw = tf.add(tf.mul(lin, z), tf.mul(tf.sub(Dsmax, lin), tf.square(u)));
    const qb = tf.minimum(qraw, W3);
    W3 = tf.sub(W3, qb);
    ET.push(ae);
    RS.push(R);
    QB.push(qb);
  }
  return {
    ET: tf.stack(ET, 1) as TfModule.Tensor2D,
    R: tf.stack(RS, 1) as TfModule.Tensor2D,
    Qb: tf.stack(QB, 1) as TfModule.Tensor2D,
  };
}
