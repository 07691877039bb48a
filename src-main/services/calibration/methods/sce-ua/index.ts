import type { z } from 'zod';
import { nse } from '../../../metrics/series';
import { fromAirGRSpace, toAirGRSpace } from '../../../physics/cemaneige/gr4cemaneige';
import { initialState, runGr4 } from '../../../physics/gr4/forward';
import { calibrateGr4SnowGradient } from '../gradient/lumped';
import { applyTransfer, coefficientBounds } from '../../gridded/mpr';
import { targetObjective } from '../../gridded/objectives';
import { fullParams, type GriddedProblem } from '../../gridded/problem';
import type {
  GriddedContext,
  LumpedResult,
  MethodContext,
  MethodDefinition,
  MethodResult,
} from '../../method';
import { runner } from '../../method';
import { SNOW_PARAMETERS, simulateLumped, type LumpedProblem } from '../../lumped/problem';
import { sceUa } from '../../optim/sceUa';
import { sceUaGriddedOptions, sceUaLumpedOptions } from './options';

/** SCE-UA (Duan et al. 1992) over MPR transfer-function coefficients, objective on the training period. */
export function sceUaMpr(
  pr: GriddedProblem,
  o: z.output<typeof sceUaGriddedOptions>,
  seed: number,
  ctx: GriddedContext,
): MethodResult {
  const { lower, upper } = coefficientBounds(pr, o.transfer);
  const [t0, t1] = pr.periods.train;
  const f = (x: Float64Array) => {
    if (ctx.cancelled()) return Number.POSITIVE_INFINITY;
    const et = ctx.sim.run(fullParams(pr, applyTransfer(pr, o.transfer, x)), t1);
    return targetObjective(o.objective, pr.target, et, t0, t1, pr.cells);
  };
  const r = sceUa(f, lower, upper, { maxRuns: o.maxRuns, complexes: o.complexes, seed }, (loop, best, n) =>
    ctx.progress({ iteration: n, total: o.maxRuns, objective: best, losses: { loop } }),
  );
  return {
    fields: applyTransfer(pr, o.transfer, r.best),
    info: {
      transfer: o.transfer,
      coefficients: Array.from(r.best),
      runs: r.runs,
      loops: r.loops,
      stop: r.stop,
    },
  };
}

/** SCE-UA on lumped GR4J: minimises 1 - NSE (Nash & Sutcliffe 1970) over the period after the warm-up. */
export function sceUaLumped(
  pr: LumpedProblem,
  o: z.output<typeof sceUaLumpedOptions>,
  seed: number,
  ctx: MethodContext,
): LumpedResult {
  if (pr.structure === 'gr4-cemaneige') return sceUaLumpedSnow(pr, o, seed, ctx);
  const { polish: _polish, ...so } = o;
  const r = sceUa(
    (v) => {
      if (ctx.cancelled()) return Number.POSITIVE_INFINITY;
      const p = { X1: v[0]!, X2: v[1]!, X3: v[2]!, X4: v[3]! };
      return 1 - nse(pr.obs, runGr4(p, pr.P, pr.E, initialState(p.X1, p.X3)).Q.subarray(pr.warmup)).value;
    },
    pr.lower,
    pr.upper,
    { ...so, seed },
    (loop, best, runs) =>
      ctx.progress({
        iteration: Math.min(runs, o.maxRuns),
        total: o.maxRuns,
        objective: best,
        losses: { loop },
      }),
  );
  return {
    parameters: { X1: r.best[0]!, X2: r.best[1]!, X3: r.best[2]!, X4: r.best[3]! },
    info: { runs: r.runs, loops: r.loops, stop: r.stop },
  };
}

/**
 * SCE-UA on lumped GR4J + CemaNeige in airGR's transformed space (TransfoParam_GR4J /
 * _CemaNeige, where Calibration_Michel searches): minimises 1 - NSE (Nash & Sutcliffe 1970), then
 * (polish) BFGS on the exact adjoint gradient from the best point; the better of the two is kept.
 */
