import { FieldcalError } from '../../../../src-shared/ipc';
import { VIC3L, VIC3L_CONSTANTS, VIC3L_PARAMS, type Vic3lParamName } from '../../physics/vic3l';
import { targetStepsIn, targetStepsOf, type CoarseObs } from './coarse';

export type FloatArray = Float64Array | Float32Array;

/** Gridded targets: evapotranspiration (mm/step) or top-layer soil moisture (volumetric, m³/m³). */
export type TargetName = 'ET' | 'SM';

/**
 * The vic3l output a target compares with and its scale: ET directly; SM as layer 1's volumetric
 * water content W1 / (1000 d1) (mm of water over a d1-metre layer).
 */
export function targetOutput(name: TargetName): { output: 'ET' | 'W1'; scale: number; units: string } {
  return name === 'SM'
    ? { output: 'W1', scale: 1 / (1000 * VIC3L_CONSTANTS.d1), units: 'm³/m³' }
    : { output: 'ET', scale: 1, units: 'mm/d' };
}

/**
 * Step ranges [start, end) of the periods of a run. The model runs from step 0 continuously, so
 * the ranges need not be contiguous nor in this order (the GAN-PO paper tests on 2011 and
 * validates on 2013-2014); they do not overlap. Warm-up and validation may be empty.
 */
export interface Periods {
  warmup: [number, number];
  train: [number, number];
  valid: [number, number];
  test: [number, number];
}
export type PeriodName = 'train' | 'valid' | 'test';

/**
 * A gridded calibration problem: vic3l on the active cells of a rows x cols grid, its forcing,
 * standardised descriptors and a gridded target (ET), with the periods of the run.
 */
export interface GriddedProblem {
  rows: number;
  cols: number;
  /** Active cells (1) of the grid, row-major; the model runs on active cells only, in row-major order. */
  mask: Uint8Array;
  cells: number;
  steps: number;
  /** Step-major [steps x cells] over active cells: P and PET mm/step, T °C (optional). */
  forcing: { P: FloatArray; PET: FloatArray; T?: FloatArray };
  descriptorNames: string[];
  /** Cell-major [cells x descriptors], standardised (zero mean, unit variance over active cells). */
  descriptors: Float64Array;
  /**
   * Observed target, step-major [steps x cells], NaN where missing. With `coarse` (a target at a
   * coarser step, e.g. monthly), `obs` holds no observation (all NaN) and every objective, gradient
   * and metric compares `coarse.values` with the simulation aggregated over each target step.
   */
  target: { name: TargetName; obs: Float64Array; coarse?: CoarseObs };
  periods: Periods;
  /** Parameters that are calibrated, with their bounds; the others stay at the structure default. */
  calibrated: Vic3lParamName[];
  lower: number[];
  upper: number[];
  /** Step length in days. */
  dt: number;
}

/** Structure defaults of vic3l (VIC3L table), for uncalibrated parameters and the default run. */
export const defaultValue = (name: Vic3lParamName): number =>
  VIC3L.parameters.find((p) => p.name === name)!.default;

/** Full parameter fields from calibrated ones ([calibrated.length][cells]); others at their defaults. */
export function fullParams(
  pr: GriddedProblem,
  fields: ArrayLike<number>[],
): Record<Vic3lParamName, Float64Array> {
  const out = {} as Record<Vic3lParamName, Float64Array>;
  for (const name of VIC3L_PARAMS) {
    const k = pr.calibrated.indexOf(name);
    out[name] = k >= 0 ? Float64Array.from(fields[k]!) : new Float64Array(pr.cells).fill(defaultValue(name));
  }
  return out;
}

/** Default-parameter fields of the calibrated parameters. */
export const defaultFields = (pr: GriddedProblem): Float64Array[] =>
  pr.calibrated.map((n) => new Float64Array(pr.cells).fill(defaultValue(n)));

