/**
 * One vic3l step for one cell, and its exact adjoint. Scalars in, results in caller-owned scratch
 * arrays, no allocation: this is the inner loop of every run and every gradient.
 *
 * Order within a step (explicit operator splitting, water-conserving by construction):
 * snow -> variable infiltration curve -> fill layer 1 then 2 -> ET from layers 1+2 ->
 * drainage 1->2 and 2->3 -> ARNO baseflow from layer 3.
 */

/** Cell parameters and step-scaled constants the kernel reads. */
export interface CellParams {
  b: number;
  Ds: number;
  Dsmax: number;
  Ws: number;
  expt: number;
  /** Layer capacities, mm. */
  Wm1: number;
  Wm2: number;
  Wm3: number;
}

/** Constants already multiplied by the step length (days). */
export interface StepConstants {
  ksatDt: number;
  dt: number;
  wcr: number;
  wp: number;
  ddfDt: number;
  minRainTemp: number;
  maxSnowTemp: number;
  meltTemp: number;
  /** Whether temperature drives snow (false: all precipitation is rain). */
  snow: boolean;
}

/** Output slots of a step: ET, R, Qb, then the end-of-step states W1, W2, W3, SWE. */
export const O_ET = 0;
export const O_R = 1;
export const O_QB = 2;
export const O_W1 = 3;
export const O_W2 = 4;
export const O_W3 = 5;
export const O_SWE = 6;

/** Gradient slots: b, Ds, Dsmax, Ws, Wm2, Wm3, expt. */
export const G_B = 0;
export const G_DS = 1;
export const G_DSMAX = 2;
export const G_WS = 3;
export const G_WM2 = 4;
export const G_WM3 = 5;
export const G_EXPT = 6;

// Powers are taken as exp(e·log a) (a > 0): about twice as fast as Math.pow in V8, within a few ulps.

/** Brooks-Corey gravity drainage k·(W/Wm)^expt (VIC 5 runoff.c, Q12), 0 for an empty layer. */
const drainage = (k: number, v: number, expt: number) => (v > 0 ? k * Math.exp(expt * Math.log(v)) : 0);

/** Snow fraction of precipitation, linear between the rain and snow temperatures (VIC 5 calc_rainonly). */
function snowFraction(T: number, c: StepConstants): number {
  if (T <= c.minRainTemp) return 1;
  if (T >= c.maxSnowTemp) return 0;
  return (c.maxSnowTemp - T) / (c.maxSnowTemp - c.minRainTemp);
}

/**
 * Forward step. `o` receives [ET, R, Qb, W1, W2, W3, SWE]. P and E in mm/step, T in °C.
 */
