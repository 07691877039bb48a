import { cc } from '../../metrics/series';
import { cellMaps, rmseChange } from '../../metrics/maps';
import { summaryTable, type SummaryTable } from '../../metrics/summary';
import { targetWindow } from './coarse';
import { objectiveOf } from './objectives';
import { defaultFields, fullParams, type GriddedProblem, type PeriodName } from './problem';
import type { Simulator } from './simulator';

export interface PeriodMetrics {
  /** Spatial bias-accounting RMSE (Dembélé et al. 2020): per-step RMSE across cells, averaged. */
  spatialRmse: number;
  /** Median over cells of each cell's RMSE, CC and KGE (Gupta et al. 2009) over the period. */
  medianCellRmse: number;
  medianCellCc: number;
  medianCellKge: number;
  /** Cells whose RMSE is below the default-parameter run's, % (Sun et al. 2024, eq. 7). */
  pctRmseReduced: number;
}

export interface Evaluation {
  periods: Record<PeriodName, PeriodMetrics>;
  /** The GAN-PO paper's table on the test period against the default-parameter run. */
  summary: SummaryTable;
  /** Pearson correlation of each calibrated field with the truth (twin experiments only). */
  parameterCorrelation?: Record<string, number>;
  /** Simulated target over all steps, step-major over active cells. */
  sim: Float64Array;
}

const median = (a: ArrayLike<number>) => {
  const v = Array.from(a)
    .filter(Number.isFinite)
    .sort((x, y) => x - y);
  if (!v.length) return Number.NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
};

/** Scatters active-cell series (step-major) onto the full rows x cols grid, NaN outside the mask. */
export function toGrid(pr: GriddedProblem, a: Float64Array, steps: number): Float64Array {
  const full = new Float64Array(steps * pr.rows * pr.cols).fill(Number.NaN);
  const idx: number[] = [];
  pr.mask.forEach((m, i) => m && idx.push(i));
  for (let t = 0; t < steps; t++)
    for (let c = 0; c < pr.cells; c++) full[t * pr.rows * pr.cols + idx[c]!] = a[t * pr.cells + c]!;
  return full;
}

/** The default-parameter simulation of the target over all steps. */
export function defaultSimulation(pr: GriddedProblem, sim: Simulator): Float64Array {
  return sim.run(fullParams(pr, defaultFields(pr)), pr.steps);
}

/** Evaluates calibrated fields on every period against the observations and the default run. */
export function evaluateFields(
  pr: GriddedProblem,
  sim: Simulator,
  fields: Float64Array[],
  simDefault: Float64Array,
  truth?: Float64Array[],
): Evaluation {
  const et = sim.run(fullParams(pr, fields), pr.steps);
  const n = pr.cells;
  const periods = {} as Record<PeriodName, PeriodMetrics>;
  // every metric compares at the target's own step: a coarse (e.g. monthly) target against the
  // simulation aggregated over each of its steps wholly inside the period (gridded/coarse.ts)
  const windows = (t0: number, t1: number) => ({
    cal: targetWindow(pr.target, et, t0, t1, n),
    def: targetWindow(pr.target, simDefault, t0, t1, n),
  });
  for (const name of ['train', 'valid', 'test'] as const) {
    const [t0, t1] = pr.periods[name];
    if (t1 <= t0) continue;
    const w = windows(t0, t1);
    const steps = w.cal.steps;
    if (!steps) continue;
    const cal = cellMaps(w.cal.obs, w.cal.sim, steps, n);
    const def = cellMaps(w.def.obs, w.def.sim, steps, n);
    const delta = rmseChange(def.rmse, cal.rmse);
    periods[name] = {
      spatialRmse: objectiveOf('spatial-rmse', w.cal.sim, w.cal.obs, 0, steps, n),
      medianCellRmse: median(cal.rmse),
      medianCellCc: median(cal.cc),
      medianCellKge: median(cal.kge),
      pctRmseReduced: (100 * Array.from(delta).filter((d) => d > 0).length) / n,
    };
  }
  const [t0, t1] = pr.periods.test;
  const grid = { rows: pr.rows, cols: pr.cols, mask: pr.mask };
  const w = windows(t0, t1);
  const summary = summaryTable({
    obs: toGrid(pr, w.cal.obs, w.cal.steps),
    sim: toGrid(pr, w.cal.sim, w.cal.steps),
    simDefault: toGrid(pr, w.def.sim, w.def.steps),
    steps: w.cal.steps,
    grid,
  });
  const out: Evaluation = { periods, summary, sim: et };
  if (truth) {
    out.parameterCorrelation = Object.fromEntries(
      pr.calibrated.map((name, k) => [name, cc(truth[k]!, fields[k]!).value]),
    );
  }
  return out;
}
