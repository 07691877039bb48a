import { mulberry32 } from '../../common/random';
import { cc, nse } from '../../metrics/series';
import type { LumpedProblem } from '../lumped/problem';
import { LUMPED_BOUNDS, simulateLumped } from '../lumped/problem';
import type { KgsslData } from './data';

/** Euclidean distance matrix of embeddings [n][d]. */
export function embeddingDistances(z: ArrayLike<number>[]): number[][] {
  return z.map((a) =>
    z.map((b) => {
      let s = 0;
      for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
      return Math.sqrt(s);
    }),
  );
}

/**
 * Distance of basins in attribute space: Euclidean over the standardised attributes both basins
 * have, scaled by √(A / shared) so basins with gaps stay comparable; NaN when they share none.
 */
export function attributeDistances(d: KgsslData): number[][] {
  const { n, A, attrs, mask } = d;
  return Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => {
      let s = 0;
      let c = 0;
      for (let a = 0; a < A; a++)
        if (mask[i * A + a] && mask[j * A + a]) {
          s += (attrs[i * A + a]! - attrs[j * A + a]!) ** 2;
          c++;
        }
      return c ? Math.sqrt((s * A) / c) : Number.NaN;
    }),
  );
}

/** Pearson correlation of the upper triangles of two distance matrices (a Mantel statistic, Mantel 1967). */
export function matrixCorrelation(a: number[][], b: number[][]): number {
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < a.length; i++)
    for (let j = i + 1; j < a.length; j++) {
      x.push(a[i]![j]!);
      y.push(b[i]![j]!);
    }
  return cc(x, y).value;
}

