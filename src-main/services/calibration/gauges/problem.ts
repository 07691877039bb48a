import { FieldcalError } from '../../../../src-shared/ipc';
import { kge, nse } from '../../metrics/series';
import type { RoutingNetwork } from '../../physics/routing/lr';
import type { SmashDataset } from '../../datasets/smashDataset';
import type { SnowCells } from '../../physics/cemaneige/kernel';
import { gridSnowCells } from '../../physics/gr4lr';
import { CN_LR_PARAMETERS } from '../../physics/cnlr';
import { CN } from '../../physics/cn/structure';

/** Order of the learned parameters: GR4J's X1..X4, then lr's llr. */
export const GAUGE_PARAMETERS = ['X1', 'X2', 'X3', 'X4', 'llr'] as const;

/** With a temperature stack (daily): CemaNeige's CTG and Kf per cell, after GAUGE_PARAMETERS. */
export const GAUGE_SNOW_PARAMETERS = ['CTG', 'Kf'] as const;

/**
 * Bounds of CTG and Kf per cell: CTG airGR's [0, 1]; Kf 0..20 mm/°C/d, around the snow degree-day
 * factors measured in the field (2.5-11.6 mm/°C/d, Hock 2003, J. Hydrol. 282).
 */
export const GAUGE_SNOW_BOUNDS = { lower: [0, 0], upper: [1, 20] } as const;

/** The model structures of gauge problems: GR4J + lr (the default) or the Curve-Number model + lr. */
export type GaugeStructure = 'gr4-lr' | 'cn-lr';

/** The calibrated fields of a gauge problem, in order: X1..X4, llr, then CTG and Kf when it has snow; CN, Ks, Smax, kg, llr for cn-lr. */
export const gaugeParameterNames = (pb: {
  snow?: SnowCells;
  structure?: GaugeStructure;
}): readonly string[] =>
  pb.structure === 'cn-lr'
    ? CN_LR_PARAMETERS
    : pb.snow
      ? [...GAUGE_PARAMETERS, ...GAUGE_SNOW_PARAMETERS]
      : GAUGE_PARAMETERS;

/**
 * Bounds of X1..X4 and llr for daily GR4J + lr on ~1 km cells: GR4J's ranges widened for small
 * cells (Perrin et al. 2003 give catchment-scale ranges), X2 as Perrin et al., llr in minutes.
 */
export const GAUGE_BOUNDS = { lower: [10, -5, 10, 0.5, 1], upper: [2000, 3, 1000, 4, 2000] } as const;
const GAUGE_BOUNDS_LLR = [GAUGE_BOUNDS.lower[4], GAUGE_BOUNDS.upper[4]] as const;

/**
 * Bounds of CN, Ks, Smax, kg (the CN structure's table, physics/cn/structure.ts) and llr (as
 * GAUGE_BOUNDS) for cn-lr; none depends on the model step (Ks per hour, kg in days, llr in minutes).
 */
export const CN_GAUGE_BOUNDS = {
  lower: [...CN.parameters.map((p) => p.bounds[0]), GAUGE_BOUNDS_LLR[0]],
  upper: [...CN.parameters.map((p) => p.bounds[1]), GAUGE_BOUNDS_LLR[1]],
};

/**
 * The bounds at a model step of `stepSeconds`: X1, X3 (mm) and llr (minutes) do not depend on the
 * step; X2 is mm per step (scaled by dt / 1 day) and X4 a number of steps (scaled by 1 day / dt), as
 * airGR's GR4H takes X4 in hours and its exchange per hour (Mathevet 2005; airGR RunModel_GR4H).
 */
export function gaugeBounds(stepSeconds = 86400): { lower: number[]; upper: number[] } {
  const f = stepSeconds / 86400;
  const scale = (b: readonly number[]) => [b[0]!, b[1]! * f, b[2]!, b[3]! / f, b[4]!];
  return { lower: scale(GAUGE_BOUNDS.lower), upper: scale(GAUGE_BOUNDS.upper) };
}

/**
 * Refuses a problem whose observed series do not have one value per model step (a series read at
 * another step): found before any training, naming the gauge.
 */
export function checkGaugeProblem(pb: GaugeProblem): void {
  const k = gaugeParameterNames(pb).length;
  if (pb.lower.length !== k || pb.upper.length !== k)
    throw new FieldcalError(
      'VALIDATION',
      `bounds have ${pb.lower.length} lower and ${pb.upper.length} upper values for ${k} parameters (${gaugeParameterNames(pb).join(', ')})`,
      { field: 'bounds' },
    );
  if (pb.snow && (pb.snow.cells !== pb.net.cells || pb.snow.steps !== pb.steps))
    throw new FieldcalError(
      'VALIDATION',
      `snow forcing is ${pb.snow.cells} cells x ${pb.snow.steps} steps, the problem ${pb.net.cells} x ${pb.steps}`,
      { field: 'T' },
    );
  for (const g of pb.gauges)
    if (g.obs.length !== pb.steps)
      throw new FieldcalError(
        'INCONSISTENT_DATA',
        `gauge ${g.code}: ${g.obs.length} observed values for ${pb.steps} model steps of ${pb.dt} s; the discharge was read at another step than the model's`,
        { gauge: g.code, obs: g.obs.length, steps: pb.steps, field: 'gauges' },
      );
}

/** The problem of a loaded smash-layout dataset at its model step (daily when it names none). */
export function gaugeProblemFromDataset(
  ds: SmashDataset,
  bounds?: { lower: readonly number[]; upper: readonly number[] },
  warmup = 0,
  structure: GaugeStructure = 'gr4-lr',
): GaugeProblem {
  const dt = ds.stepSeconds ?? 86400;
  const b = bounds ?? (structure === 'cn-lr' ? CN_GAUGE_BOUNDS : gaugeBounds(dt));
  // a temperature stack on daily steps: one CemaNeige layer per cell (physics/gr4lr.ts gridSnowCells); cn-lr has no snow module
  const snow =
    ds.T && dt === 86400 && structure === 'gr4-lr'
      ? gridSnowCells(ds.P, ds.T, ds.dates.length, ds.net.cells, dt)
      : undefined;
  const lower = [...b.lower];
  const upper = [...b.upper];
  if (snow && lower.length === GAUGE_PARAMETERS.length) {
    lower.push(...GAUGE_SNOW_BOUNDS.lower);
    upper.push(...GAUGE_SNOW_BOUNDS.upper);
  }
  const pb: GaugeProblem = {
    warmup,
    net: ds.net,
    steps: ds.dates.length,
    dt,
    P: ds.P,
    E: ds.E,
    descriptors: ds.descriptors,
    nDescriptors: ds.descriptorNames.length,
    gauges: ds.gauges,
    lower,
    upper,
    ...(snow ? { snow } : {}),
    ...(structure === 'cn-lr' ? { structure, descriptorNames: ds.descriptorNames } : {}),
  };
  checkGaugeProblem(pb);
  return pb;
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
  /**
   * Per-cell CemaNeige forcing (a daily temperature stack): then the fields are X1..X4, llr, CTG,
   * Kf (gaugeParameterNames) and lower/upper have seven entries.
   */
  snow?: SnowCells;
  /** The model structure (absent: gr4-lr). With cn-lr the fields are CN, Ks, Smax, kg, llr. */
  structure?: GaugeStructure;
  /** The descriptors' names (cn-lr: the vegetation filter finds its descriptor by name). */
  descriptorNames?: string[];
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
