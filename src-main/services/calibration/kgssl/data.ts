import { FieldcalError } from '../../../../src-shared/ipc';
import { periodRange, type BasinSet } from '../../datasets/basins';

/** An inclusive ISO date range. */
export interface DateRange {
  start: string;
  end: string;
}

/**
 * The basins problem (problem kind `basins`): a multi-basin lumped dataset, a train period (the
 * networks see only it) and a test period (scored only). Poster: train 1999–2009, test 1989–1999.
 */
export interface BasinsProblem {
  set: BasinSet;
  train: DateRange;
  test: DateRange;
}

/** Mean and standard deviation of the finite values (std 1 when degenerate). */
function moments(arrays: ArrayLike<number>[]): { mean: number; std: number } {
  let s = 0;
  let s2 = 0;
  let n = 0;
  for (const a of arrays)
    for (let i = 0; i < a.length; i++)
      if (Number.isFinite(a[i]!)) {
        s += a[i]!;
        s2 += a[i]! * a[i]!;
        n++;
      }
  const mean = n ? s / n : 0;
  const std = n > 1 ? Math.sqrt(Math.max(s2 / n - mean * mean, 0)) : 1;
  return { mean, std: std > 1e-9 ? std : 1 };
}

/**
 * The networks' view of a basins problem: per basin the standardised forcing [steps][F] (P, PET,
 * and T when every basin has it; statistics pooled over the basins' train periods), standardised
 * discharge (NaN = missing), the NSE* weight 1 / (σ_b + 0.1)² of Kratzert et al. (2019, HESS 23,
 * 5089) with σ_b the basin's standardised discharge deviation over its train period, the row
 * ranges of both periods, and the standardised known attributes with their mask.
 */
export class KgsslData {
  readonly n: number;
  readonly F: number;
  readonly forcing: Float32Array[];
  readonly q: Float32Array[];
  readonly weight: Float32Array;
  readonly train: Array<{ i0: number; i1: number }>;
  readonly test: Array<{ i0: number; i1: number }>;
  readonly A: number;
  /** [n][A] standardised attributes (0 where missing) and the mask (1 known, 0 missing). */
  readonly attrs: Float32Array;
  readonly mask: Float32Array;
  readonly attrStats: Array<{ mean: number; std: number }>;
  readonly qStats: { mean: number; std: number };

  constructor(
    readonly problem: BasinsProblem,
    window: number,
  ) {
    const { basins, attributes } = problem.set;
    this.n = basins.length;
    const withT = basins.every((b) => b.series.T);
    this.F = withT ? 3 : 2;
    this.train = basins.map((b) => periodRange(b.series.dates, problem.train, b.file, 'train'));
    this.test = basins.map((b) => periodRange(b.series.dates, problem.test, b.file, 'test'));
    for (const [k, r] of this.train.entries())
      if (r.i1 - r.i0 < window)
        throw new FieldcalError(
          'VALIDATION',
          `${basins[k]!.file}: the train period has ${r.i1 - r.i0} steps, fewer than the window (${window})`,
          { field: 'train' },
        );
    const cut = (a: Float64Array, k: number) => a.subarray(this.train[k]!.i0, this.train[k]!.i1);
    const stats = [
      moments(basins.map((b, k) => cut(b.series.P, k))),
      moments(basins.map((b, k) => cut(b.series.E, k))),
      ...(withT ? [moments(basins.map((b, k) => cut(b.series.T!, k)))] : []),
    ];
    this.qStats = moments(basins.map((b, k) => cut(b.series.Q, k)));
    this.forcing = basins.map((b) => {
      const s = b.series;
      const src = [s.P, s.E, ...(withT ? [s.T!] : [])];
      const out = new Float32Array(s.P.length * this.F);
      for (let t = 0; t < s.P.length; t++)
        for (let f = 0; f < this.F; f++) {
          const v = (src[f]![t]! - stats[f]!.mean) / stats[f]!.std;
          out[t * this.F + f] = Number.isFinite(v) ? v : 0;
        }
      return out;
    });
    this.q = basins.map((b) =>
      Float32Array.from(b.series.Q, (v) => (v - this.qStats.mean) / this.qStats.std),
    );
    this.weight = Float32Array.from(basins, (_, k) => {
      const sd = moments([this.q[k]!.subarray(this.train[k]!.i0, this.train[k]!.i1)]).std;
      return 1 / (sd + 0.1) ** 2;
    });
    this.A = attributes.names.length;
    this.attrs = new Float32Array(this.n * this.A);
    this.mask = new Float32Array(this.n * this.A);
    this.attrStats = attributes.names.map((_, j) =>
      moments([attributes.values.map((v) => v[j]!.value ?? Number.NaN)]),
    );
    attributes.values.forEach((row, k) =>
      row.forEach((v, j) => {
        if (v.value === null) return;
        this.attrs[k * this.A + j] = (v.value - this.attrStats[j]!.mean) / this.attrStats[j]!.std;
        this.mask[k * this.A + j] = 1;
      }),
    );
  }

  /** Writes the encoder input of basin k's window starting at s ([W][F + 2]: forcing, Q, observed flag). */
  encoderWindow(out: Float32Array, row: number, k: number, s: number, W: number): void {
    const F = this.F;
    const C = F + 2;
    const fo = this.forcing[k]!;
    const q = this.q[k]!;
    for (let j = 0; j < W; j++) {
      const o = (row * W + j) * C;
      for (let f = 0; f < F; f++) out[o + f] = fo[(s + j) * F + f]!;
      const v = q[s + j]!;
      out[o + F] = Number.isFinite(v) ? v : 0;
      out[o + F + 1] = Number.isFinite(v) ? 1 : 0;
    }
  }

  /** Writes basin k's forcing window starting at s ([W][F]); steps before the series are zeros (the mean). */
  forcingWindow(out: Float32Array, row: number, k: number, s: number, W: number): void {
    const F = this.F;
    const fo = this.forcing[k]!;
    for (let j = 0; j < W; j++)
      for (let f = 0; f < F; f++) out[(row * W + j) * F + f] = s + j >= 0 ? fo[(s + j) * F + f]! : 0;
  }

  /** Discharge (mm/step) from standardised units. */
  toMm(v: number): number {
    return v * this.qStats.std + this.qStats.mean;
  }
}