/** Basins split into `folds` leave-out folds, shuffled by the seed: fold[k] = the fold of basin k. */
export function basinFolds(n: number, folds: number, seed: number): number[] {
  const rand = mulberry32(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const fold = new Array<number>(n);
  order.forEach((k, r) => (fold[k] = r % folds));
  return fold;
}

/**
 * Ridge regression (Hoerl & Kennard 1970) from embeddings to one attribute: fitted on the basins
 * `fit` that know it (intercept unpenalised, z centred), predicted for `at`.
 */
export function ridgePredict(
  z: ArrayLike<number>[],
  y: (number | null)[],
  fit: number[],
  at: number[],
  lambda = 1e-2,
): number[] {
  const use = fit.filter((k) => y[k] !== null);
  const d = z[0]!.length;
  if (use.length < 2) return at.map(() => Number.NaN);
  const mz = new Float64Array(d);
  let my = 0;
  for (const k of use) {
    for (let i = 0; i < d; i++) mz[i]! += z[k]![i]! / use.length;
    my += y[k]! / use.length;
  }
  const M = Array.from({ length: d }, (_, i) =>
    Array.from({ length: d + 1 }, (_, j) => (j === i ? lambda * use.length : 0)),
  );
  for (const k of use)
    for (let i = 0; i < d; i++) {
      const zi = z[k]![i]! - mz[i]!;
      for (let j = 0; j < d; j++) M[i]![j]! += zi * (z[k]![j]! - mz[j]!);
      M[i]![d]! += zi * (y[k]! - my);
    }
  // Gauss–Jordan with partial pivoting
  for (let c = 0; c < d; c++) {
    let p = c;
    for (let i = c + 1; i < d; i++) if (Math.abs(M[i]![c]!) > Math.abs(M[p]![c]!)) p = i;
    [M[c], M[p]] = [M[p]!, M[c]!];
    for (let i = 0; i < d; i++) {
      if (i === c || M[c]![c] === 0) continue;
      const f = M[i]![c]! / M[c]![c]!;
      for (let j = c; j <= d; j++) M[i]![j]! -= f * M[c]![j]!;
    }
  }
  const w = M.map((r, i) => (r[i] ? r[d]! / r[i]! : 0));
  return at.map((k) => my + w.reduce((s, wi, i) => s + wi * (z[k]![i]! - mz[i]!), 0));
}

/** Ridge penalties tried by `ridgeLoo` (per basin, on standardised embeddings). */
export const RIDGE_LAMBDAS = [1e-3, 1e-2, 0.1, 0.3, 1, 3, 10, 100];

/**
 * Ridge from embeddings to one attribute with its penalty chosen by leave-one-out cross-validation
 * on the fitting basins only (Hastie et al. 2009, §7.10): the embedding dimensions standardised on
 * those basins, each λ of `lambdas` scored by the squared error of predicting each fitting basin from
 * the others, the best refitted on all of them and predicted for `at`. With few basins a large λ
 * shrinks towards the fitting basins' mean instead of extrapolating along noise dimensions.
 */
export function ridgeLoo(
  z: ArrayLike<number>[],
  y: (number | null)[],
  fit: number[],
  at: number[],
  lambdas: readonly number[] = RIDGE_LAMBDAS,
): { values: number[]; lambda: number } {
  const use = fit.filter((k) => y[k] !== null && Number.isFinite(y[k]!));
  const d = z[0]?.length ?? 0;
  if (use.length < 2 || d === 0) return { values: at.map(() => Number.NaN), lambda: Number.NaN };
  const mean = new Float64Array(d);
  const sd = new Float64Array(d);
  for (const k of use) for (let i = 0; i < d; i++) mean[i]! += z[k]![i]! / use.length;
  for (const k of use) for (let i = 0; i < d; i++) sd[i]! += (z[k]![i]! - mean[i]!) ** 2 / use.length;
  const zs = z.map((r) =>
    Float64Array.from({ length: d }, (_, i) => (r[i]! - mean[i]!) / (Math.sqrt(sd[i]!) || 1)),
  );
  let best = lambdas[0]!;
  let bestErr = Infinity;
  for (const lambda of lambdas) {
    let err = 0;
    for (const i of use) {
      const p = ridgePredict(
        zs,
        y,
        use.filter((k) => k !== i),
        [i],
        lambda,
      )[0]!;
      err += (p - y[i]!) ** 2;
    }
    if (err < bestErr) {
      bestErr = err;
      best = lambda;
    }
  }
  return { values: ridgePredict(zs, y, use, at, best), lambda: best };
}

/** Median of the finite values (NaN when none). */
export function median(v: number[]): number {
  const s = v.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * GR4J parameters averaged where they act multiplicatively: X1 and X3 (stores, mm) geometrically,
 * X2 (exchange, mm/d) and X4 (unit-hydrograph time base, d) arithmetically.
 */
export function meanGr4(ps: Float64Array[]): Float64Array {
  const out = new Float64Array(4);
  for (const p of ps) {
    out[0]! += Math.log(p[0]!) / ps.length;
    out[1]! += p[1]! / ps.length;
    out[2]! += Math.log(p[2]!) / ps.length;
    out[3]! += p[3]! / ps.length;
  }
  out[0] = Math.exp(out[0]!);
  out[2] = Math.exp(out[2]!);
  return out;
}

/** The k nearest other basins of basin b by a distance matrix (NaN distances last). */
export function nearest(dist: number[][], b: number, k: number, among: number[]): number[] {
  return among
    .filter((j) => j !== b)
    .sort(
      (i, j) =>
        (Number.isFinite(dist[b]![i]!) ? dist[b]![i]! : Infinity) -
        (Number.isFinite(dist[b]![j]!) ? dist[b]![j]! : Infinity),
    )
    .slice(0, k);
}

/** A basin's GR4J problem over rows [i0, i1) with `warmup` rows before i0 (fewer where the series starts later). */
export function gr4Problem(
  s: { P: Float64Array; E: Float64Array; Q: Float64Array },
  i0: number,
  i1: number,
  warmup: number,
): LumpedProblem {
  const w0 = Math.max(0, i0 - warmup);
  return {
    structure: 'gr4',
    P: s.P.subarray(w0, i1),
    E: s.E.subarray(w0, i1),
    obs: s.Q.subarray(i0, i1),
    warmup: i0 - w0,
    lower: [...LUMPED_BOUNDS.lower],
    upper: [...LUMPED_BOUNDS.upper],
  };
}

/** NSE (Nash & Sutcliffe 1970; metrics/series.ts) of GR4J with parameters p on a problem's scored steps. */
export const gr4Nse = (pr: LumpedProblem, p: ArrayLike<number>): number =>
  nse(pr.obs, simulateLumped(pr, p).subarray(pr.warmup)).value;
