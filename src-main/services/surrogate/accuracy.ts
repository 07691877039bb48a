import { FieldcalError } from '../../../src-shared/ipc';
import { nse, rmse } from '../metrics/series';
import { percentile } from '../metrics/spatial';
import type { Ensemble, Surrogate } from './types';

/**
 * How well a surrogate reproduces the model (Sun, Pan & Duan 2024, Fig. S2: NSE and RMSE of the
 * surrogate's ET against VIC's per cell): maps over the active cells (cell k = the k-th active
 * cell, as the GeoTIFF and report writers take them) and the overall median and worst decile.
 */
export interface AccuracyReport {
  /** Members (or cases) compared, and the steps [t0, t1). */
  members: number[];
  t0: number;
  t1: number;
  /** Per cell: the median over members of the cell's NSE over the steps (Nash & Sutcliffe 1970). */
  nse: Float64Array;
  /** Per cell: the root of the mean over members and steps of the squared error (target units). */
  rmse: Float64Array;
  /** Median over cells of the NSE map, and its 10th percentile (the worst decile's edge). */
  nseMedian: number;
  nseWorstDecile: number;
  rmseMedian: number;
  /** RMSE over every member, cell and step. */
  rmseOverall: number;
  /** Cells whose NSE is undefined (the model's series is constant there): NaN in the map. */
  undefinedCells: number;
}

/** One case: parameter fields and the model's target for them, step-major over [t0, t1). */
export interface AccuracyCase {
  fields: Float64Array[];
  target: Float64Array;
}

const median = (v: number[]): number => {
  const s = v.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * Compares a surrogate with the model's target on cases (held-out members, a twin's truth), one
 * case at a time (memory: one case's series). `ids` names the cases in the report.
 */
export function accuracyOf(
  s: Surrogate,
  cases: Iterable<AccuracyCase>,
  cells: number,
  t0: number,
  t1: number,
  ids: number[] = [],
): AccuracyReport {
  if (!(Number.isInteger(t0) && Number.isInteger(t1) && t0 >= 0 && t1 > t0))
    throw new FieldcalError('VALIDATION', `accuracy steps [${t0}, ${t1}) are not a range`, { field: 't0' });
  const steps = t1 - t0;
  const perCell: number[][] = Array.from({ length: cells }, () => []);
  const se = new Float64Array(cells);
  let count = 0;
  let n = 0;
  const obs = new Float64Array(steps);
  const sim = new Float64Array(steps);
  for (const c of cases) {
    if (c.target.length !== steps * cells)
      throw new FieldcalError(
        'VALIDATION',
        `case ${n} target has ${c.target.length} values for ${steps} steps x ${cells} cells`,
        { field: 'target' },
      );
    const pred = s.predict(c.fields, t0, t1);
    for (let k = 0; k < cells; k++) {
      for (let t = 0; t < steps; t++) {
        obs[t] = c.target[t * cells + k]!;
        sim[t] = pred[t * cells + k]!;
      }
      perCell[k]!.push(nse(obs, sim).value);
      const r = rmse(obs, sim);
      se[k] = se[k]! + r.value * r.value * r.n;
    }
    count += steps;
    n++;
  }
  if (n === 0)
    throw new FieldcalError('VALIDATION', 'no cases to compare the surrogate on', { field: 'members' });
  const nseMap = Float64Array.from(perCell, (v) => median(v));
  const rmseMap = Float64Array.from(se, (v) => Math.sqrt(v / count));
  let total = 0;
  for (const v of se) total += v;
  const finite = Array.from(nseMap).filter(Number.isFinite);
  return {
    members: ids.length === n ? ids : Array.from({ length: n }, (_, i) => i),
    t0,
    t1,
    nse: nseMap,
    rmse: rmseMap,
    nseMedian: median(finite),
    nseWorstDecile: finite.length ? percentile(finite, 10) : Number.NaN,
    rmseMedian: median(Array.from(rmseMap)),
    rmseOverall: Math.sqrt(total / (count * cells)),
    undefinedCells: cells - finite.length,
  };
}

/** Accuracy on an ensemble's held-out members (default: all of the test split) over steps [t0, t1). */
export function ensembleAccuracy(
  s: Surrogate,
  ens: Ensemble,
  o: { members?: number[]; t0?: number; t1?: number } = {},
): AccuracyReport {
  const members = o.members ?? ens.members('test');
  const t0 = o.t0 ?? 0;
  const t1 = o.t1 ?? ens.manifest.steps;
  function* cases(): Generator<AccuracyCase> {
    for (const m of members) yield { fields: ens.params(m), target: ens.target(m, t0, t1) };
  }
  return accuracyOf(s, cases(), ens.manifest.cells, t0, t1, members);
}
