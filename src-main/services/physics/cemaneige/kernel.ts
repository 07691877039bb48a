import { FieldcalError } from '../../../../src-shared/ipc';

/**
 * CemaNeige degree-day snow model (Valéry, Andréassian & Perrin 2014, J. Hydrol. 517, 1176-1187),
 * as airGR 1.7's frun_CEMANEIGE.f runs it without hysteresis, written over typed arrays in a
 * cells x steps layout (row c = one elevation layer of a basin, or one grid cell): cell c's step t
 * is at index c * steps + t. Each cell has its own CTG, Kf and melt threshold, so the same kernel
 * serves a lumped basin's layers and a grid.
 */

/** Melt temperature threshold Tmelt (°C) (airGR frun_CEMANEIGE.f: Tmelt = 0). */
export const TMELT = 0;
/** Minimum melt speed as a fraction of potential melt (airGR frun_CEMANEIGE.f: MinSpeed = 0.1). */
export const MIN_SPEED = 0.1;
/** Gthreshold = 0.9 × mean annual solid precipitation (Valéry et al. 2014; airGR frun_CEMANEIGE.f). */
export const GTHRESHOLD_FRACTION = 0.9;

/** Inputs of the snow kernel: per-cell series (cells x steps) and per-cell constants. */
export interface SnowCells {
  cells: number;
  steps: number;
  /** Total precipitation (mm/step), cells x steps. */
  P: Float64Array;
  /** Solid fraction of the precipitation (0..1), cells x steps. */
  fracSolid: Float64Array;
  /** Mean air temperature (°C), cells x steps. */
  T: Float64Array;
  /** Melt threshold Gthreshold (mm) per cell. */
  Gthreshold: Float64Array;
}

/** Snow parameters per cell: CTG (thermal inertia, 0..1) and Kf (degree-day factor, mm/°C/step). */
export interface SnowParams {
  CTG: Float64Array;
  Kf: Float64Array;
}

/** Snow outputs, cells x steps, plus the tape (start-of-step pack and thermal state) the adjoint reads. */
export interface SnowRun {
  /** Liquid water leaving the pack: liquid precipitation + melt (mm/step). */
  liquid: Float64Array;
  melt: Float64Array;
  /** Snow pack G at the end of each step (mm). */
  G: Float64Array;
  /** Thermal state eTG at the end of each step (°C). */
  eTG: Float64Array;
  /** Pack and thermal state at the start of each step (the tape). */
  G0: Float64Array;
  eTG0: Float64Array;
}

/** Gradients of a loss with respect to each cell's CTG and Kf and initial states. */
export interface SnowGradient {
  CTG: Float64Array;
  Kf: Float64Array;
  G0: Float64Array;
  eTG0: Float64Array;
}

/** Refuses inputs that would give NaN instead of an answer (names the cell and step). */
export function checkSnowInputs(s: SnowCells, p: SnowParams): void {
  const n = s.cells * s.steps;
  for (const k of ['P', 'fracSolid', 'T'] as const) {
    if (s[k].length !== n)
      throw new FieldcalError('VALIDATION', `snow input ${k} has ${s[k].length} values, expected ${n}`, {
        field: k,
      });
  }
  for (const [k, a] of [
    ['Gthreshold', s.Gthreshold],
    ['CTG', p.CTG],
    ['Kf', p.Kf],
  ] as const) {
    if (a.length !== s.cells)
      throw new FieldcalError(
        'VALIDATION',
        `${k} has ${a.length} values, expected one per cell (${s.cells})`,
        {
          field: k,
        },
      );
  }
  for (let c = 0; c < s.cells; c++) {
    if (!(p.CTG[c]! >= 0 && p.CTG[c]! <= 1))
      throw new FieldcalError('VALIDATION', `CemaNeige CTG must be in [0, 1] (cell ${c}: ${p.CTG[c]})`, {
        field: 'CTG',
        cell: c,
      });
    if (!(p.Kf[c]! >= 0) || !Number.isFinite(p.Kf[c]!))
      throw new FieldcalError('VALIDATION', `CemaNeige Kf must be ≥ 0 (cell ${c}: ${p.Kf[c]})`, {
        field: 'Kf',
        cell: c,
      });
    if (!(s.Gthreshold[c]! >= 0))
      throw new FieldcalError('VALIDATION', `Gthreshold must be ≥ 0 (cell ${c}: ${s.Gthreshold[c]})`, {
        field: 'Gthreshold',
        cell: c,
      });
  }
  for (let i = 0; i < n; i++) {
    const f = s.fracSolid[i]!;
    if (!(s.P[i]! >= 0) || !(f >= 0 && f <= 1) || !Number.isFinite(s.T[i]!)) {
      const c = Math.floor(i / s.steps);
      throw new FieldcalError(
        'VALIDATION',
        `snow forcing of cell ${c} at step ${i - c * s.steps} is invalid (P ${s.P[i]}, solid fraction ${f}, T ${s.T[i]})`,
        {
          field: !(s.P[i]! >= 0) ? 'P' : Number.isFinite(s.T[i]!) ? 'fracSolid' : 'T',
          cell: c,
          step: i - c * s.steps,
        },
      );
    }
  }
}

/**
 * Runs CemaNeige over every cell and step. `G0`/`eTG0` are the initial pack (mm) and thermal state
 * (°C) per cell (airGR's defaults: 0 and 0); they are updated in place to the end states.
 */
