import {
  B,
  D,
  GR4_DAILY,
  checkGr4Inputs,
  checkTiming,
  gr4Step,
  unitHydrographs,
  invQuarticRoot,
  pow35,
  uhLength1,
  uhLength2,
  type Gr4Outputs,
  type Gr4Params,
  type Gr4State,
  type Gr4Timing,
} from './forward';
import { gr4CellsAdjoint, gr4CellsForward, nativePhysics } from '../native';

/** Derivative of the UH1 S-curve with respect to X4. */
function dss1(t: number, x4: number): number {
  return t > 0 && t < x4 ? (-D * (t / x4) ** D) / x4 : 0;
}

/** Derivative of the UH2 S-curve with respect to X4. */
function dss2(t: number, x4: number): number {
  if (t <= 0 || t >= 2 * x4) return 0;
  if (t <= x4) return (-0.5 * D * (t / x4) ** D) / x4;
  return (-0.5 * D * (2 - t / x4) ** (D - 1) * t) / (x4 * x4);
}

/** Gradient of a loss with respect to the parameters and the initial state. */
export interface Gr4Gradient {
  X1: number;
  X2: number;
  X3: number;
  X4: number;
  S0: number;
  R0: number;
  uh1: Float64Array;
  uh2: Float64Array;
}

/**
 * Forward run plus the exact reverse-mode (adjoint) gradient of L = Σ_t gQ_t Q_t + gAE_t AE_t
 * with respect to X1..X4 and the initial state: the gradient of any loss whose derivative with
 * respect to the outputs is (gQ, gAE). The forward pass keeps each step's store levels and the
 * first unit-hydrograph slots (4 numbers per step); the reverse pass recomputes the step's
 * intermediates from them, so a gradient costs about one extra run. Every threshold (min/max,
 * the 13 cap on P/X1) takes the same branch as in the forward step.
 */
