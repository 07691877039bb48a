import type { z } from 'zod';
import { applyTransfer, coefficientBounds } from '../gridded/mpr';
import { objectiveOf } from '../gridded/objectives';
import { fullParams, type GriddedProblem } from '../gridded/problem';
import type { MethodContext, MethodResult } from '../gridded/context';
import { sceUa } from './index';
import type { sceUaGriddedOptions } from './griddedOptions';

/** SCE-UA (Duan et al. 1992) over MPR transfer-function coefficients, objective on the training period. */
export function sceUaMpr(
  pr: GriddedProblem,
  o: z.output<typeof sceUaGriddedOptions>,
  seed: number,
  ctx: MethodContext,
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