export function runSnowCells(s: SnowCells, p: SnowParams, G0?: Float64Array, eTG0?: Float64Array): SnowRun {
  checkSnowInputs(s, p);
  const { cells, steps } = s;
  const n = cells * steps;
  const r: SnowRun = {
    liquid: new Float64Array(n),
    melt: new Float64Array(n),
    G: new Float64Array(n),
    eTG: new Float64Array(n),
    G0: new Float64Array(n),
    eTG0: new Float64Array(n),
  };
  for (let c = 0; c < cells; c++) {
    const ctg = p.CTG[c]!;
    const kf = p.Kf[c]!;
    const gth = s.Gthreshold[c]!;
    let G = G0 ? G0[c]! : 0;
    let eTG = eTG0 ? eTG0[c]! : 0;
    const o = c * steps;
    for (let t = 0; t < steps; t++) {
      const i = o + t;
      r.G0[i] = G;
      r.eTG0[i] = eTG;
      const P = s.P[i]!;
      const f = s.fracSolid[i]!;
      const T = s.T[i]!;
      const pliq = (1 - f) * P; // liquid part (airGR: Pliq = (1 - Frac) P)
      const psol = f * P; // solid part (airGR: Psol = Frac P)
      G += psol; // accumulation before melt (Valéry et al. 2014, eq. 2)
      eTG = ctg * eTG + (1 - ctg) * T; // thermal state, exponential smoothing (Valéry et al. 2014, eq. 3)
      if (eTG > 0) eTG = 0; // the pack cannot be warmer than 0 °C (airGR)
      let pot = 0;
      if (eTG === 0 && T > TMELT) {
        pot = kf * (T - TMELT); // potential melt, degree-day (Valéry et al. 2014, eq. 4)
        if (pot > G) pot = G; // no more than the pack (airGR)
      }
      const ratio = G < gth ? G / gth : 1; // snow-covered fraction Gratio = min(G/Gthreshold, 1) (Valéry et al. 2014, eq. 5)
      const melt = ((1 - MIN_SPEED) * ratio + MIN_SPEED) * pot; // actual melt (Valéry et al. 2014, eq. 6)
      G -= melt;
      r.melt[i] = melt;
      r.liquid[i] = pliq + melt; // water handed to the runoff model (airGR PliqAndMelt)
      r.G[i] = G;
      r.eTG[i] = eTG;
    }
    if (G0) G0[c] = G;
    if (eTG0) eTG0[c] = eTG;
  }
  return r;
}

/**
 * Exact reverse-mode gradient of a loss L through a snow run, given gLiquid = dL/d(liquid) (cells x
 * steps) and the forward run's tape. Every threshold (eTG clamp, melt condition, potential-melt
 * cap, Gratio's cap) takes the branch the forward step took. CTG acts on the outputs only through
 * the discrete condition eTG = 0, so its gradient is zero wherever the model is differentiable.
 */
export function snowAdjointCells(
  s: SnowCells,
  p: SnowParams,
  run: SnowRun,
  gLiquid: Float64Array,
): SnowGradient {
  const { cells, steps } = s;
  const g: SnowGradient = {
    CTG: new Float64Array(cells),
    Kf: new Float64Array(cells),
    G0: new Float64Array(cells),
    eTG0: new Float64Array(cells),
  };
  for (let c = 0; c < cells; c++) {
    const ctg = p.CTG[c]!;
    const kf = p.Kf[c]!;
    const gth = s.Gthreshold[c]!;
    const o = c * steps;
    let gG = 0; // adjoint of the end-of-step pack
    let gE = 0; // adjoint of the end-of-step thermal state
    let gCTG = 0;
    let gKf = 0;
    for (let t = steps - 1; t >= 0; t--) {
      const i = o + t;
      // recompute the step from the tape, same expressions and branches as runSnowCells
      const P = s.P[i]!;
      const f = s.fracSolid[i]!;
      const T = s.T[i]!;
      const Gs = run.G0[i]!;
      const Es = run.eTG0[i]!;
      const G1 = Gs + f * P;
      const e1 = ctg * Es + (1 - ctg) * T;
      const clamped = e1 > 0;
      const e2 = clamped ? 0 : e1;
      const meltOn = e2 === 0 && T > TMELT;
      const pot0 = kf * (T - TMELT);
      const capped = meltOn && pot0 > G1;
      const pot = meltOn ? (capped ? G1 : pot0) : 0;
      const below = G1 < gth;
      const ratio = below ? G1 / gth : 1;
      const w = (1 - MIN_SPEED) * ratio + MIN_SPEED;
      // reverse: liquid = pliq + melt; G2 = G1 - melt
      const gMelt = gLiquid[i]! - gG;
      let gG1 = gG;
      const gRatio = gMelt * (1 - MIN_SPEED) * pot;
      const gPot = gMelt * w;
      if (below) gG1 += gRatio / gth;
      if (meltOn) {
        if (capped) gG1 += gPot;
        else gKf += gPot * (T - TMELT);
      }
      // e2 = min(0, CTG eTG + (1 - CTG) T)
      let gEs = 0;
      if (!clamped) {
        gEs = gE * ctg;
        gCTG += gE * (Es - T);
      }
      gG = gG1; // G1 = G + Psol
      gE = gEs;
    }
    g.CTG[c] = gCTG;
    g.Kf[c] = gKf;
    g.G0[c] = gG;
    g.eTG0[c] = gE;
  }
  return g;
}
