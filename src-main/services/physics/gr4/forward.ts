import { FieldcalError } from '../../../../src-shared/ipc';
import { gr4CellsForward, nativePhysics } from '../native';

/** Length of UH1 (UH2 has twice as many ordinates), as in airGR. */
export const NH = 20;
/** Exponent of the unit hydrograph S-curves (airGR's D = 2.5). */
export const D = 2.5;
/** Fraction of effective rainfall routed through UH1 and the routing store (Perrin et al. 2003). */
export const B = 0.9;
/** (9/4)^4, the percolation constant of airGR (Perrin et al. 2003, eq. 12). */
export const PERC_CONST = 25.62890625;

/**
 * The time-step-dependent constants of GR4 at a step of `dt` seconds. Percolation: smash scales
 * its constant with the step, beta = 9/4 (86400/dt)^(1/4) (smash fcore/operator/md_gr_operator.f90,
 * gr4_time_step), so beta^4 = (9/4)^4 · 86400/dt. Unit hydrographs: X4 is in steps and the UH
 * spans 20 days of steps (airGR GR4H: NH = 480 hours). Daily = airGR GR4J's constants exactly.
 */
export interface Gr4Timing {
  stepSeconds: number;
  percConst: number;
  nh: number;
}

export const GR4_DAILY: Gr4Timing = { stepSeconds: 86400, percConst: PERC_CONST, nh: NH };

/** The constants of GR4 at a step of `stepSeconds` (a whole fraction of a day). */
export function gr4Timing(stepSeconds = 86400): Gr4Timing {
  if (stepSeconds === 86400) return GR4_DAILY;
  const perDay = 86400 / stepSeconds;
  if (!(Number.isInteger(perDay) && perDay >= 1))
    throw new FieldcalError('VALIDATION', `GR4 needs a step that divides a day (got ${stepSeconds} s)`, {
      field: 'stepSeconds',
    });
  // smash md_gr_operator.f90: beta = (9/4)·(86400/dt)^0.25, raised to the 4th power
  return { stepSeconds, percConst: PERC_CONST * perDay, nh: NH * perDay };
}

/** S-curve of UH1: (t/X4)^D for t < X4 (Perrin et al. 2003, eq. 18; airGR SS1). */
export function ss1(t: number, x4: number): number {
  if (t <= 0) return 0;
  if (t < x4) return (t / x4) ** D;
  return 1;
}

/** S-curve of UH2 over 2 X4 (Perrin et al. 2003, eq. 20; airGR SS2). */
export function ss2(t: number, x4: number): number {
  if (t <= 0) return 0;
  if (t <= x4) return 0.5 * (t / x4) ** D;
  if (t < 2 * x4) return 1 - 0.5 * (2 - t / x4) ** D;
  return 1;
}

/** Ordinates of UH1 (nh) and UH2 (2 nh) for a time base X4 (in steps). */
export function unitHydrographs(x4: number, nh = NH): { uh1: Float64Array; uh2: Float64Array } {
  const uh1 = new Float64Array(nh);
  const uh2 = new Float64Array(2 * nh);
  for (let i = 1; i <= nh; i++) uh1[i - 1] = ss1(i, x4) - ss1(i - 1, x4);
  for (let i = 1; i <= 2 * nh; i++) uh2[i - 1] = ss2(i, x4) - ss2(i - 1, x4);
  return { uh1, uh2 };
}

/** Slots of UH1 that carry water: MAX(1, MIN(NH-1, INT(X4+1))) as in airGR. */
export const uhLength1 = (x4: number, nh = NH) => Math.max(1, Math.min(nh - 1, Math.floor(x4 + 1)));
/** Slots of UH2 that carry water: MAX(1, MIN(2NH-1, 2 INT(X4+1))) as in airGR. */
export const uhLength2 = (x4: number, nh = NH) => Math.max(1, Math.min(2 * nh - 1, 2 * Math.floor(x4 + 1)));

