import { FieldcalError } from '../../../src-shared/ipc';
import { gr4WithGradient } from './gr4/adjoint';
import {
  checkGr4Inputs,
  gr4Timing,
  initialState,
  runGr4,
  type Gr4Params,
  type Gr4Timing,
} from './gr4/forward';
import { routeLr, routeLrWithGradient, type RoutingNetwork } from './routing/lr';
import {
  GTHRESHOLD_FRACTION,
  runSnowCells,
  snowAdjointCells,
  type SnowCells,
  type SnowParams,
  type SnowRun,
} from './cemaneige/kernel';
import { USACE_TMAX, USACE_TMIN } from './cemaneige/layers';
import { gr4CellsAdjoint, gr4CellsForward, nativePhysics, type PhysicsAddon } from './native';

/** Distributed parameters of gr4 + lr: one value per active cell for each of X1..X4 and llr. */
export interface Gr4LrParams {
  X1: Float64Array;
  X2: Float64Array;
  X3: Float64Array;
  X4: Float64Array;
  llr: Float64Array;
  /** With snow (a temperature stack): CemaNeige's CTG (0..1) and Kf (mm/°C/d) per cell. */
  CTG?: Float64Array;
  Kf?: Float64Array;
}

/**
 * Per-cell CemaNeige forcing of a grid (the snow kernel's cells = the grid's active cells, cell-major):
 * each cell runs one CemaNeige layer at its own temperature and precipitation, with no elevation
 * extrapolation (the cell's forcing is taken at the cell's elevation: smash's snow module does the same
 * per cell, md_snow_operator.f90). Solid fraction: USACE's, all snow below -1 °C, all rain above 3 °C
 * (airGR DataAltiExtrapolation_Valery). Gthreshold per cell = 0.9 × the cell's mean annual solid
 * precipitation over the series given (Valéry et al. 2014; airGR CreateRunOptions). Daily steps only:
 * CemaNeige's Kf is per day and CTG a daily smoothing weight (airGR runs it on daily inputs).
 * `P` and `T` are step-major [steps x cells] as the grid's forcing.
 */
export function gridSnowCells(
  P: ArrayLike<number>,
  T: ArrayLike<number>,
  steps: number,
  cells: number,
  dt: number,
): SnowCells {
  if (dt !== 86400)
    throw new FieldcalError(
      'VALIDATION',
      `CemaNeige runs on daily steps (its Kf is per day, airGR CemaNeige); this dataset's step is ${dt} s`,
      { field: 'stepSeconds' },
    );
  if (P.length !== steps * cells || T.length !== steps * cells)
    throw new FieldcalError(
      'VALIDATION',
      `temperature has ${T.length} values and precipitation ${P.length}, expected ${steps} x ${cells}`,
      { field: 'T' },
    );
  const s: SnowCells = {
    cells,
    steps,
    P: new Float64Array(cells * steps),
    fracSolid: new Float64Array(cells * steps),
    T: new Float64Array(cells * steps),
    Gthreshold: new Float64Array(cells),
  };
  for (let c = 0; c < cells; c++) {
    let solid = 0;
    for (let t = 0; t < steps; t++) {
      const i = c * steps + t;
      const p = P[t * cells + c]!;
      const tc = T[t * cells + c]!;
      s.P[i] = p;
      s.T[i] = tc;
      // USACE: 1 - (T - Tmin)/(Tmax - Tmin), clipped to [0, 1] (airGR DataAltiExtrapolation_Valery)
      const f = tc > USACE_TMAX ? 0 : tc < USACE_TMIN ? 1 : 1 - (tc - USACE_TMIN) / (USACE_TMAX - USACE_TMIN);
      s.fracSolid[i] = f;
      solid += f * p;
    }
    // MeanAnSolidPrecip = mean daily solid precipitation × 365.25 (airGR CreateRunOptions)
    s.Gthreshold[c] = GTHRESHOLD_FRACTION * (solid / steps) * 365.25;
  }
  return s;
}

