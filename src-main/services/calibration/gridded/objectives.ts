import type { StepView, Vic3lLoss } from '../../physics/vic3l';
import { targetWindow } from './coarse';
import type { GriddedProblem } from './problem';

/**
 * The target steps a {@link TargetLoss} compares at when the target is coarser than the model step:
 * `bins[t]` is the target step of the loss's model step t (-1: none), `size[k]` the number of model
 * steps of target step k over the whole record; `obs(k, c)` is then indexed by target step.
 */
export interface LossBins {
  bins: ArrayLike<number>;
  size: Int32Array;
  rule: 'mean' | 'sum';
}

/** Gridded objectives on a target output over a step range. */
export type GriddedObjective = 'spatial-rmse' | 'cell-mse';

/**
 * A loss on one output of vic3l over steps [t0, t1), accumulated step by step in the forward pass
 * and differentiated in the reverse pass (a {@link Vic3lLoss}). Cells are the model's cells (or the
 * subset `cells` maps into, for minibatches); `obs(t, c)` is the target, NaN where missing.
 *
 * - spatial-rmse: the bias-accounting objective, RMSE across cells at each step averaged over
 *   steps (Dembélé et al. 2020, WRR 56, eq. 6; as used by Sun et al. 2024).
 * - cell-mse: mean squared error over all cells and steps.
 *
 * With `coarse`, the steps of both objectives are target steps: the output is aggregated over the
 * model steps of each (mean or sum), a target step counts when all its model steps are in
 * [t0, t1), and the reverse pass seeds every model step of a target step k with dL/dagg_k x
 * dagg_k/ds_t (1 / size_k for a mean, 1 for a sum).
 */
export class TargetLoss implements Vic3lLoss {
  private sse: Float64Array;
  private count: Float64Array;
  value = 0;
  /** The backward pass reads the compared output (a coarse target's reads its own aggregates). */
  readonly reads: readonly ('ET' | 'W1')[];

  constructor(
    private readonly kind: GriddedObjective,
    private readonly output: 'ET' | 'W1',
    private readonly t0: number,
    private readonly t1: number,
    private readonly obs: (t: number, c: number) => number,
    private readonly cells: number,
    /** Replaces the per-step sums by domain totals (a cell block of a worker pool), before the value. */
    private readonly reduce?: (sse: Float64Array, count: Float64Array) => void,
    /** The target is `scale` x the output (e.g. soil moisture as W1 / layer depth). */
    private readonly scale = 1,
    /** A target at a coarser step (see {@link LossBins}); absent: compared at every model step. */
    private readonly coarse?: LossBins,
  ) {
    this.reads = coarse ? [] : [output];
    const slots = coarse ? coarse.size.length : t1 - t0;
    this.sse = new Float64Array(slots);
    this.count = new Float64Array(slots);
    if (coarse) {
      this.acc = new Float64Array(slots * cells);
      this.seen = new Int32Array(slots);
    }
  }

  /** Coarse target: the aggregated output per target step [targetSteps x cells] and model steps seen. */
  private acc?: Float64Array;
  private seen?: Int32Array;

  forward(t: number, out: Partial<Pick<StepView, 'ET' | 'W1'>>): void {
    if (t < this.t0 || t >= this.t1) return;
    const s = out[this.output]!;
    if (this.coarse) {
      const k = this.coarse.bins[t]!;
      if (k < 0 || k >= this.seen!.length) return;
      this.seen![k]!++;
      const w = this.coarse.rule === 'mean' ? this.scale / this.coarse.size[k]! : this.scale;
      const acc = this.acc!;
      for (let c = 0; c < this.cells; c++) acc[k * this.cells + c]! += w * s[c]!;
      return;
    }
    let e = 0;
    let n = 0;
    for (let c = 0; c < this.cells; c++) {
      const o = this.obs(t, c);
      if (Number.isNaN(o)) continue;
      const d = this.scale * s[c]! - o;
      e += d * d;
      n++;
    }
    this.sse[t - this.t0] = e;
    this.count[t - this.t0] = n;
  }

  afterForward(): void {
    if (this.coarse) this.binErrors();
    this.reduce?.(this.sse, this.count);
    this.value = this.compute();
  }

  /** Squared errors per target step that lies wholly in the window (others count 0). */
  private binErrors(): void {
    const acc = this.acc!;
    for (let k = 0; k < this.sse.length; k++) {
      let e = 0;
      let n = 0;
      if (this.coarse!.size[k]! > 0 && this.seen![k] === this.coarse!.size[k])
        for (let c = 0; c < this.cells; c++) {
          const o = this.obs(k, c);
          if (Number.isNaN(o)) continue;
          const d = acc[k * this.cells + c]! - o;
          e += d * d;
          n++;
        }
      this.sse[k] = e;
      this.count[k] = n;
    }
  }

  private compute(): number {
    if (this.kind === 'cell-mse') {
      let e = 0;
      let n = 0;
      for (let k = 0; k < this.sse.length; k++) {
        e += this.sse[k]!;
        n += this.count[k]!;
      }
      return n ? e / n : 0;
    }
    let sum = 0;
    let steps = 0;
    for (let k = 0; k < this.sse.length; k++) {
      if (!this.count[k]) continue;
      sum += Math.sqrt(this.sse[k]! / this.count[k]!);
      steps++;
    }
    return steps ? sum / steps : 0;
  }

