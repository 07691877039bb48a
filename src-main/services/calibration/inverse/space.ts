import { FieldcalError } from '../../../../src-shared/ipc';
import { nse } from '../../metrics/series';
import { CN_LR_PARAMETERS, runCnLrDetailed, type CnLrParams } from '../../physics/cnlr';
import { applyTransfer, coefficientBounds, type MprSpace } from '../gridded/mpr';
import type { GaugeProblem } from '../gauges/problem';
import { budykoCheck, vegetationCheck, vegetationIndex, type FilterOptions } from './filters';

/**
 * The search space of inverse mapping on a cn-lr gauge problem: the parameters named in `mpr` are
 * fields made from the descriptors by MPR sigmoid transfer functions (gridded/mpr.ts, Samaniego et
 * al. 2010: 1 + descriptors coefficients each); the others are one value per parameter over the
 * basin (the `uniform` transfer, one coefficient in [0, 1]). A point x holds the MPR coefficients
 * first, then the scalars.
 */
export interface InverseSpace {
  names: readonly string[];
  mpr: MprSpace;
  scalars: MprSpace;
  lower: number[];
  upper: number[];
}

export function buildSpace(pb: GaugeProblem, mprParameters: readonly string[]): InverseSpace {
  if (pb.structure !== 'cn-lr')
    throw new FieldcalError(
      'VALIDATION',
      `inverse mapping runs the cn-lr structure (the job's structure is ${pb.structure ?? 'gr4-lr'})`,
      {
        field: 'structure',
      },
    );
  const names = CN_LR_PARAMETERS;
  mprParameters.forEach((n, i) => {
    if (!(names as readonly string[]).includes(n))
      throw new FieldcalError(
        'VALIDATION',
        `options.mprParameters.${i}: ${n} is not a cn-lr parameter (${names.join(', ')})`,
        {
          field: `options.mprParameters.${i}`,
        },
      );
  });
  const descriptorNames = pb.descriptorNames ?? Array.from({ length: pb.nDescriptors }, (_, k) => `d${k}`);
  const part = (calibrated: string[]): MprSpace => ({
    cells: pb.net.cells,
    descriptorNames,
    descriptors: pb.descriptors,
    calibrated,
    lower: calibrated.map((n) => pb.lower[names.indexOf(n as (typeof names)[number])]!),
    upper: calibrated.map((n) => pb.upper[names.indexOf(n as (typeof names)[number])]!),
  });
  const mpr = part(names.filter((n) => mprParameters.includes(n)));
  const scalars = part(names.filter((n) => !mprParameters.includes(n)));
  const a = coefficientBounds(mpr, 'sigmoid');
  const b = coefficientBounds(scalars, 'uniform');
  return { names, mpr, scalars, lower: [...a.lower, ...b.lower], upper: [...a.upper, ...b.upper] };
}

/** The parameter fields of a point of the space (one value per cell each). */
export function fieldsOf(space: InverseSpace, x: ArrayLike<number>): CnLrParams {
  const m = space.mpr.calibrated.length * (1 + space.mpr.descriptorNames.length);
  const a = applyTransfer(space.mpr, 'sigmoid', Array.prototype.slice.call(x, 0, m) as number[]);
  const b = applyTransfer(space.scalars, 'uniform', Array.prototype.slice.call(x, m) as number[]);
  const out: Record<string, Float64Array> = {};
  space.mpr.calibrated.forEach((n, k) => (out[n] = a[k]!));
  space.scalars.calibrated.forEach((n, k) => (out[n] = b[k]!));
  return out as unknown as CnLrParams;
}

/** A candidate parameter set, simulated and judged. */
export interface Evaluated {
  x: Float64Array;
  /** NSE at each gauge over the scored steps (after the warm-up). */
  nse: number[];
  /** Mean NSE over the gauges (NaN counted as -Infinity: the candidate is never elite). */
  score: number;
  etOverP: number;
  rho: number;
  budyko: boolean;
  vegetation: boolean;
  plausible: boolean;
  /** Simulated discharge at each gauge over the scored steps, gauge-major [gauges x steps] (kept for the network). */
  flows: Float32Array;
}

/** What every candidate of one problem shares: the basin's totals and the vegetation descriptor. */
export interface EvalSetup {
  pb: GaugeProblem;
  space: InverseSpace;
  filters: FilterOptions;
  /** The vegetation descriptor of each cell (standardised: ranks do not change). */
  vegetation: Float64Array;
  PET: number;
}

export function evalSetup(pb: GaugeProblem, space: InverseSpace, filters: FilterOptions): EvalSetup {
  const n = pb.net.cells;
  const nd = pb.nDescriptors;
  const k = filters.vegetation.enabled
    ? vegetationIndex(pb.descriptorNames ?? [], filters.vegetation.descriptor)
    : -1;
  const vegetation = Float64Array.from({ length: n }, (_, c) => (k >= 0 ? pb.descriptors[c * nd + k]! : 0));
  let PET = 0;
  for (const v of pb.E) if (v > 0) PET += v;
  return { pb, space, filters, vegetation, PET };
}

/**
 * Runs cn-lr with a candidate's fields over the problem's steps and judges it: NSE at the gauges
 * after the warm-up (Nash & Sutcliffe 1970, metrics/series.ts), the Budyko check on the basin's
 * ET/P and PET/P over the whole run, and the vegetation-CN check across cells.
 */
export function evaluate(s: EvalSetup, x: ArrayLike<number>): Evaluated {
  const { pb } = s;
  const n = pb.net.cells;
  const fields = fieldsOf(s.space, x);
  const run = runCnLrDetailed(pb.net, fields, pb.P, pb.E, pb.steps, pb.dt);
  const T = pb.steps - pb.warmup;
  const flows = new Float32Array(pb.gauges.length * T);
  const scores = pb.gauges.map((g, i) => {
    const sim = new Float64Array(T);
    for (let t = 0; t < T; t++) sim[t] = run.q[(t + pb.warmup) * n + g.cell]!;
    flows.set(sim, i * T);
    return nse(g.obs.subarray(pb.warmup), sim).value;
  });
  let P = 0;
  let ET = 0;
  for (let c = 0; c < n; c++) {
    P += run.P[c]!;
    ET += run.AE[c]!;
  }
  const b = budykoCheck({ P, ET, PET: s.PET }, s.filters.budyko);
  const v = s.filters.vegetation.enabled
    ? vegetationCheck(s.vegetation, fields.CN, s.filters.vegetation)
    : { pass: true, rho: Number.NaN };
  const mean = scores.reduce((a, z) => a + z, 0) / scores.length;
  return {
    x: Float64Array.from(x),
    nse: scores,
    score: Number.isFinite(mean) ? mean : Number.NEGATIVE_INFINITY,
    etOverP: b.etOverP,
    rho: v.rho,
    budyko: b.pass,
    vegetation: v.pass,
    plausible: b.pass && v.pass,
    flows,
  };
}