/** x^-1/4 by two square roots (airGR uses the same shortcuts; pow is several times slower). */
export const invQuarticRoot = (x: number) => 1 / Math.sqrt(Math.sqrt(x));
/** x^3.5 as x³ √x (airGR: Rr*Rr*Rr*SQRT(Rr)). */
export const pow35 = (x: number) => x * x * x * Math.sqrt(x);

/** GR4J state: the two stores and the unit hydrograph contents. */
export interface Gr4State {
  S: number;
  R: number;
  uh1: Float64Array;
  uh2: Float64Array;
}

/** airGR's default initial state: stores at 30 % and 50 % of capacity, empty unit hydrographs. */
export function initialState(x1: number, x3: number, timing: Gr4Timing = GR4_DAILY): Gr4State {
  return { S: 0.3 * x1, R: 0.5 * x3, uh1: new Float64Array(timing.nh), uh2: new Float64Array(2 * timing.nh) };
}

export interface Gr4Params {
  X1: number;
  X2: number;
  X3: number;
  X4: number;
}

/** Outputs of a lumped run, one value per step. */
export interface Gr4Outputs {
  Q: Float64Array;
  AE: Float64Array;
  Perc: Float64Array;
  Exch: Float64Array;
}

/** Refuses parameters and forcing that would give NaN rather than an answer. */
export function checkGr4Inputs(p: Gr4Params, P: ArrayLike<number>, E: ArrayLike<number>): void {
  for (const [k, v] of Object.entries(p)) {
    if (!Number.isFinite(v))
      throw new FieldcalError('VALIDATION', `GR4J parameter ${k} is ${v}`, { field: k });
  }
  if (!(p.X1 > 0) || !(p.X3 > 0) || !(p.X4 > 0.5)) {
    throw new FieldcalError(
      'VALIDATION',
      `GR4J needs X1 > 0, X3 > 0 and X4 > 0.5 (got ${p.X1}, ${p.X3}, ${p.X4})`,
      { field: 'params' },
    );
  }
  if (P.length !== E.length)
    throw new FieldcalError('VALIDATION', `P has ${P.length} steps, E ${E.length}`, { field: 'E' });
  for (let t = 0; t < P.length; t++) {
    if (!(P[t]! >= 0) || !(E[t]! >= 0)) {
      throw new FieldcalError(
        'VALIDATION',
        `Forcing at step ${t} is invalid (P ${P[t]}, E ${E[t]}): missing or negative`,
        { field: !(P[t]! >= 0) ? 'P' : 'E', step: t },
      );
    }
  }
}

/**
 * Runs GR4J over a forcing series, step by step exactly as airGR's MOD_GR4J (frun_GR4J.f90) does,
 * starting from `state` (modified in place, so a warm-up run hands its state to the next period).
 * Equations: Perrin, Michel & Andréassian 2003, J. Hydrol. 279, 275-289.
 */
export function runGr4(
  p: Gr4Params,
  P: ArrayLike<number>,
  E: ArrayLike<number>,
  state: Gr4State,
  timing: Gr4Timing = GR4_DAILY,
): Gr4Outputs {
  checkGr4Inputs(p, P, E);
  checkTiming(state, timing);
  const n = P.length;
  const out: Gr4Outputs = {
    Q: new Float64Array(n),
    AE: new Float64Array(n),
    Perc: new Float64Array(n),
    Exch: new Float64Array(n),
  };
  const native = nativePhysics();
  if (native) {
    // the same step in C++ (native/src/physics.cc), one cell
    const s = { S: Float64Array.of(state.S), R: Float64Array.of(state.R), uh1: state.uh1, uh2: state.uh2 };
    const cell = {
      X1: Float64Array.of(p.X1),
      X2: Float64Array.of(p.X2),
      X3: Float64Array.of(p.X3),
      X4: Float64Array.of(p.X4),
    };
    gr4CellsForward(native, P, E, 1, n, cell, timing.percConst, timing.nh, s, out);
    state.S = s.S[0]!;
    state.R = s.R[0]!;
    return out;
  }
  const { uh1, uh2 } = unitHydrographs(p.X4, timing.nh);
  const step = new Float64Array(4);
  for (let t = 0; t < n; t++) {
    gr4Step(p, uh1, uh2, P[t]!, E[t]!, state, step, timing.percConst);
    out.Q[t] = step[0]!;
    out.AE[t] = step[1]!;
    out.Perc[t] = step[2]!;
    out.Exch[t] = step[3]!;
  }
  return out;
}

