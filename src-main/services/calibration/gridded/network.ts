import type { z } from 'zod';
import type { Mlp } from '../nets/mlp';
import type { Adam } from '../optim/adam';
import type { GriddedContext } from '../method';
import { targetObjective } from './objectives';
import type { objectiveSchema } from './options';
import { fullParams, type GriddedProblem } from './problem';

/** Network output (sigmoid, [cells x k]) to parameter fields inside the bounds. */
export function netFields(pr: GriddedProblem, out: Float64Array, cells: number): Float64Array[] {
  const k = pr.calibrated.length;
  return pr.calibrated.map((_, j) =>
    Float64Array.from(
      { length: cells },
      (_, i) => pr.lower[j]! + (pr.upper[j]! - pr.lower[j]!) * out[i * k + j]!,
    ),
  );
}

export function descriptorRows(pr: GriddedProblem, rows: number[]): Float64Array {
  const nd = pr.descriptorNames.length;
  const x = new Float64Array(rows.length * nd);
  rows.forEach((c, i) => x.set(pr.descriptors.subarray(c * nd, (c + 1) * nd), i * nd));
  return x;
}

export interface NetState {
  weights: number[][];
  biases: number[][];
  adam: ReturnType<Adam['state']>;
  iteration: number;
  best: { valid: number; weights: number[][]; biases: number[][]; iteration: number } | null;
  rng?: number;
}

export const snapshot = (net: Mlp) => ({
  weights: net.weights.map((w) => Array.from(w)),
  biases: net.biases.map((b) => Array.from(b)),
});

export function restoreNet(net: Mlp, s: { weights: number[][]; biases: number[][] }): void {
  s.weights.forEach((w, l) => net.weights[l]!.set(w));
  s.biases.forEach((b, l) => net.biases[l]!.set(b));
}

/** Validation objective of a network over the validation period (forward from the start). */
export function validObjective(
  pr: GriddedProblem,
  /** The network's output for every cell ([cells x k] in (0, 1)). */
  out: Float64Array,
  kind: z.output<typeof objectiveSchema>,
  ctx: GriddedContext,
) {
  const [v0, v1] = pr.periods.valid;
  if (v1 <= v0) return Number.NaN;
  const et = ctx.sim.run(fullParams(pr, netFields(pr, out, pr.cells)), v1);
  return targetObjective(kind, pr.target, et, v0, v1, pr.cells);
}

/** Full parameter fields for a subset of m cells (uncalibrated ones at their defaults). */
export function fullParamsFor(pr: GriddedProblem, fields: Float64Array[], m: number) {
  return fullParams({ ...pr, cells: m }, fields);
}

/** Fisher-Yates shuffle in place with a seeded generator. */
export function shuffle<T>(a: T[], rand: () => number): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
