import type { GriddedProblem } from './problem';

/**
 * A target observed at a coarser step than the model's (monthly soil moisture, monthly ET): one
 * field per target step, compared with the simulation aggregated over the model steps of that
 * target step (their mean for states, their sum for fluxes), never model step by model step.
 *
 * Period rule: periods are ranges of model steps; a target step counts in a period [t0, t1) only
 * when every model step binned to it lies inside [t0, t1) (a month cut by a period boundary counts
 * in neither period).
 */
export interface CoarseObs {
  /** For each model step, the index of the target step it falls in, or -1 (in none). */
  bins: Int32Array;
  /** Target-step-major [targetSteps x cells], NaN where missing. */
  values: Float64Array;
  /** How the simulation is aggregated over a target step. */
  rule: 'mean' | 'sum';
  /** Start of each target step (for reports), when known. */
  dates?: Date[];
}

/** Number of target steps of a coarse target on `cells` cells. */
export const targetStepsOf = (c: CoarseObs, cells: number): number =>
  cells ? Math.floor(c.values.length / cells) : 0;

/** Model steps binned to each target step (over the whole record). */
export function binSizes(c: CoarseObs, targetSteps: number): Int32Array {
  const size = new Int32Array(targetSteps);
  for (const k of c.bins) if (k >= 0 && k < targetSteps) size[k]!++;
  return size;
}

/**
 * The target steps that count in the period [t0, t1) of model steps: those whose model steps
 * (at least one) all lie inside it; ascending.
 */
export function targetStepsIn(c: CoarseObs, targetSteps: number, t0: number, t1: number): number[] {
  const size = binSizes(c, targetSteps);
  const inside = new Int32Array(targetSteps);
  for (let t = Math.max(0, t0); t < Math.min(t1, c.bins.length); t++) {
    const k = c.bins[t]!;
    if (k >= 0 && k < targetSteps) inside[k]!++;
  }
  const out: number[] = [];
  for (let k = 0; k < targetSteps; k++) if (size[k]! > 0 && inside[k] === size[k]) out.push(k);
  return out;
}

/**
 * The simulation (step-major [>= last model step x cells]) aggregated over the target steps `ks`:
 * [ks.length x cells], the mean or the sum of the model steps of each.
 */
export function aggregateSim(
  sim: ArrayLike<number>,
  cells: number,
  c: CoarseObs,
  ks: number[],
): Float64Array {
  const targetSteps = targetStepsOf(c, cells);
  const size = binSizes(c, targetSteps);
  const row = new Int32Array(targetSteps).fill(-1);
  ks.forEach((k, i) => (row[k] = i));
  const out = new Float64Array(ks.length * cells);
  for (let t = 0; t < c.bins.length; t++) {
    const k = c.bins[t]!;
    if (k < 0 || k >= targetSteps || row[k]! < 0) continue;
    const w = c.rule === 'mean' ? 1 / size[k]! : 1;
    const o = row[k]! * cells;
    for (let j = 0; j < cells; j++) out[o + j]! += w * sim[t * cells + j]!;
  }
  return out;
}

/** Observed and simulated target over a period, at the target's own step. */
export interface TargetWindow {
  /** [steps x cells], NaN where not observed. */
  obs: Float64Array;
  sim: Float64Array;
  /** Target steps in the period (model steps for a target at the model step). */
  steps: number;
  /** For a coarse target, the target steps (indices) that count in the period. */
  targetSteps?: number[];
}

/**
 * The target and the simulation of a period [t0, t1) compared at the target's step: views of the
 * model-step series for a target at the model step; for a coarse target, the target steps wholly
 * inside the period with the simulation aggregated over each.
 */
export function targetWindow(
  target: GriddedProblem['target'],
  sim: Float64Array,
  t0: number,
  t1: number,
  cells: number,
): TargetWindow {
  const c = target.coarse;
  if (!c)
    return {
      obs: target.obs.subarray(t0 * cells, t1 * cells),
      sim: sim.subarray(t0 * cells, t1 * cells),
      steps: t1 - t0,
    };
  const ks = targetStepsIn(c, targetStepsOf(c, cells), t0, t1);
  const obs = new Float64Array(ks.length * cells);
  ks.forEach((k, i) => obs.set(c.values.subarray(k * cells, (k + 1) * cells), i * cells));
  return { obs, sim: aggregateSim(sim, cells, c, ks), steps: ks.length, targetSteps: ks };
}

/** The observed target at each model step for use as an input (a coarse value on each of its model steps); never for a comparison. */
export function targetAsInput(pr: GriddedProblem): Float64Array {
  const c = pr.target.coarse;
  if (!c) return pr.target.obs;
  const n = pr.cells;
  const K = targetStepsOf(c, n);
  const out = new Float64Array(pr.steps * n).fill(Number.NaN);
  for (let t = 0; t < pr.steps; t++) {
    const k = c.bins[t]!;
    if (k >= 0 && k < K) out.set(c.values.subarray(k * n, (k + 1) * n), t * n);
  }
  return out;
}

/**
 * What a TargetLoss over cells `cellIndex` (all cells by default) of model steps from `offset`
 * needs to compare with a coarse target: the bins of its steps, the sizes of the target steps over
 * the whole record, the rule, and the observation by target step and loss cell.
 */
export function lossTarget(
  c: CoarseObs,
  cells: number,
  offset = 0,
  length = c.bins.length - offset,
  cellIndex?: ArrayLike<number>,
): {
  bins: { bins: Int32Array; size: Int32Array; rule: 'mean' | 'sum' };
  obs: (k: number, i: number) => number;
} {
  const size = binSizes(c, targetStepsOf(c, cells));
  const bins = c.bins.subarray(offset, offset + length);
  const v = c.values;
  return {
    bins: { bins, size, rule: c.rule },
    obs: cellIndex ? (k, i) => v[k * cells + cellIndex[i]!]! : (k, i) => v[k * cells + i]!,
  };
}