export function gr4WithGradient(
  p: Gr4Params,
  P: ArrayLike<number>,
  E: ArrayLike<number>,
  state: Gr4State,
  gQOrLoss: ArrayLike<number> | ((outputs: Gr4Outputs) => ArrayLike<number>),
  gAE?: ArrayLike<number>,
  /** When given, receives dL/dP_t (the precipitation input's adjoint, e.g. for a snow module upstream). */
  gP?: Float64Array,
  /** The step's constants (gr4Timing): UH length and percolation constant; daily by default. */
  timing: Gr4Timing = GR4_DAILY,
): { outputs: Gr4Outputs; gradient: Gr4Gradient } {
  checkGr4Inputs(p, P, E);
  checkTiming(state, timing);
  const native = nativePhysics();
  if (native) return nativeGradient(p, P, E, state, gQOrLoss, gAE, gP, timing);
  const NH = timing.nh;
  const PERC_CONST = timing.percConst;
  // a local copy of the imported constant: a module binding read in the inner loop costs a getter
  // call under some loaders (vitest, tsx), ten times the arithmetic
  const Bk = B;
  const iqr = invQuarticRoot;
  const p35 = pow35;
  const step4 = gr4Step;
  const n = P.length;
  // tape: start-of-step S, R and the UH slots that feed this step's outflow
  const tS = new Float64Array(n);
  const tR = new Float64Array(n);
  const t1 = new Float64Array(n);
  const t2 = new Float64Array(n);
  const { uh1: o1, uh2: o2 } = unitHydrographs(p.X4, NH);
  const work: Gr4State = {
    S: state.S,
    R: state.R,
    uh1: Float64Array.from(state.uh1),
    uh2: Float64Array.from(state.uh2),
  };
  const outputs: Gr4Outputs = {
    Q: new Float64Array(n),
    AE: new Float64Array(n),
    Perc: new Float64Array(n),
    Exch: new Float64Array(n),
  };
  const step = new Float64Array(4);
  for (let t = 0; t < n; t++) {
    tS[t] = work.S;
    tR[t] = work.R;
    t1[t] = work.uh1[1]!;
    t2[t] = work.uh2[1]!;
    step4(p, o1, o2, P[t]!, E[t]!, work, step, PERC_CONST);
    outputs.Q[t] = step[0]!;
    outputs.AE[t] = step[1]!;
    outputs.Perc[t] = step[2]!;
    outputs.Exch[t] = step[3]!;
  }
  Object.assign(state, work);
  // a loss given as a function sees this forward run's outputs: no second forward run for dL/dQ
  const gQ = typeof gQOrLoss === 'function' ? gQOrLoss(outputs) : gQOrLoss;

  const A = p.X1;
  let gX1 = 0;
  let gX2 = 0;
  let gX3 = 0;
  const go1 = new Float64Array(NH);
  const go2 = new Float64Array(2 * NH);
  // adjoints of the end-of-step state, carried backwards
  let gS = 0;
  let gR = 0;
  let gs1 = new Float64Array(NH);
  let gs2 = new Float64Array(2 * NH);
  // double buffers for the UH adjoints, swapped each step (no allocation in the loop)
  let n1 = new Float64Array(NH);
  let n2 = new Float64Array(2 * NH);
  const m1 = uhLength1(p.X4, NH);
  const m2 = uhLength2(p.X4, NH);
  for (let t = n - 1; t >= 0; t--) {
    // ---- recompute the step's intermediates (same expressions and branches as runGr4)
    const S = tS[t]!;
    const R = tR[t]!;
    const p1 = P[t]!;
    const e = E[t]!;
    const branchA = p1 <= e;
    const w = branchA ? (e - p1) / A : (p1 - e) / A;
    const capped = w > 13;
    const tws = Math.tanh(Math.min(w, 13));
    const sr = S / A;
    let S1: number;
    let pr0: number;
    let num = 0;
    let den = 0;
    if (branchA) {
      num = S * (2 - sr) * tws;
      den = 1 + (1 - sr) * tws;
      S1 = S - num / den;
      pr0 = 0;
    } else {
      num = A * (1 - sr * sr) * tws;
      den = 1 + sr * tws;
      S1 = S + num / den;
      pr0 = p1 - e - num / den;
    }
    const S2 = S1 < 0 ? 0 : S1;
    const q2 = (S2 / A) * (S2 / A);
    const g = 1 + (q2 * q2) / PERC_CONST;
    const g4 = iqr(g);
    const perc = S2 * (1 - g4);
    const pr = pr0 + perc;
    const s1o = t1[t]! + o1[0]! * Bk * pr;
    const s2o = t2[t]! + o2[0]! * (1 - Bk) * pr;
    const rr0 = R / p.X3;
    const exch = p.X2 * p35(rr0);
    const Rp = R + s1o + exch;
    const R1 = Math.max(0, Rp);
    const rr = (R1 / p.X3) * (R1 / p.X3);
    const h = iqr(1 + rr * rr);
    const qr = R1 * (1 - h);
    const x2 = s2o + exch;
    const qd = Math.max(0, x2);

    // ---- reverse
    const gq = qr + qd >= 0 ? gQ[t]! : 0;
    let gExch = 0;
    // qd = max(0, s2o + exch)
    const gx2 = x2 >= 0 ? gq : 0;
    let gs2o = gx2;
    gExch += gx2;
    // R2 = R1 - qr; qr = R1 (1 - h(rr)), rr = (R1/X3)²
    const aq = gq - gR;
    const dhdrr = (-0.5 * rr * h) / (1 + rr * rr);
    let gR1 = gR + aq * (1 - h - R1 * dhdrr * ((2 * R1) / (p.X3 * p.X3)));
    gX3 += aq * (-R1 * dhdrr * ((-2 * R1 * R1) / (p.X3 * p.X3 * p.X3)));
    // R1 = max(0, Rp), Rp = R + s1o + exch
    const gRp = Rp >= 0 ? gR1 : 0;
    gR1 = 0;
    let gRstart = gRp;
    let gs1o = gRp;
    gExch += gRp;
    // exch = X2 (R/X3)^3.5
    gX2 += gExch * p35(rr0);
    const dexch = p.X2 * 3.5 * rr0 * rr0 * Math.sqrt(rr0);
    gRstart += (gExch * dexch) / p.X3;
    gX3 += gExch * dexch * (-R / (p.X3 * p.X3));
    // unit hydrographs: s'[k] = s[k+1] + o[k] b pr; slot 0 of the new state is s1o / s2o
    gs1o += gs1[0]!;
    gs2o += gs2[0]!;
    let gpr = 0;
    // only slots 1..m ever receive an adjoint (the rest stay 0): clearing them is enough
    n1.fill(0, 0, Math.min(m1 + 1, NH));
    n2.fill(0, 0, Math.min(m2 + 1, 2 * NH));
    // shifted slots (k < m) and the last slot, as in the forward step (in increasing k)
    for (let j = 0; j <= m1; j++) {
      const k = j < m1 ? j : NH - 1;
      const gk = k === 0 ? gs1o : gs1[k]!;
      if (k + 1 < NH) n1[k + 1] = gk;
      gpr += gk * o1[k]! * Bk;
      go1[k]! += gk * Bk * pr;
    }
    for (let j = 0; j <= m2; j++) {
      const k = j < m2 ? j : 2 * NH - 1;
      const gk = k === 0 ? gs2o : gs2[k]!;
      if (k + 1 < 2 * NH) n2[k + 1] = gk;
      gpr += gk * o2[k]! * (1 - Bk);
      go2[k]! += gk * (1 - Bk) * pr;
    }
    // pr = pr0 + perc; S3 = S2 - perc
    const gperc = gpr - gS;
    let gS2 = gS;
    const A4 = A * A * A * A;
    const dgdS2 = (4 * S2 * S2 * S2) / (A4 * PERC_CONST);
    const dgdA = (-4 * S2 * S2 * S2 * S2) / (A4 * A * PERC_CONST);
    const dpdg = (S2 * 0.25 * g4) / g;
    gS2 += gperc * (1 - g4 + dpdg * dgdS2);
    gX1 += gperc * dpdg * dgdA;
    // S2 = S1 clamped at 0
    const gS1 = S1 < 0 ? 0 : gS2;
    let gSstart = gS1;
    const dtws = capped ? 0 : 1 - tws * tws;
    const dwdA = -w / A;
    if (branchA) {
      // er = num/den; AE = er + P; S1 = S - er
      const ger = (gAE ? gAE[t]! : 0) - gS1;
      const dN_dsr = -S * tws;
      const dD_dsr = -tws;
      const der_dsr = (dN_dsr * den - num * dD_dsr) / (den * den);
      const der_dtws = (S * (2 - sr) * den - num * (1 - sr)) / (den * den);
      const der_dS = ((2 - sr) * tws) / den;
      gSstart += ger * (der_dS + der_dsr / A);
      gX1 += ger * (der_dsr * (-S / (A * A)) + der_dtws * dtws * dwdA);
      // AE = er + P, w = (E - P)/X1
      if (gP) gP[t] = (gAE ? gAE[t]! : 0) - (ger * der_dtws * dtws) / A;
    } else {
      // ps = num/den; S1 = S + ps; pr0 = pn - ps
      const gps = gS1 - gpr;
      const dN_dsr = A * -2 * sr * tws;
      const dD_dsr = tws;
      const dps_dsr = (dN_dsr * den - num * dD_dsr) / (den * den);
      const dps_dtws = (A * (1 - sr * sr) * den - num * sr) / (den * den);
      const dps_dA = ((1 - sr * sr) * tws) / den;
      gSstart += (gps * dps_dsr) / A;
      gX1 += gps * (dps_dA + dps_dsr * (-S / (A * A)) + dps_dtws * dtws * dwdA);
      // pr0 = P - E - ps, w = (P - E)/X1
      if (gP) gP[t] = gpr + (gps * dps_dtws * dtws) / A;
    }
    gS = gSstart;
    gR = gRstart;
    [gs1, n1] = [n1, gs1];
    [gs2, n2] = [n2, gs2];
  }
  // X4 through the unit hydrograph ordinates
  let gX4 = 0;
  for (let i = 1; i <= NH; i++) gX4 += go1[i - 1]! * (dss1(i, p.X4) - dss1(i - 1, p.X4));
  for (let i = 1; i <= 2 * NH; i++) gX4 += go2[i - 1]! * (dss2(i, p.X4) - dss2(i - 1, p.X4));
  return { outputs, gradient: { X1: gX1, X2: gX2, X3: gX3, X4: gX4, S0: gS, R0: gR, uh1: gs1, uh2: gs2 } };
}