/** The first `steps` steps of a grid's snow forcing (Gthreshold kept: it is the whole series'). */
export function cutSnowCells(s: SnowCells, steps: number): SnowCells {
  if (steps === s.steps) return s;
  const cut = (a: Float64Array) => {
    const o = new Float64Array(s.cells * steps);
    for (let c = 0; c < s.cells; c++) o.set(a.subarray(c * s.steps, c * s.steps + steps), c * steps);
    return o;
  };
  return { ...s, steps, P: cut(s.P), fracSolid: cut(s.fracSolid), T: cut(s.T) };
}

/** The snow parameters of a parameter set, checked (one CTG and Kf per cell). */
function snowParamsOf(p: Gr4LrParams, n: number): SnowParams {
  if (!p.CTG || !p.Kf)
    throw new FieldcalError('VALIDATION', 'with snow, CTG and Kf are needed (one value per cell)', {
      field: p.CTG ? 'Kf' : 'CTG',
    });
  for (const [k, v] of [
    ['CTG', p.CTG],
    ['Kf', p.Kf],
  ] as const)
    if (v.length !== n)
      throw new FieldcalError('VALIDATION', `parameter ${k} has ${v.length} values for ${n} cells`, {
        field: k,
      });
  return { CTG: p.CTG, Kf: p.Kf };
}

/** CemaNeige on every cell: the run (cell-major) and its liquid water step-major, GR4J's input. */
function snowInput(snow: SnowCells, sp: SnowParams, n: number, steps: number) {
  if (snow.cells !== n || snow.steps !== steps)
    throw new FieldcalError(
      'VALIDATION',
      `snow forcing is ${snow.cells} cells x ${snow.steps} steps, the model ${n} x ${steps}`,
      { field: 'T' },
    );
  const run: SnowRun = runSnowCells(snow, sp);
  const liquid = new Float64Array(steps * n);
  for (let c = 0; c < n; c++) for (let t = 0; t < steps; t++) liquid[t * n + c] = run.liquid[c * steps + t]!;
  return { run, liquid };
}

const cellParams = (p: Gr4LrParams, c: number): Gr4Params => ({
  X1: p.X1[c]!,
  X2: p.X2[c]!,
  X3: p.X3[c]!,
  X4: p.X4[c]!,
});

/**
 * The distributed model: GR4J in every cell (airGR's default initial state) on cell forcing
 * (step-major [steps x cells], mm/step), its runoff routed by `lr`. Returns discharge (m³/s) at
 * every cell and step. `dt` is the model step in seconds (86400 daily, 3600 hourly): GR4's
 * step-dependent constants follow it as smash's gr4 does (gr4Timing; md_gr_operator.f90) and lr
 * drains 1 - exp(-dt / 60 llr) per step (smash md_routing_operator.f90); X2 is then mm per step
 * and X4 a number of steps.
 */
export function runGr4Lr(
  net: RoutingNetwork,
  p: Gr4LrParams,
  P: ArrayLike<number>,
  E: ArrayLike<number>,
  steps: number,
  dt: number,
  /** Per-cell CemaNeige forcing (gridSnowCells): its liquid water (rain + melt) feeds GR4J instead of P. */
  snow?: SnowCells,
): Float64Array {
  const n = net.cells;
  checkSizes(p, n, P.length, steps);
  const input = snow ? snowInput(snow, snowParamsOf(p, n), n, steps).liquid : P;
  const runoff = cellRunoff(n, p, input, E, steps, gr4Timing(dt));
  return routeLr(net, runoff, steps, p.llr, dt, new Float64Array(n));
}

/**
 * Discharge and the exact gradient of L = Σ gQ·Q with respect to every distributed parameter:
 * the routing adjoint gives dL/d(runoff) per cell and step, which drives each cell's GR4J adjoint
 * (the chained gradients of HDA-PR, Huynh et al.). Initial stores follow X1 and X3 (0.3 X1, 0.5 X3).
 */