  backward(t: number, out: StepView, g: StepView): void {
    if (t < this.t0 || t >= this.t1) return;
    if (this.coarse) {
      this.backwardCoarse(t, g);
      return;
    }
    const k = t - this.t0;
    const n = this.count[k]!;
    if (!n) return;
    let scale: number;
    if (this.kind === 'cell-mse') {
      let total = 0;
      for (let j = 0; j < this.count.length; j++) total += this.count[j]!;
      scale = 2 / total;
    } else {
      let steps = 0;
      for (let j = 0; j < this.count.length; j++) if (this.count[j]) steps++;
      const r = Math.sqrt(this.sse[k]! / n);
      if (r === 0) return;
      // d/ds of sqrt(Σ d² / n) / steps
      scale = 1 / (steps * n * r);
    }
    const s = out[this.output];
    const gs = g[this.output];
    for (let c = 0; c < this.cells; c++) {
      const o = this.obs(t, c);
      if (Number.isNaN(o)) continue;
      gs[c] = this.scale * scale * (this.scale * s[c]! - o);
    }
  }

  /** Reverse pass of a coarse target: dL/dagg_k spread over the model steps of target step k. */
  private backwardCoarse(t: number, g: StepView): void {
    const k = this.coarse!.bins[t]!;
    if (k < 0 || k >= this.count.length) return;
    const n = this.count[k]!;
    if (!n) return;
    this.totals ??= this.countTotals();
    let scale: number;
    if (this.kind === 'cell-mse') scale = 2 / this.totals.count;
    else {
      const r = Math.sqrt(this.sse[k]! / n);
      if (r === 0) return;
      // d/dagg of sqrt(Σ d² / n) / steps
      scale = 1 / (this.totals.steps * n * r);
    }
    // dagg_k/ds_t: 1 / size_k for a mean, 1 for a sum, times the output's scale
    const w = this.coarse!.rule === 'mean' ? this.scale / this.coarse!.size[k]! : this.scale;
    const gs = g[this.output];
    const acc = this.acc!;
    for (let c = 0; c < this.cells; c++) {
      const o = this.obs(k, c);
      if (Number.isNaN(o)) continue;
      gs[c] = w * scale * (acc[k * this.cells + c]! - o);
    }
  }

  private totals?: { count: number; steps: number };
  private countTotals() {
    let count = 0;
    let steps = 0;
    for (let j = 0; j < this.count.length; j++) {
      count += this.count[j]!;
      if (this.count[j]) steps++;
    }
    return { count, steps };
  }
}

/**
 * The range loss L_R = L_ub + L_lb of Sun et al. (2024, eq. 2): L_ub is the mean excess of the
 * values above their upper bound, taken over the values that exceed it (0 when none does), L_lb
 * the same below the lower bound, pooled over every parameter and cell. Adds dL_R/dvalue to `grad`
 * (the counts are constants of the gradient).
 */
export function rangePenalty(
  values: ArrayLike<number>[],
  lower: readonly number[],
  upper: readonly number[],
  grad?: Float64Array[],
): number {
  let over = 0;
  let nOver = 0;
  let under = 0;
  let nUnder = 0;
  values.forEach((v, k) => {
    for (let i = 0; i < v.length; i++) {
      const x = v[i]!;
      if (x > upper[k]!) {
        over += x - upper[k]!;
        nOver++;
      } else if (x < lower[k]!) {
        under += lower[k]! - x;
        nUnder++;
      }
    }
  });
  if (grad)
    values.forEach((v, k) => {
      for (let i = 0; i < v.length; i++) {
        const x = v[i]!;
        if (x > upper[k]!) grad[k]![i]! += 1 / nOver;
        else if (x < lower[k]!) grad[k]![i]! -= 1 / nUnder;
      }
    });
  return (nOver ? over / nOver : 0) + (nUnder ? under / nUnder : 0);
}

/** The objective of a forward run's target output `sim` (step-major, steps from 0) over [t0, t1). */
export function objectiveOf(
  kind: GriddedObjective,
  sim: Float64Array,
  obs: Float64Array,
  t0: number,
  t1: number,
  cells: number,
): number {
  const loss = new TargetLoss(kind, 'ET', t0, t1, (t, c) => obs[t * cells + c]!, cells);
  for (let t = t0; t < t1; t++) loss.forward(t, { ET: sim.subarray(t * cells, (t + 1) * cells) } as StepView);
  loss.afterForward();
  return loss.value;
}

/**
 * The objective of a forward run's target output `sim` (step-major, model steps from 0) over the
 * period [t0, t1) of model steps, compared at the target's own step (coarse targets: the
 * simulation aggregated over each target step wholly inside the period, see gridded/coarse.ts).
 */
export function targetObjective(
  kind: GriddedObjective,
  target: GriddedProblem['target'],
  sim: Float64Array,
  t0: number,
  t1: number,
  cells: number,
): number {
  if (!target.coarse) return objectiveOf(kind, sim, target.obs, t0, t1, cells);
  const w = targetWindow(target, sim, t0, t1, cells);
  return objectiveOf(kind, w.sim, w.obs, 0, w.steps, cells);
}