/** {@link gr4WithGradient} on the native kernels (native/src/physics.cc), one cell. */
function nativeGradient(
  p: Gr4Params,
  P: ArrayLike<number>,
  E: ArrayLike<number>,
  state: Gr4State,
  gQOrLoss: ArrayLike<number> | ((outputs: Gr4Outputs) => ArrayLike<number>),
  gAE: ArrayLike<number> | undefined,
  gP: Float64Array | undefined,
  timing: Gr4Timing,
): { outputs: Gr4Outputs; gradient: Gr4Gradient } {
  const native = nativePhysics()!;
  const n = P.length;
  const cell = {
    X1: Float64Array.of(p.X1),
    X2: Float64Array.of(p.X2),
    X3: Float64Array.of(p.X3),
    X4: Float64Array.of(p.X4),
  };
  const outputs: Gr4Outputs = {
    Q: new Float64Array(n),
    AE: new Float64Array(n),
    Perc: new Float64Array(n),
    Exch: new Float64Array(n),
  };
  const start = () => ({
    S: Float64Array.of(state.S),
    R: Float64Array.of(state.R),
    uh1: Float64Array.from(state.uh1),
    uh2: Float64Array.from(state.uh2),
  });
  let gQ: ArrayLike<number>;
  if (typeof gQOrLoss === 'function') {
    // the loss needs this run's outputs before the reverse pass: one forward run first
    gr4CellsForward(native, P, E, 1, n, cell, timing.percConst, timing.nh, start(), outputs);
    gQ = gQOrLoss(outputs);
  } else gQ = gQOrLoss;
  const s = start();
  const guh1 = new Float64Array(timing.nh);
  const guh2 = new Float64Array(2 * timing.nh);
  const g = gr4CellsAdjoint(native, P, E, 1, n, cell, timing.percConst, timing.nh, s, Float64Array.from(gQ), {
    gAE: gAE ? Float64Array.from(gAE) : undefined,
    out: outputs,
    guh1,
    guh2,
    gP,
  });
  state.S = s.S[0]!;
  state.R = s.R[0]!;
  state.uh1 = s.uh1;
  state.uh2 = s.uh2;
  return {
    outputs,
    gradient: { X1: g[0]!, X2: g[1]!, X3: g[2]!, X4: g[3]!, S0: g[4]!, R0: g[5]!, uh1: guh1, uh2: guh2 },
  };
}