export function gr4LrWithGradient(
  net: RoutingNetwork,
  p: Gr4LrParams,
  P: ArrayLike<number>,
  E: ArrayLike<number>,
  steps: number,
  dt: number,
  /** dL/dQ per cell and step, or a function computing it from the discharge of this same run. */
  gQ: ArrayLike<number> | ((q: Float64Array) => ArrayLike<number>),
  /**
   * Per-cell CemaNeige forcing (gridSnowCells): GR4J's adjoint hands dL/d(liquid water) per cell
   * to the snow kernel's adjoint, which gives CTG's and Kf's gradients.
   */
  snow?: SnowCells,
) {
  const n = net.cells;
  checkSizes(p, n, P.length, steps);
  const timing = gr4Timing(dt);
  const sp = snow ? snowParamsOf(p, n) : undefined;
  const sn = snow && sp ? snowInput(snow, sp, n, steps) : undefined;
  const input = sn ? sn.liquid : P;
  const runoff = cellRunoff(n, p, input, E, steps, timing);
  const pc = new Float64Array(steps);
  const ec = new Float64Array(steps);
  const routed = routeLrWithGradient(net, runoff, steps, p.llr, dt, new Float64Array(n), gQ);
  const grad: {
    X1: Float64Array;
    X2: Float64Array;
    X3: Float64Array;
    X4: Float64Array;
    llr: Float64Array;
    CTG?: Float64Array;
    Kf?: Float64Array;
  } = {
    X1: new Float64Array(n),
    X2: new Float64Array(n),
    X3: new Float64Array(n),
    X4: new Float64Array(n),
    llr: routed.gradient.llr,
  };
  const native = nativePhysics();
  if (native) {
    // every cell's GR4J adjoint in one native call (native/src/physics.cc), dL/d(liquid) step-major
    const gPs = sn ? new Float64Array(steps * n) : undefined;
    const g = gr4CellsAdjoint(
      native,
      input,
      E,
      n,
      steps,
      p,
      timing.percConst,
      timing.nh,
      initialCells(p, n, timing),
      routed.gradient.runoff,
      { gP: gPs },
    );
    for (let c = 0; c < n; c++) {
      grad.X1[c] = g[c]! + 0.3 * g[4 * n + c]!;
      grad.X2[c] = g[n + c]!;
      grad.X3[c] = g[2 * n + c]! + 0.5 * g[5 * n + c]!;
      grad.X4[c] = g[3 * n + c]!;
    }
    if (snow && sp && sn && gPs) {
      const gLiquid = new Float64Array(n * steps);
      for (let c = 0; c < n; c++) for (let t = 0; t < steps; t++) gLiquid[c * steps + t] = gPs[t * n + c]!;
      const gs = snowAdjointCells(snow, sp, sn.run, gLiquid);
      grad.CTG = gs.CTG;
      grad.Kf = gs.Kf;
    }
    return { q: routed.q, gradient: grad };
  }
  const gq = new Float64Array(steps);
  // dL/d(liquid water) per cell (cell-major, the snow kernel's layout) and one cell's
  const gLiquid = sn ? new Float64Array(n * steps) : undefined;
  const gPc = sn ? new Float64Array(steps) : undefined;
  for (let c = 0; c < n; c++) {
    for (let t = 0; t < steps; t++) {
      pc[t] = input[t * n + c]!;
      ec[t] = E[t * n + c]!;
      gq[t] = routed.gradient.runoff[t * n + c]!;
    }
    const cp = cellParams(p, c);
    const { gradient: g } = gr4WithGradient(
      cp,
      pc,
      ec,
      initialState(cp.X1, cp.X3, timing),
      gq,
      undefined,
      gPc,
      timing,
    );
    if (gLiquid && gPc) gLiquid.set(gPc, c * steps);
    grad.X1[c] = g.X1 + 0.3 * g.S0;
    grad.X2[c] = g.X2;
    grad.X3[c] = g.X3 + 0.5 * g.R0;
    grad.X4[c] = g.X4;
  }
  if (snow && sp && sn && gLiquid) {
    const gs = snowAdjointCells(snow, sp, sn.run, gLiquid);
    grad.CTG = gs.CTG;
    grad.Kf = gs.Kf;
  }
  return { q: routed.q, gradient: grad };
}

