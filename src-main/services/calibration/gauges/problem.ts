import { kge, nse } from '../../metrics/series';
import type { RoutingNetwork } from '../../physics/routing/lr';
import type { SmashDataset } from '../../datasets/smashDataset';

/** Order of the learned parameters: GR4J's X1..X4, then lr's llr. */
export const GAUGE_PARAMETERS = ['X1', 'X2', 'X3', 'X4', 'llr'] as const;

/**
 * Bounds of X1..X4 and llr for daily GR4J + lr on ~1 km cells: GR4J's ranges widened for small
 * cells (Perrin et al. 2003 give catchment-scale ranges), X2 as Perrin et al., llr in minutes.
 */
export const GAUGE_BOUNDS = { lower: [10, -5, 10, 0.5, 1], upper: [2000, 3, 1000, 4, 2000] } as const;

/** The problem of a loaded smash-layout dataset on a daily step. */
export function gaugeProblemFromDataset(
  ds: SmashDataset,
  bounds: { lower: readonly number[]; upper: readonly number[] } = GAUGE_BOUNDS,
  warmup = 0,
): GaugeProblem {
  return {
    warmup,
    net: ds.net,
    steps: ds.dates.length,
    dt: 86400,
    P: ds.P,
    E: ds.E,
    descriptors: ds.descriptors,
    nDescriptors: ds.descriptorNames.length,
    gauges: ds.gauges,
    lower: [...bounds.lower],
    upper: [...bounds.upper],
  };
}

/** A gauge-discharge problem on a grid: GR4J + lr on a catchment, its forcing, descriptors and gauges. */
export interface GaugeProblem {
  net: RoutingNetwork;
  steps: number;
  dt: number;
  /** Step-major [steps x cells], mm per step. */
  P: Float64Array;
  E: Float64Array;
  /** Cell-major [cells x descriptors], standardised (zero mean, unit variance). */
  descriptors: Float64Array;
  nDescriptors: number;
  /** Gauges: the active cell each drains to and its observed discharge (m³/s, NaN missing) per step. */
  gauges: Array<{ code: string; cell: number; obs: Float64Array }>;
  lower: number[];
  upper: number[];
  /** Steps at the start left out of the objective and the scores (the model spins up there). */
  warmup: number;
}

/** NSE and KGE at each gauge over the steps after the warm-up. */
export function gaugeScores(pb: GaugeProblem, q: Float64Array, warmup: number) {
  const cells = pb.net.cells;
  return pb.gauges.map((g) => {
    const sim = Float64Array.from({ length: pb.steps - warmup }, (_, i) => q[(i + warmup) * cells + g.cell]!);
    const obs = g.obs.subarray(warmup);
    return { code: g.code, nse: nse(obs, sim).value, kge: kge(obs, sim).value };
  });
}
