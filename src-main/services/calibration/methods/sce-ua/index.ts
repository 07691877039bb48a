import type { z } from 'zod';
import { nse } from '../../../metrics/series';
import { initialState, runGr4 } from '../../../physics/gr4/forward';
import { applyTransfer, coefficientBounds } from '../../gridded/mpr';
import { objectiveOf } from '../../gridded/objectives';
import { fullParams, type GriddedProblem } from '../../gridded/problem';
import type {
  GriddedContext,
  LumpedResult,
  MethodContext,
  MethodDefinition,
  MethodResult,
} from '../../method';
import { runner } from '../../method';
import type { LumpedProblem } from '../../lumped/problem';
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
    return objectiveOf(o.objective, et, pr.target.obs, t0, t1, pr.cells);
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
  const r = sceUa(
    (v) => {
      if (ctx.cancelled()) return Number.POSITIVE_INFINITY;
      const p = { X1: v[0]!, X2: v[1]!, X3: v[2]!, X4: v[3]! };
      return 1 - nse(pr.obs, runGr4(p, pr.P, pr.E, initialState(p.X1, p.X3)).Q.subarray(pr.warmup)).value;
    },
    pr.lower,
    pr.upper,
    { ...o, seed },
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

export const sceUaMethod: MethodDefinition = {
  description: 'SCE-UA (Duan et al. 1992): GR4J parameters, or MPR transfer-function coefficients on a grid',
  resumable: false,
  problems: {
    lumped: runner({ options: sceUaLumpedOptions, run: sceUaLumped }),
    gridded: runner({ options: sceUaGriddedOptions, run: sceUaMpr }),
  },
};