/** GR4J runoff of every cell (step-major), each from airGR's default initial state. */
function cellRunoff(
  n: number,
  p: Gr4LrParams,
  P: ArrayLike<number>,
  E: ArrayLike<number>,
  steps: number,
  timing: Gr4Timing,
): Float64Array {
  const runoff = new Float64Array(steps * n);
  const native = nativePhysics();
  if (native) {
    nativeRunoff(native, n, p, P, E, steps, timing, runoff);
    return runoff;
  }
  const pc = new Float64Array(steps);
  const ec = new Float64Array(steps);
  for (let c = 0; c < n; c++) {
    for (let t = 0; t < steps; t++) {
      pc[t] = P[t * n + c]!;
      ec[t] = E[t * n + c]!;
    }
    const cp = cellParams(p, c);
    const q = runGr4(cp, pc, ec, initialState(cp.X1, cp.X3, timing), timing).Q;
    for (let t = 0; t < steps; t++) runoff[t * n + c] = q[t]!;
  }
  return runoff;
}

/** airGR's default initial state of every cell (0.3 X1, 0.5 X3, empty unit hydrographs). */
function initialCells(p: Gr4LrParams, n: number, timing: Gr4Timing) {
  return {
    S: Float64Array.from(p.X1, (x) => 0.3 * x),
    R: Float64Array.from(p.X3, (x) => 0.5 * x),
    uh1: new Float64Array(n * timing.nh),
    uh2: new Float64Array(n * 2 * timing.nh),
  };
}

/** {@link cellRunoff} on the native kernels: all cells in one call, with the per-cell checks of runGr4. */
function nativeRunoff(
  native: PhysicsAddon,
  n: number,
  p: Gr4LrParams,
  P: ArrayLike<number>,
  E: ArrayLike<number>,
  steps: number,
  timing: Gr4Timing,
  runoff: Float64Array,
): void {
  for (let c = 0; c < n; c++) checkCell(cellParams(p, c));
  for (let i = 0; i < steps * n; i++) {
    if (!(P[i]! >= 0) || !(E[i]! >= 0))
      throw new FieldcalError(
        'VALIDATION',
        `Forcing at step ${Math.floor(i / n)}, cell ${i % n} is invalid (P ${P[i]}, E ${E[i]}): missing or negative`,
        { field: !(P[i]! >= 0) ? 'P' : 'E', step: Math.floor(i / n), cell: i % n },
      );
  }
  gr4CellsForward(native, P, E, n, steps, p, timing.percConst, timing.nh, initialCells(p, n, timing), {
    Q: runoff,
  });
}

function checkSizes(p: Gr4LrParams, n: number, forcing: number, steps: number): void {
  for (const [k, v] of Object.entries(p)) {
    if (v === undefined) continue;
    if ((v as Float64Array).length !== n)
      throw new FieldcalError(
        'VALIDATION',
        `parameter ${k} has ${(v as Float64Array).length} values for ${n} cells`,
        { field: k },
      );
  }
  if (forcing !== steps * n)
    throw new FieldcalError('VALIDATION', `forcing has ${forcing} values, expected ${steps} x ${n}`, {
      field: 'P',
    });
}

/** The parameter checks of runGr4 for one cell (finite, X1 > 0, X3 > 0, X4 > 0.5). */
const checkCell = (cp: Gr4Params) => checkGr4Inputs(cp, [], []);