export function vicStep(
  W1: number,
  W2: number,
  W3: number,
  SWE: number,
  P: number,
  E: number,
  T: number,
  p: CellParams,
  c: StepConstants,
  o: Float64Array,
): void {
  // degree-day snow
  let win = P;
  let swe = SWE;
  if (c.snow) {
    const snowf = P * snowFraction(T, c);
    const swe1 = SWE + snowf;
    const pot = T > c.meltTemp ? c.ddfDt * (T - c.meltTemp) : 0;
    const melt = pot < swe1 ? pot : swe1;
    swe = swe1 - melt;
    win = P - snowf + melt;
  }
  // variable infiltration curve over layers 1+2 (Liang et al. 1994, eq. 3-5; VIC 5 runoff.c)
  const Wm = p.Wm1 + p.Wm2;
  const Wt = W1 + W2;
  const bp = 1 + p.b;
  const im = bp * Wm;
  let R = 0;
  if (win > 0) {
    const x = Wt < Wm ? Wt / Wm : 1;
    const y = Math.exp(Math.log(1 - x) / bp); // 1 - i0 / im
    const w = y - win / im;
    R = w > 0 ? win - Wm + Wt + Wm * Math.exp(bp * Math.log(w)) : win - Wm + Wt;
  }
  const inf = win - R;
  const cap1 = p.Wm1 - W1 > 0 ? p.Wm1 - W1 : 0;
  const s1 = inf <= cap1 ? inf : cap1;
  const W1a = W1 + s1;
  const W2a = W2 + inf - s1;
  // ET: PET limited linearly between wilting point and critical moisture of layers 1+2 (VIC 5 arno_evap / transpiration)
  const Wt2 = W1a + W2a;
  const wcr = c.wcr * Wm;
  const wp = c.wp * Wm;
  const r = (Wt2 - wp) / (wcr - wp);
  const beta = r <= 0 ? 0 : r >= 1 ? 1 : r;
  const avail = Wt2 - wp > 0 ? Wt2 - wp : 0;
  const pe = E * beta;
  const ae = pe <= avail ? pe : avail;
  const e1 = Wt2 > 0 ? (ae * W1a) / Wt2 : 0;
  const W1b = W1a - e1;
  const W2b = W2a - (ae - e1);
  // gravity drainage, Brooks-Corey (VIC 5 runoff.c), limited by content and room below
  const k12 = drainage(c.ksatDt, W1b / p.Wm1, p.expt);
  const cap2 = p.Wm2 - W2b > 0 ? p.Wm2 - W2b : 0;
  const q12 = k12 <= W1b ? (k12 <= cap2 ? k12 : cap2) : W1b <= cap2 ? W1b : cap2;
  const W1c = W1b - q12;
  const W2c = W2b + q12;
  const k23 = drainage(c.ksatDt, W2c / p.Wm2, p.expt);
  const cap3 = p.Wm3 - W3 > 0 ? p.Wm3 - W3 : 0;
  const q23 = k23 <= W2c ? (k23 <= cap3 ? k23 : cap3) : W2c <= cap3 ? W2c : cap3;
  const W2d = W2c - q23;
  const W3a = W3 + q23;
  // ARNO non-linear baseflow (Todini 1996; Liang et al. 1994 eq. 13; exponent c = 2)
  const z = W3a / p.Wm3;
  const lin = (p.Ds * p.Dsmax) / p.Ws;
  let qraw = lin * z;
  if (z > p.Ws) {
    const u = (z - p.Ws) / (1 - p.Ws);
    qraw += (p.Dsmax - lin) * u * u;
  }
  const qd = qraw * c.dt;
  const qb = qd <= W3a ? qd : W3a;
  o[O_ET] = ae;
  o[O_R] = R;
  o[O_QB] = qb;
  o[O_W1] = W1c;
  o[O_W2] = W2d;
  o[O_W3] = W3a - qb;
  o[O_SWE] = swe;
}

/**
 * Adjoint of {@link vicStep}: recomputes the step's intermediates from its start state, then
 * propagates `g` (cotangents of [ET, R, Qb, W1, W2, W3, SWE] at the end of the step, the state
 * slots already holding the adjoint of the next step's start) back to `a` (adjoint of the start
 * state W1, W2, W3, SWE) and adds the parameter gradient to `gp` (slots G_*). Every min/max and
 * threshold takes the same branch as the forward step.
 */