function sceUaLumpedSnow(
  pr: LumpedProblem,
  o: z.output<typeof sceUaLumpedOptions>,
  seed: number,
  ctx: MethodContext,
): LumpedResult {
  const { polish, ...so } = o;
  const tl = toAirGRSpace(pr.lower);
  const tu = toAirGRSpace(pr.upper);
  const objective = (x: ArrayLike<number>) => {
    const v = 1 - nse(pr.obs, simulateLumped(pr, x).subarray(pr.warmup)).value;
    return Number.isFinite(v) ? v : Number.POSITIVE_INFINITY;
  };
  const r = sceUa(
    (t) => (ctx.cancelled() ? Number.POSITIVE_INFINITY : objective(fromAirGRSpace(t))),
    tl,
    tu,
    { ...so, seed },
    (loop, best, runs) =>
      ctx.progress({
        iteration: Math.min(runs, o.maxRuns),
        total: o.maxRuns,
        objective: best,
        losses: { loop },
      }),
  );
  const info: Record<string, unknown> = {
    runs: r.runs,
    loops: r.loops,
    stop: r.stop,
    sceUaNse: 1 - r.objective,
  };
  // candidates: SCE-UA's best and the best point of airGR's start grid (Calibration_Michel's screening)
  const ft = (t: Float64Array) => objective(fromAirGRSpace(clampT(t, tl, tu)));
  const grid = bestOfAirGRGrid(ft, tl, tu);
  info.gridNse = 1 - grid.f;
  let best = fromAirGRSpace(r.best);
  let f = objective(best);
  for (const start of [r.best, grid.t]) {
    if (ctx.cancelled()) break;
    // Michel's local search on all six (CTG included), then BFGS on the adjoint gradient
    const local = patternSearch(ft, clampT(start, tl, tu), tl, tu);
    let x = fromAirGRSpace(local.t);
    let fx = local.f;
    if (polish) {
      const g = calibrateGr4SnowGradient({
        snow: pr.snow!,
        E: pr.E,
        obs: pr.obs,
        warmup: pr.warmup,
        lower: pr.lower,
        upper: pr.upper,
        start: x,
      });
      const xg = Float64Array.from(SNOW_PARAMETERS, (n) => g.params[n]);
      const fg = objective(xg);
      if (fg < fx) {
        x = xg;
        fx = fg;
      }
    }
    if (fx < f) {
      best = x;
      f = fx;
    }
  }
  // refinement: SCE-UA again in a box of ±0.3 (transformed) around the best point, then Michel's search
  if (!ctx.cancelled()) {
    const tb = toAirGRSpace(best);
    const lo = Float64Array.from(tb, (v, i) => Math.max(tl[i]!, v - 0.3));
    const hi = Float64Array.from(tb, (v, i) => Math.min(tu[i]!, v + 0.3));
    const rr = sceUa((t) => (ctx.cancelled() ? Number.POSITIVE_INFINITY : ft(t)), lo, hi, {
      ...so,
      complexes: Math.max(3, so.complexes),
      maxRuns: Math.max(2000, Math.floor(so.maxRuns / 2)),
      pcento: 0,
      seed: seed + 1,
    });
    const local = patternSearch(ft, rr.best, tl, tu);
    info.refine = { runs: rr.runs, nse: 1 - local.f };
    if (local.f < f) {
      best = fromAirGRSpace(local.t);
      f = local.f;
    }
  }
  return {
    parameters: Object.fromEntries(SNOW_PARAMETERS.map((n, k) => [n, best[k]!])),
    info: { ...info, nse: 1 - f },
  };
}

const clampT = (t: ArrayLike<number>, lo: Float64Array, hi: Float64Array) =>
  Float64Array.from(lo, (l, i) => Math.min(hi[i]!, Math.max(l, t[i]!)));

/**
 * airGR's start grid for CemaNeigeGR4J in transformed space (CreateCalibOptions' StartParamDistrib:
 * three values per parameter), screened as Calibration_Michel does: the best of the 3⁶ points.
 */
const AIRGR_GRID = [
  [5.13, 5.51, 6.07],
  [-1.6, -0.61, -0.02],
  [3.03, 3.74, 4.42],
  [-9.05, -8.51, -8.06],
  [-9.96, -9.14, 4.1],
  [6.63, 6.9, 7.21],
];
function bestOfAirGRGrid(f: (t: Float64Array) => number, lo: Float64Array, hi: Float64Array) {
  let best = { t: new Float64Array(6), f: Number.POSITIVE_INFINITY };
  const t = new Float64Array(6);
  for (let k = 0; k < 729; k++) {
    let r = k;
    for (let i = 0; i < 6; i++) {
      t[i] = AIRGR_GRID[i]![r % 3]!;
      r = Math.floor(r / 3);
    }
    const v = f(clampT(t, lo, hi));
    if (v < best.f) best = { t: clampT(t, lo, hi), f: v };
  }
  return best;
}

/**
 * Michel's local search (Michel 1991, Hydrologie appliquée aux petits bassins ruraux; airGR
 * Calibration_Michel): steps of ±δ along each transformed axis, keeping every improvement, δ halved
 * when none helps, from 0.64 down to 0.01 (airGR's end), then on to 1e-4.
 */
function patternSearch(f: (t: Float64Array) => number, t0: Float64Array, lo: Float64Array, hi: Float64Array) {
  let t = Float64Array.from(t0);
  let ft = f(t);
  for (let d = 0.64; d >= 0.01;) {
    let improved = false;
    for (let i = 0; i < t.length; i++) {
      for (const s of [1, -1]) {
        const c = Float64Array.from(t);
        c[i] = Math.min(hi[i]!, Math.max(lo[i]!, c[i]! + s * d));
        if (c[i] === t[i]) continue;
        const fc = f(c);
        if (fc < ft) {
          t = c;
          ft = fc;
          improved = true;
          break;
        }
      }
    }
    if (!improved) d /= 2;
  }
  return { t, f: ft };
}

export const sceUaMethod: MethodDefinition = {
  description: 'SCE-UA (Duan et al. 1992): GR4J parameters, or MPR transfer-function coefficients on a grid',
  resumable: false,
  problems: {
    lumped: runner({ options: sceUaLumpedOptions, run: sceUaLumped }),
    gridded: runner({ options: sceUaGriddedOptions, run: sceUaMpr }),
  },
};
