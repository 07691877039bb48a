import type { z } from 'zod';
import { FieldcalError } from '../../../../../src-shared/ipc';
import { defaultValue, fullParams, type GriddedProblem } from '../../gridded/problem';
import type { LumpedProblem } from '../../lumped/problem';
import {
  runner,
  type GriddedContext,
  type LumpedResult,
  type MethodDefinition,
  type MethodResult,
} from '../../method';
import { lbfgsBox } from '../../optim/bfgs';
import { calibrateGr4SnowGradient, calibrateGr4TransformedGradient } from './lumped';
import { gradientGriddedOptions, gradientLumpedOptions } from './options';

/** Box-constrained quasi-Newton on every cell's parameters with the exact adjoint gradient (smash's distributed mapping). */
export function perCellGradient(
  pr: GriddedProblem,
  o: z.output<typeof gradientGriddedOptions>,
  ctx: GriddedContext,
): MethodResult {
  const k = pr.calibrated.length;
  const n = pr.cells;
  const [t0, t1] = pr.periods.train;
  const lower = new Float64Array(k * n);
  const upper = new Float64Array(k * n);
  const x0 = new Float64Array(k * n);
  pr.calibrated.forEach((name, j) => {
    const d = defaultValue(name);
    for (let c = 0; c < n; c++) {
      lower[j * n + c] = pr.lower[j]!;
      upper[j * n + c] = pr.upper[j]!;
      // start from the structure default, nudged inside the box
      x0[j * n + c] = Math.min(
        pr.upper[j]! - 1e-6 * (pr.upper[j]! - pr.lower[j]!),
        Math.max(pr.lower[j]! + 1e-6, d),
      );
    }
  });
  const fields = (x: Float64Array) => pr.calibrated.map((_, j) => x.subarray(j * n, (j + 1) * n));
  let evals = 0;
  const r = lbfgsBox(
    (x) => {
      const { f, g } = ctx.sim.lossGrad(fullParams(pr, fields(x)), o.objective, t0, t1);
      evals++;
      const gx = new Float64Array(k * n);
      pr.calibrated.forEach((name, j) => gx.set(g[name], j * n));
      return { f, g: gx };
    },
    lower,
    upper,
    x0,
    {
      maxIterations: o.iterations,
      shouldStop: () => ctx.cancelled(),
      onIteration: (iteration, f) =>
        ctx.progress({ iteration, total: o.iterations, objective: f, losses: { evaluations: evals } }),
    },
  );
  return {
    fields: fields(r.x).map((a) => Float64Array.from(a)),
    info: { iterations: r.iterations, evaluations: r.evaluations, objective: r.f },
  };
}

/** Lumped GR4J by box-constrained BFGS on the exact adjoint gradient of 1 - NSE (gradient/lumped.ts). */
function gradientLumped(pr: LumpedProblem): LumpedResult {
  if (pr.structure === 'gr4-cemaneige') {
    if (!pr.snow)
      throw new FieldcalError('VALIDATION', 'gr4-cemaneige needs the elevation layers', {
        field: 'hypsometry',
      });
    // through CemaNeige's adjoint, in airGR's transformed space, from airGR's central start point
    const s = calibrateGr4SnowGradient({ ...pr, snow: pr.snow });
    return {
      parameters: { ...s.params },
      info: { evaluations: s.evaluations, iterations: s.iterations, converged: s.converged, nse: s.nse },
    };
  }
  // in airGR's transformed space, whose box holds airGR's whole range (lumped/problem.ts LUMPED_BOUNDS)
  const r = calibrateGr4TransformedGradient(pr);
  return {
    parameters: { ...r.params },
    info: { evaluations: r.evaluations, iterations: r.iterations, converged: r.converged },
  };
}

export const gradientMethod: MethodDefinition = {
  description:
    'quasi-Newton on the exact adjoint gradient: lumped GR4J (BFGS), or every cell (L-BFGS) on a grid',
  resumable: false,
  problems: {
    lumped: runner({ options: gradientLumpedOptions, run: gradientLumped }),
    gridded: runner({
      options: gradientGriddedOptions,
      run: (pr, o, _seed, ctx) => perCellGradient(pr, o, ctx),
    }),
  },
};
