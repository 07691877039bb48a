import type { z } from 'zod';
import { nse } from '../../../metrics/series';
import { fromAirGRSpace, toAirGRSpace } from '../../../physics/cemaneige/gr4cemaneige';
import {
  calibrateGr4SnowGradient,
  calibrateGr4TransformedGradient,
  transformedBounds,
} from '../gradient/lumped';
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
import {
  LUMPED_PARAMETERS,
  SNOW_PARAMETERS,
  lumpedParameters,
  simulateLumped,
  type LumpedProblem,
} from '../../lumped/problem';
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

/**
 * SCE-UA on lumped GR4J or GR4J + CemaNeige, in airGR's transformed space (TransfoParam_GR4J /
 * _CemaNeige, where Calibration_Michel searches) over the problem's bounds: minimises 1 - NSE
 * (Nash & Sutcliffe 1970) after the warm-up. Robust rather than tuned to a basin: airGR's start
 * grid is screened, SCE-UA runs `restarts` times from different seeds, each distinct optimum is
 * refined by Michel's local search and (polish) BFGS on the exact adjoint gradient, and a last
 * SCE-UA pass in a small box around the best point is refined the same way; the best is kept.
 */
export function sceUaLumped(
  pr: LumpedProblem,
  o: z.output<typeof sceUaLumpedOptions>,
  seed: number,
  ctx: MethodContext,
): LumpedResult {
  const { polish, restarts, ...so } = o;
  const structure = pr.structure ?? 'gr4';
  const { names } = lumpedParameters(structure);
  const { tl, tu } = transformedBounds(pr.lower, pr.upper);
  let runs = 0;
  const objective = (x: ArrayLike<number>) => {
    runs++;
    const v = 1 - nse(pr.obs, simulateLumped(pr, x).subarray(pr.warmup)).value;
    return Number.isFinite(v) ? v : Number.POSITIVE_INFINITY;
  };
  const ft = (t: Float64Array) =>
    ctx.cancelled() ? Number.POSITIVE_INFINITY : objective(fromAirGRSpace(clampT(t, tl, tu)));
  const total = so.maxRuns * (restarts + 1);
  const progress = (best: number) =>
    ctx.progress({ iteration: Math.min(runs, total), total, objective: best, losses: {} });
  const info: Record<string, unknown> = {};
  // candidates: the best point of airGR's start grid (Calibration_Michel's screening) and each SCE-UA optimum
  const grid = bestOfAirGRGrid(ft, tl, tu);
  info.gridNse = 1 - grid.f;
  const starts: { t: Float64Array; f: number }[] = [grid];
  const sce: number[] = [];
  for (let k = 0; k < restarts && !ctx.cancelled(); k++) {
    const r = sceUa(ft, tl, tu, { ...so, seed: seed + k }, (_loop, best) => progress(best));
    sce.push(1 - r.objective);
    starts.push({ t: clampT(r.best, tl, tu), f: r.objective });
  }
  info.sceUaNse = sce;
  // Michel's local search, then BFGS on the adjoint gradient, from each distinct start
  const refine = (t0: Float64Array) => {
    const local = patternSearch(ft, clampT(t0, tl, tu), tl, tu);
    let best = { t: local.t, f: local.f };
    if (polish && !ctx.cancelled()) {
      const xg = polishGradient(pr, fromAirGRSpace(local.t));
      const tg = clampT(toAirGRSpace(xg), tl, tu);
      const fg = ft(tg);
      if (fg < best.f) best = { t: tg, f: fg };
    }
    return best;
  };
  starts.sort((a, b) => a.f - b.f);
  let best = { t: starts[0]!.t, f: starts[0]!.f };
  const done: Float64Array[] = [];
  for (const s of starts) {
    if (ctx.cancelled()) break;
    // the same basin of attraction twice is skipped (within 0.05 on every transformed axis)
    if (done.some((d) => d.every((v, i) => Math.abs(v - s.t[i]!) < 0.05))) continue;
    done.push(s.t);
    const r = refine(s.t);
    if (r.f < best.f) best = r;
    progress(best.f);
  }
  // SCE-UA again in a box of ±0.3 (transformed) around the best point, then the same refinement
  if (!ctx.cancelled()) {
    const lo = Float64Array.from(best.t, (v, i) => Math.max(tl[i]!, v - 0.3));
    const hi = Float64Array.from(best.t, (v, i) => Math.min(tu[i]!, v + 0.3));
    const rr = sceUa(ft, lo, hi, {
      ...so,
      complexes: Math.max(3, so.complexes),
      maxRuns: Math.max(1000, Math.floor(so.maxRuns / 2)),
      pcento: 0,
      seed: seed + restarts,
    });
    const r = refine(rr.best);
    info.refineNse = 1 - r.f;
    if (r.f < best.f) best = r;
  }
  const x = fromAirGRSpace(clampT(best.t, tl, tu));
  return {
    parameters: Object.fromEntries(names.map((n, k) => [n, x[k]!])),
    info: { ...info, runs, nse: 1 - best.f },
  };
}

/** BFGS on the exact adjoint gradient of 1 - NSE in airGR's transformed space, from real point x. */
function polishGradient(pr: LumpedProblem, x: Float64Array): Float64Array {
  const base = { E: pr.E, obs: pr.obs, warmup: pr.warmup, lower: pr.lower, upper: pr.upper, start: x };
  if (pr.structure === 'gr4-cemaneige') {
    const g = calibrateGr4SnowGradient({ ...base, snow: pr.snow! });
    return Float64Array.from(SNOW_PARAMETERS, (n) => g.params[n]);
  }
  const g = calibrateGr4TransformedGradient({ ...base, P: pr.P });
  return Float64Array.from(LUMPED_PARAMETERS, (n) => g.params[n]);
}

const clampT = (t: ArrayLike<number>, lo: Float64Array, hi: Float64Array) =>
  Float64Array.from(lo, (l, i) => Math.min(hi[i]!, Math.max(l, t[i]!)));

/**
 * airGR's start grid in transformed space (CreateCalibOptions' StartParamDistrib: three values per
 * parameter, GR4J's four rows then CemaNeige's two), screened as Calibration_Michel does: the best
 * of the 3⁴ (GR4J) or 3⁶ (GR4J + CemaNeige) points.
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
  const n = lo.length;
  let best = { t: new Float64Array(n), f: Number.POSITIVE_INFINITY };
  const t = new Float64Array(n);
  for (let k = 0; k < 3 ** n; k++) {
    let r = k;
    for (let i = 0; i < n; i++) {
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