/** Checks the problem's shapes and periods; typed errors name the field. */
export function checkProblem(pr: GriddedProblem): void {
  const fail = (field: string, message: string) => {
    throw new FieldcalError('VALIDATION', message, { field });
  };
  if (pr.mask.length !== pr.rows * pr.cols)
    fail('mask', `mask has ${pr.mask.length} cells, grid ${pr.rows} x ${pr.cols}`);
  const active = pr.mask.reduce((a, b) => a + b, 0);
  if (active !== pr.cells) fail('mask', `mask has ${active} active cells, problem says ${pr.cells}`);
  if (pr.descriptors.length !== pr.cells * pr.descriptorNames.length)
    fail(
      'descriptors',
      `descriptors hold ${pr.descriptors.length} values, expected ${pr.cells} x ${pr.descriptorNames.length}`,
    );
  if (pr.target.obs.length !== pr.steps * pr.cells)
    fail('target', `target holds ${pr.target.obs.length} values, expected ${pr.steps} x ${pr.cells}`);
  const co = pr.target.coarse;
  if (co) {
    if (co.bins.length !== pr.steps)
      fail('target.coarse.bins', `coarse target bins ${co.bins.length} model steps, expected ${pr.steps}`);
    if (!pr.cells || co.values.length % pr.cells !== 0)
      fail(
        'target.coarse.values',
        `coarse target holds ${co.values.length} values, not a multiple of ${pr.cells} cells`,
      );
    if (co.rule !== 'mean' && co.rule !== 'sum')
      fail('target.coarse.rule', `coarse target rule must be mean or sum (got ${String(co.rule)})`);
    const K = targetStepsOf(co, pr.cells);
    const bad = co.bins.findIndex((k) => k < -1 || k >= K);
    if (bad >= 0)
      fail(
        'target.coarse.bins',
        `model step ${bad} is binned to target step ${co.bins[bad]}, outside 0 .. ${K - 1}`,
      );
  }
  const names: Array<keyof Periods> = ['warmup', 'train', 'valid', 'test'];
  names.forEach((k, i) => {
    const [a, b] = pr.periods[k];
    if (!(Number.isInteger(a) && Number.isInteger(b) && a >= 0 && b >= a && b <= pr.steps))
      fail(`periods.${k}`, `period ${k} [${a}, ${b}) is outside the data (0 .. ${pr.steps}) or reversed`);
    if (k !== 'warmup' && k !== 'valid' && b === a) fail(`periods.${k}`, `period ${k} is empty`);
    if (co && k !== 'warmup' && b > a && !targetStepsIn(co, targetStepsOf(co, pr.cells), a, b).length)
      fail(
        `periods.${k}`,
        `period ${k} [${a}, ${b}) holds no whole step of the coarse target: a target step counts only when all its model steps are in the period`,
      );
    for (const q of names.slice(0, i)) {
      const [c, d] = pr.periods[q];
      if (b > a && d > c && a < d && c < b)
        fail(`periods.${k}`, `period ${k} [${a}, ${b}) overlaps ${q} [${c}, ${d})`);
    }
  });
  if (pr.calibrated.length === 0) fail('parameters', 'no parameter is calibrated');
  pr.calibrated.forEach((name, k) => {
    const spec = VIC3L.parameters.find((p) => p.name === name);
    if (!spec) fail('parameters', `vic3l has no parameter ${name}`);
    const lo = pr.lower[k]!;
    const hi = pr.upper[k]!;
    if (!(hi > lo)) fail(`bounds.${name}`, `bounds of ${name} reversed or empty (${lo} .. ${hi})`);
    if (lo < spec!.bounds[0] || hi > spec!.bounds[1])
      fail(
        `bounds.${name}`,
        `bounds of ${name} (${lo} .. ${hi}) exceed vic3l's valid range ${spec!.bounds[0]} .. ${spec!.bounds[1]}`,
      );
  });
}

/**
 * The problem restricted to the active cells of `keep` (a mask over rows x cols, inside the
 * problem's mask): forcing, descriptors and observations subset; typed error when nothing is left.
 */
export function restrictProblem(pr: GriddedProblem, keep: Uint8Array): GriddedProblem {
  const idx: number[] = [];
  let k = 0;
  for (let i = 0; i < pr.mask.length; i++) {
    if (!pr.mask[i]) continue;
    if (keep[i]) idx.push(k);
    k++;
  }
  if (!idx.length)
    throw new FieldcalError('VALIDATION', "the study area covers none of the dataset's active cells", {
      field: 'studyArea',
    });
  const m = idx.length;
  const sub = <A extends Float64Array | Float32Array>(a: A): A => {
    const out = new (a.constructor as { new (n: number): A })(pr.steps * m);
    for (let t = 0; t < pr.steps; t++)
      for (let j = 0; j < m; j++) out[t * m + j] = a[t * pr.cells + idx[j]!]!;
    return out;
  };
  const nd = pr.descriptorNames.length;
  const descriptors = new Float64Array(m * nd);
  idx.forEach((c, j) => descriptors.set(pr.descriptors.subarray(c * nd, (c + 1) * nd), j * nd));
  const mask = Uint8Array.from(pr.mask, (v, i) => (v && keep[i] ? 1 : 0));
  return {
    ...pr,
    mask,
    cells: m,
    forcing: {
      P: sub(pr.forcing.P),
      PET: sub(pr.forcing.PET),
      ...(pr.forcing.T ? { T: sub(pr.forcing.T) } : {}),
    },
    descriptors,
    target: {
      name: pr.target.name,
      obs: sub(pr.target.obs),
      ...(pr.target.coarse ? { coarse: restrictCoarse(pr.target.coarse, pr.cells, idx) } : {}),
    },
  };
}

/** A coarse target on the cells `idx` (indices into its `cells` cells). */
function restrictCoarse(c: CoarseObs, cells: number, idx: number[]): CoarseObs {
  const K = targetStepsOf(c, cells);
  const m = idx.length;
  const values = new Float64Array(K * m);
  for (let k = 0; k < K; k++) for (let j = 0; j < m; j++) values[k * m + j] = c.values[k * cells + idx[j]!]!;
  return { ...c, values };
}
