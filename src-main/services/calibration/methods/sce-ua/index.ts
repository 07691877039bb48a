import type { z } from 'zod';
import { FieldcalError } from '../../../../../src-shared/ipc';
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
import { gr4NseObjective } from '../../lumped/gr4Objective';
import { sceUa, sceUaBatch, sceUaLockstep } from '../../optim/sceUa';
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
 * refined by Michel's local search and (polish) BFGS on the exact adjoint gradient, a last
 * SCE-UA pass in a small box around the best point is refined the same way, then Michel's search
 * with finer paces and, for CemaNeige, a profile over CTG (its response is stepwise); the best is
 * kept. `info.runs` counts every model run (BFGS's forward-and-adjoint runs aside).
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
    let q: Float64Array;
    try {
      q = simulateLumped(pr, x);
    } catch (e) {
      // a point outside the model's domain (GR4J refuses X4 = 0.5, the edge of airGR's range) is infeasible
      if (e instanceof FieldcalError && e.code === 'VALIDATION' && e.details?.field === 'params')
        return Number.POSITIVE_INFINITY;
      throw e;
    }
    const v = 1 - nse(pr.obs, q.subarray(pr.warmup)).value;
    return Number.isFinite(v) ? v : Number.POSITIVE_INFINITY;
  };
  const ft = (t: Float64Array) =>
    ctx.cancelled() ? Number.POSITIVE_INFINITY : objective(fromAirGRSpace(clampT(t, tl, tu)));
  // GR4J: many points per call, on the lean objective (lumped/gr4Objective.ts: SIMD lanes over
  // parameter sets, the error summed in the same pass); GR4J + CemaNeige: one point after another
  const lean = structure === 'gr4' ? gr4NseObjective(pr.P, pr.E, pr.obs, pr.warmup) : null;
  const fb = (ts: Float64Array[]): ArrayLike<number> => {
    if (!lean) return ts.map(ft);
    if (ctx.cancelled()) return ts.map(() => Number.POSITIVE_INFINITY);
    runs += ts.length;
    return lean.batch(ts.map((t) => fromAirGRSpace(clampT(t, tl, tu))));
  };
  // progress per model run: the best objective of the whole search so far; the total is what the
  // SCE-UA passes plan (grid screening and local searches come on top: it grows when runs pass it)
  let total = so.maxRuns * restarts + Math.max(1000, Math.floor(so.maxRuns / 2));
  let bestSoFar = Number.POSITIVE_INFINITY;
  const progress = (f: number) => {
    bestSoFar = Math.min(bestSoFar, f);
    total = Math.max(total, runs);
    ctx.progress({ iteration: runs, total, objective: bestSoFar, losses: {} });
  };
  const info: Record<string, unknown> = {};
  // candidates: the best point of airGR's start grid (Calibration_Michel's screening) and each SCE-UA optimum
  const grid = bestOfAirGRGrid(fb, tl, tu);
  info.gridNse = 1 - grid.f;
  progress(grid.f);
  const starts: { t: Float64Array; f: number }[] = [grid];
  // the restarts (seeds seed, seed + 1, ...) in lockstep, each call of fb holding every restart's
  // pending points; on the lean GR4J objective each complex's contraction also rides with its
  // reflection (optim/sceUa.ts SceUaBatching: the same points visited, one call per CCE step)
  const batching = { speculative: lean !== null };
  const sce: number[] = [];
  if (!ctx.cancelled()) {
    const results = sceUaLockstep(
      fb,
      Array.from({ length: restarts }, (_, k) => ({
        lower: tl,
        upper: tu,
        options: { ...so, seed: seed + k },
        onLoop: (_loop: number, best: number) => progress(best),
      })),
      batching,
    );
    for (const r of results) {
      sce.push(1 - r.objective);
      starts.push({ t: clampT(r.best, tl, tu), f: r.objective });
    }
  }
  info.sceUaNse = sce;
  // Michel's local search, then BFGS on the adjoint gradient, from each distinct start
  const refine = (t0: Float64Array) => {
    const local = patternSearch(fb, clampT(t0, tl, tu), tl, tu);
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
  const refined: number[] = [];
  for (const s of starts) {
    if (ctx.cancelled()) break;
    // the same basin of attraction twice is skipped (within 0.05 on every transformed axis)
    if (done.some((d) => d.every((v, i) => Math.abs(v - s.t[i]!) < 0.05))) continue;
    done.push(s.t);
    const r = refine(s.t);
    refined.push(1 - r.f);
    if (r.f < best.f) best = r;
    progress(best.f);
  }
  info.localNse = refined;
  // SCE-UA again in a box of ±0.3 (transformed) around the best point, then the same refinement
  if (!ctx.cancelled()) {
    const lo = Float64Array.from(best.t, (v, i) => Math.max(tl[i]!, v - 0.3));
    const hi = Float64Array.from(best.t, (v, i) => Math.min(tu[i]!, v + 0.3));
    const rr = sceUaBatch(
      fb,
      lo,
      hi,
      {
        ...so,
        complexes: Math.max(3, so.complexes),
        maxRuns: Math.max(1000, Math.floor(so.maxRuns / 2)),
        pcento: 0,
        seed: seed + restarts,
      },
      (_loop, b) => progress(b),
      batching,
    );
    const r = refine(rr.best);
    info.refineNse = 1 - r.f;
    if (r.f < best.f) best = r;
    progress(best.f);
  }
  // last, the same search with finer paces (0.02 down to 1e-4) from the best point: CTG acts through
  // a threshold, so 1 - NSE is stepwise in it and BFGS cannot move it
  if (!ctx.cancelled()) {
    const fine = patternSearch(fb, best.t, tl, tu, { from: 0.02, to: 1e-4 });
    info.fineNse = 1 - fine.f;
    if (fine.f < best.f) best = fine;
    progress(best.f);
  }
  // CemaNeige: a profile over CTG (1 - NSE is stepwise in it, so neither BFGS nor small steps cross
  // its plateaus, some narrower than 1e-4): CTG on grids around the best value (±0.01 by 5e-5,
  // ±0.05 by 0.001) and over [0, 1] (by 0.02), the other parameters held; the CTG values within 3e-4
  // of the best NSE (at least 4, at most 12, one per plateau) then get BFGS on the other five
  if (structure === 'gr4-cemaneige' && polish && !ctx.cancelled()) {
    const x0 = fromAirGRSpace(clampT(best.t, tl, tu));
    const values = new Set<number>();
    for (let k = -200; k <= 200; k++) values.add(Math.round((x0[4]! + k * 5e-5) * 1e7) / 1e7);
    for (let k = -50; k <= 50; k++) values.add(Math.round((x0[4]! + k * 0.001) * 1e7) / 1e7);
    for (let k = 0; k <= 50; k++) values.add(k * 0.02);
    const scored: { t: Float64Array; f: number }[] = [];
    for (const c of values) {
      if (c < pr.lower[4]! || c > pr.upper[4]! || ctx.cancelled()) continue;
      const x = Float64Array.from(x0);
      x[4] = c;
      const t = clampT(toAirGRSpace(x), tl, tu);
      scored.push({ t, f: ft(t) });
    }
    scored.sort((a, b) => a.f - b.f);
    const profile: number[] = [];
    // one CTG per plateau (the same objective to 1e-12 is the same plateau)
    const near = scored
      .filter((s, k) => k === 0 || Math.abs(s.f - scored[k - 1]!.f) > 1e-12)
      .filter((s, k) => k < 4 || s.f <= scored[0]!.f + 3e-4)
      .slice(0, 12);
    for (const s of near) {
      if (ctx.cancelled()) break;
      const tg = clampT(toAirGRSpace(polishGradient(pr, fromAirGRSpace(s.t))), tl, tu);
      const r = [s, { t: tg, f: ft(tg) }].sort((a, b) => a.f - b.f)[0]!;
      profile.push(1 - r.f);
      if (r.f < best.f) best = r;
    }
    info.ctgProfileNse = profile;
    progress(best.f);
  }
  // the last point: every run counted, the progress complete
  total = runs;
  progress(best.f);
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
function bestOfAirGRGrid(fb: (ts: Float64Array[]) => ArrayLike<number>, lo: Float64Array, hi: Float64Array) {
  const n = lo.length;
  const points = Array.from({ length: 3 ** n }, (_, k) => {
    const t = new Float64Array(n);
    let r = k;
    for (let i = 0; i < n; i++) {
      t[i] = AIRGR_GRID[i]![r % 3]!;
      r = Math.floor(r / 3);
    }
    return clampT(t, lo, hi);
  });
  const values = fb(points);
  let best = { t: new Float64Array(n), f: Number.POSITIVE_INFINITY };
  points.forEach((t, k) => {
    if (values[k]! < best.f) best = { t, f: values[k]! };
  });
  return best;
}

/**
 * Michel's local search (Michel 1991, Hydrologie appliquée aux petits bassins ruraux; as airGR's
 * Calibration_Michel runs it): each iteration tries ±pace along every transformed axis and moves to
 * the best candidate; the pace doubles after 2n successive moves and halves when no candidate helps,
 * from 0.64 down to 0.01 (airGR's defaults); after each move a diagonal step along the smoothed direction
 * of the last moves (weight 0.7^(1/n)) is tried.
 */
function patternSearch(
  fb: (ts: Float64Array[]) => ArrayLike<number>,
  t0: Float64Array,
  lo: Float64Array,
  hi: Float64Array,
  paces: { from: number; to: number } = { from: 0.64, to: 0.01 },
) {
  const n = t0.length;
  let t: Float64Array = Float64Array.from(t0);
  let ft = fb([t])[0]!;
  let pace = paces.from;
  let moves = 0;
  const clg = 0.7 ** (1 / n);
  const diag = new Float64Array(n);
  for (let it = 0; it < 100 * n && pace >= paces.to; it++) {
    // the ±pace candidates of every axis, evaluated together; the first best is kept
    const cands: Float64Array[] = [];
    for (let i = 0; i < n; i++) {
      for (const s of [1, -1]) {
        const c = Float64Array.from(t);
        c[i] = Math.min(hi[i]!, Math.max(lo[i]!, c[i]! + s * pace));
        if (c[i] !== t[i]) cands.push(c);
      }
    }
    const fcs = fb(cands);
    let best: Float64Array | undefined = undefined;
    let fBest = ft;
    for (let k = 0; k < cands.length; k++) {
      if (fcs[k]! < fBest) {
        best = cands[k]!;
        fBest = fcs[k]!;
      }
    }
    if (!best) {
      pace /= 2;
      moves = 0;
      continue;
    }
    const step = Float64Array.from(best, (v, i) => v - t[i]!);
    t = best;
    ft = fBest;
    if (++moves >= 2 * n) {
      pace *= 2;
      moves = 0;
    }
    // diagonal step: the smoothed direction of the moves so far (airGR Calibration_Michel's PaceDiag)
    for (let i = 0; i < n; i++) diag[i] = clg * diag[i]! + (1 - clg) * step[i]!;
    const d = Float64Array.from(t, (v, i) => Math.min(hi[i]!, Math.max(lo[i]!, v + diag[i]!)));
    const fd = fb([d])[0]!;
    if (fd < ft) {
      t = d;
      ft = fd;
    }
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