export function vicStepAdjoint(
  W1: number,
  W2: number,
  W3: number,
  SWE: number,
  P: number,
  E: number,
  T: number,
  p: CellParams,
  c: StepConstants,
  g: Float64Array,
  a: Float64Array,
  gp: Float64Array,
): void {
  // ---- forward recomputation (identical branches) ----
  let win = P;
  let pot = 0;
  let swe1 = SWE;
  if (c.snow) {
    const snowf = P * snowFraction(T, c);
    swe1 = SWE + snowf;
    pot = T > c.meltTemp ? c.ddfDt * (T - c.meltTemp) : 0;
    const melt = pot < swe1 ? pot : swe1;
    win = P - snowf + melt;
  }
  const Wm = p.Wm1 + p.Wm2;
  const Wt = W1 + W2;
  const bp = 1 + p.b;
  const im = bp * Wm;
  let R = 0;
  let x = 0;
  let y = 0;
  let w = 0;
  if (win > 0) {
    x = Wt < Wm ? Wt / Wm : 1;
    y = Math.exp(Math.log(1 - x) / bp);
    w = y - win / im;
    R = w > 0 ? win - Wm + Wt + Wm * Math.exp(bp * Math.log(w)) : win - Wm + Wt;
  }
  const inf = win - R;
  const cap1raw = p.Wm1 - W1;
  const cap1 = cap1raw > 0 ? cap1raw : 0;
  const s1IsInf = inf <= cap1;
  const s1 = s1IsInf ? inf : cap1;
  const W1a = W1 + s1;
  const W2a = W2 + inf - s1;
  const Wt2 = W1a + W2a;
  const wcr = c.wcr * Wm;
  const wp = c.wp * Wm;
  const den = wcr - wp;
  const r = (Wt2 - wp) / den;
  const beta = r <= 0 ? 0 : r >= 1 ? 1 : r;
  const availRaw = Wt2 - wp;
  const avail = availRaw > 0 ? availRaw : 0;
  const pe = E * beta;
  const aeIsPe = pe <= avail;
  const ae = aeIsPe ? pe : avail;
  const e1 = Wt2 > 0 ? (ae * W1a) / Wt2 : 0;
  const W1b = W1a - e1;
  const W2b = W2a - (ae - e1);
  const v12 = W1b / p.Wm1;
  const k12 = drainage(c.ksatDt, v12, p.expt);
  const cap2raw = p.Wm2 - W2b;
  const cap2 = cap2raw > 0 ? cap2raw : 0;
  // which limit set q12: 0 = drainage, 1 = content, 2 = room below
  const w12 = k12 <= W1b ? (k12 <= cap2 ? 0 : 2) : W1b <= cap2 ? 1 : 2;
  const q12 = w12 === 0 ? k12 : w12 === 1 ? W1b : cap2;
  const W2c = W2b + q12;
  const v23 = W2c / p.Wm2;
  const k23 = drainage(c.ksatDt, v23, p.expt);
  const cap3raw = p.Wm3 - W3;
  const cap3 = cap3raw > 0 ? cap3raw : 0;
  const w23 = k23 <= W2c ? (k23 <= cap3 ? 0 : 2) : W2c <= cap3 ? 1 : 2;
  const q23 = w23 === 0 ? k23 : w23 === 1 ? W2c : cap3;
  const W3a = W3 + q23;
  const z = W3a / p.Wm3;
  const lin = (p.Ds * p.Dsmax) / p.Ws;
  const nonlin = z > p.Ws;
  const u = nonlin ? (z - p.Ws) / (1 - p.Ws) : 0;
  const qraw = lin * z + (nonlin ? (p.Dsmax - lin) * u * u : 0);
  const qbIsRate = qraw * c.dt <= W3a;

  // ---- reverse ----
  const aET = g[O_ET]!;
  const aR0 = g[O_R]!;
  const aQb = g[O_QB]!;
  const aW1c = g[O_W1]!;
  const aW2d = g[O_W2]!;
  const aW3b = g[O_W3]!;
  const aSWEend = g[O_SWE]!;
  let aWm2 = 0;
  let aWm3 = 0;
  let aWm = 0;
  let aExpt = 0;
  let ab = 0;
  // baseflow: W3b = W3a - qb
  let aW3a = aW3b;
  const aqb = aQb - aW3b;
  let aqraw = 0;
  if (qbIsRate) aqraw = aqb * c.dt;
  else aW3a += aqb;
  if (aqraw !== 0) {
    const u2 = nonlin ? u * u : 0;
    const alin = aqraw * (z - u2);
    gp[G_DSMAX]! += aqraw * u2 + (alin * p.Ds) / p.Ws;
    gp[G_DS]! += (alin * p.Dsmax) / p.Ws;
    let aWs = (-alin * p.Ds * p.Dsmax) / (p.Ws * p.Ws);
    let az = aqraw * lin;
    if (nonlin) {
      const omw = 1 - p.Ws;
      const dq_du = 2 * (p.Dsmax - lin) * u;
      az += (aqraw * dq_du) / omw;
      aWs += (aqraw * dq_du * (z - 1)) / (omw * omw);
    }
    gp[G_WS]! += aWs;
    aW3a += az / p.Wm3;
    aWm3 -= (az * W3a) / (p.Wm3 * p.Wm3);
  }
  // drainage 2 -> 3: W2d = W2c - q23, W3a = W3 + q23
  let aW2c = aW2d;
  let aW3 = aW3a;
  const aq23 = aW3a - aW2d;
  if (w23 === 0) {
    if (v23 > 0) {
      const dk = (k23 * p.expt) / v23;
      aW2c += (aq23 * dk) / p.Wm2;
      aWm2 -= (aq23 * dk * W2c) / (p.Wm2 * p.Wm2);
      aExpt += aq23 * k23 * Math.log(v23);
    }
  } else if (w23 === 1) aW2c += aq23;
  else if (cap3raw > 0) {
    aWm3 += aq23;
    aW3 -= aq23;
  }
  // drainage 1 -> 2: W1c = W1b - q12, W2c = W2b + q12
  let aW1b = aW1c;
  let aW2b = aW2c;
  const aq12 = aW2c - aW1c;
  if (w12 === 0) {
    if (v12 > 0) {
      const dk = (k12 * p.expt) / v12;
      aW1b += (aq12 * dk) / p.Wm1;
      aExpt += aq12 * k12 * Math.log(v12);
    }
  } else if (w12 === 1) aW1b += aq12;
  else if (cap2raw > 0) {
    aWm2 += aq12;
    aW2b -= aq12;
  }
  // ET split: W1b = W1a - e1, W2b = W2a - ae + e1
  let aW1a = aW1b;
  let aW2a = aW2b;
  const ae1 = aW2b - aW1b;
  let aae = aET - aW2b;
  if (Wt2 > 0) {
    aae += (ae1 * W1a) / Wt2;
    const s = (ae1 * ae) / (Wt2 * Wt2);
    aW1a += s * W2a;
    aW2a -= s * W1a;
  }
  // ae = min(E beta, avail)
  let aWt2 = 0;
  let awp = 0;
  let awcr = 0;
  if (aeIsPe) {
    const abeta = aae * E;
    if (r > 0 && r < 1) {
      aWt2 += abeta / den;
      awp += (abeta * (Wt2 - wcr)) / (den * den);
      awcr -= (abeta * (Wt2 - wp)) / (den * den);
    }
  } else if (availRaw > 0) {
    aWt2 += aae;
    awp -= aae;
  }
  aWm += awcr * c.wcr + awp * c.wp;
  aW1a += aWt2;
  aW2a += aWt2;
  // fill: W1a = W1 + s1, W2a = W2 + inf - s1
  let aW1 = aW1a;
  let aW2 = aW2a;
  let ainf = aW2a;
  const as1 = aW1a - aW2a;
  if (s1IsInf) ainf += as1;
  else if (cap1raw > 0) aW1 -= as1;
  // inf = win - R
  const aR = aR0 - ainf;
  let awin = ainf;
  if (win > 0) {
    let aWt = aR;
    if (w > 0) {
      const lw = Math.log(w);
      const wbp = Math.exp(bp * lw);
      const wb = wbp / w;
      awin += aR * (1 - wb);
      aWm += aR * (wbp - 1);
      const aw = aR * Wm * bp * wb;
      ab += aR * Wm * wbp * lw;
      // w = y - win / im
      const aim = (aw * win) / (im * im);
      ab += aim * Wm;
      aWm += aim * bp;
      if (x < 1) {
        const omx = 1 - x;
        // y = (1 - x)^(1/bp)
        const ax = (-aw * y) / (bp * omx);
        ab += (-aw * y * Math.log(omx)) / (bp * bp);
        aWt += ax / Wm;
        aWm -= (ax * Wt) / (Wm * Wm);
      }
    } else {
      awin += aR;
      aWm -= aR;
    }
    aW1 += aWt;
    aW2 += aWt;
  }
  aWm2 += aWm;
  // snow: win = rain + melt, SWE_end = swe1 - melt
  let aSWE = aSWEend;
  if (c.snow) {
    const amelt = awin - aSWEend;
    if (!(pot < swe1)) aSWE += amelt;
  }
  a[0] = aW1;
  a[1] = aW2;
  a[2] = aW3;
  a[3] = aSWE;
  gp[G_B]! += ab;
  gp[G_WM2]! += aWm2;
  gp[G_WM3]! += aWm3;
  gp[G_EXPT]! += aExpt;
}