/** The state's unit hydrographs must have the timing's length (a daily state cannot run hourly). */
export function checkTiming(state: Gr4State, timing: Gr4Timing): void {
  if (state.uh1.length !== timing.nh || state.uh2.length !== 2 * timing.nh)
    throw new FieldcalError(
      'VALIDATION',
      `GR4 state has unit hydrographs of ${state.uh1.length} steps, the ${timing.stepSeconds} s step needs ${timing.nh}`,
      { field: 'state' },
    );
}

/**
 * One GR4J step (airGR MOD_GR4J): updates `state` in place and writes Q, AE, Perc and the actual
 * exchange into `out`. No allocation, so it can run over cells and steps in tight loops. The UH
 * length is the state's (`o1.length`); `percConst` is the step's percolation constant (gr4Timing).
 */
export function gr4Step(
  p: Gr4Params,
  o1: Float64Array,
  o2: Float64Array,
  p1: number,
  e: number,
  state: Gr4State,
  out: Float64Array,
  percConst = PERC_CONST,
): void {
  const A = p.X1;
  const nh = o1.length;
  const s1 = state.uh1;
  const s2 = state.uh2;
  let pr: number;
  let ae: number;
  // interception and production store (eqs. 3-8)
  if (p1 <= e) {
    const ws = Math.min((e - p1) / A, 13);
    const tws = Math.tanh(ws);
    const sr = state.S / A;
    const er = (state.S * (2 - sr) * tws) / (1 + (1 - sr) * tws);
    ae = er + p1;
    state.S -= er;
    pr = 0;
  } else {
    ae = e;
    const pn = p1 - e;
    const ws = Math.min(pn / A, 13);
    const tws = Math.tanh(ws);
    const sr = state.S / A;
    const ps = (A * (1 - sr * sr) * tws) / (1 + sr * tws);
    pr = pn - ps;
    state.S += ps;
  }
  if (state.S < 0) state.S = 0;
  // percolation (eq. 10)
  const q2 = (state.S / A) * (state.S / A);
  const perc = state.S * (1 - invQuarticRoot(1 + (q2 * q2) / percConst));
  state.S -= perc;
  pr += perc;
  // unit hydrographs (eqs. 16-21)
  const prhu1 = pr * B;
  const prhu2 = pr * (1 - B);
  // as airGR: only the slots that non-zero ordinates reach are shifted (the rest stay 0)
  const m1 = uhLength1(p.X4, nh);
  const m2 = uhLength2(p.X4, nh);
  for (let k = 0; k < m1; k++) s1[k] = s1[k + 1]! + o1[k]! * prhu1;
  s1[nh - 1] = o1[nh - 1]! * prhu1;
  for (let k = 0; k < m2; k++) s2[k] = s2[k + 1]! + o2[k]! * prhu2;
  s2[2 * nh - 1] = o2[2 * nh - 1]! * prhu2;
  // groundwater exchange (eq. 18)
  const rr0 = state.R / p.X3;
  const exch = p.X2 * pow35(rr0);
  // routing store (eqs. 19-22)
  let aexch1 = exch;
  if (state.R + s1[0]! + exch < 0) aexch1 = -state.R - s1[0]!;
  state.R = Math.max(0, state.R + s1[0]! + exch);
  const rr = (state.R / p.X3) * (state.R / p.X3);
  const qr = state.R * (1 - invQuarticRoot(1 + rr * rr));
  state.R -= qr;
  // direct branch (eq. 23)
  let aexch2 = exch;
  if (s2[0]! + exch < 0) aexch2 = -s2[0]!;
  const qd = Math.max(0, s2[0]! + exch);
  out[0] = Math.max(0, qr + qd);
  out[1] = ae;
  out[2] = perc;
  out[3] = aexch1 + aexch2;
}
