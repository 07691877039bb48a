import { gram } from './gram';
import { symmetricEigen } from './linalg';
import { nativeKernels, nativeLinalg } from './native';

/**
 * Joint-EOF pattern score per step (Koch et al. 2015, as used by Sun et al. 2024), over the cells
 * valid in every map: each observed and simulated map is z-scored over its cells (removing bias
 * and scale), the 2T maps form A (2T x n) with the column means removed, A = U S Vᵀ; with mode
 * weights w_i = s_i² / Σs², score_t = Σ_i w_i |U[T+t, i] - U[t, i]|. 0 for a perfect pattern.
 * U and s² come from the eigen-decomposition of the smaller of A Aᵀ (2T x 2T) and Aᵀ A (n x n).
 */
export function eofScores(
  obs: ArrayLike<number>,
  sim: ArrayLike<number>,
  steps: number,
  cells: number,
  /** Which Gram matrix to decompose; by default the smaller (both give the same U). */
  gram: 'auto' | 'outer' | 'inner' = 'auto',
): Float64Array {
  if (obs.length !== steps * cells || sim.length !== steps * cells)
    throw new RangeError('obs and sim must hold steps x cells values');
  const out = new Float64Array(steps).fill(Number.NaN);
  const { a, n } = eofAnomalies(obs, sim, steps, cells);
  if (n < 2) return out;
  const rows = 2 * steps;
  // Left singular vectors from the smaller Gram matrix: A Aᵀ (2T x 2T) when there are more cells
  // than maps, else Aᵀ A (n x n) with U = A V / s.
  const outer = gram === 'outer' || (gram === 'auto' && rows <= n);
  const { values, u } = outer ? leftFromOuter(a, rows, n) : leftFromInner(a, rows, n);
  let total = 0;
  for (const v of values) total += Math.max(v, 0);
  const k = values.length;
  for (let t = 0; t < steps; t++) {
    let s = 0;
    for (let i = 0; i < k; i++) {
      const w = Math.max(values[i]!, 0) / total;
      if (w === 0) continue;
      s += w * Math.abs(u[(steps + t) * k + i]! - u[t * k + i]!);
    }
    out[t] = s;
  }
  return out;
}

/**
 * The matrix A of {@link eofScores}: over the n cells valid in every map of both fields, each map
 * z-scored over its cells (population sd, numpy's default; a constant map is all 0: no pattern to
 * score), then the mean over the 2T maps removed from each cell's column. Row-major 2T x n.
 */
export function eofAnomalies(
  obs: ArrayLike<number>,
  sim: ArrayLike<number>,
  steps: number,
  cells: number,
): { a: Float64Array; n: number } {
  // cells valid in every map of both fields, map by map (contiguous reads)
  const bad = new Uint8Array(cells);
  for (let t = 0; t < steps; t++) {
    const base = t * cells;
    for (let c = 0; c < cells; c++)
      if (!Number.isFinite(obs[base + c]!) || !Number.isFinite(sim[base + c]!)) bad[c] = 1;
  }
  const valid: number[] = [];
  for (let c = 0; c < cells; c++) if (!bad[c]) valid.push(c);
  const n = valid.length;
  const rows = 2 * steps;
  if (n < 2) return { a: new Float64Array(0), n };
  const idx = Int32Array.from(valid);
  const a = new Float64Array(rows * n);
  const native = nativeKernels();
  if (native && obs instanceof Float64Array && sim instanceof Float64Array) {
    // the same operations on the addon, threaded over maps then columns (native/src/linalg.cc)
    native.eofAnomalies(obs, sim, steps, cells, idx, a);
    return { a, n };
  }
  for (let t = 0; t < rows; t++) {
    const src = t < steps ? obs : sim;
    const base = (t % steps) * cells;
    // the map's valid cells gathered into its row (a straight copy when every cell is valid)
    const row = a.subarray(t * n, (t + 1) * n);
    if (n === cells && (src instanceof Float64Array || src instanceof Float32Array))
      row.set(src.subarray(base, base + cells));
    else for (let j = 0; j < n; j++) row[j] = src[base + idx[j]!]!;
    let m = 0;
    for (let j = 0; j < n; j++) m += row[j]!;
    m /= n;
    let v = 0;
    for (let j = 0; j < n; j++) v += (row[j]! - m) ** 2;
    const sd = Math.sqrt(v / n);
    if (sd > 0) for (let j = 0; j < n; j++) row[j] = (row[j]! - m) / sd;
    else row.fill(0);
  }
  // column means summed map by map (each column still in map order)
  const mean = new Float64Array(n);
  for (let t = 0; t < rows; t++) {
    const row = a.subarray(t * n, (t + 1) * n);
    for (let j = 0; j < n; j++) mean[j]! += row[j]!;
  }
  for (let j = 0; j < n; j++) mean[j]! /= rows;
  for (let t = 0; t < rows; t++) {
    const row = a.subarray(t * n, (t + 1) * n);
    for (let j = 0; j < n; j++) row[j]! -= mean[j]!;
  }
  return { a, n };
}

/** Eigen-decomposition of A Aᵀ: its eigenvectors are the left singular vectors of A. */
function leftFromOuter(a: Float64Array, rows: number, n: number): { values: Float64Array; u: Float64Array } {
  const g = gram(a, rows, n);
  const { values, vectors } = symmetricEigen(g, rows);
  return { values, u: vectors };
}

/** Eigen-decomposition of Aᵀ A = V S² Vᵀ, then U = A V S⁻¹ for the non-zero singular values. */
function leftFromInner(a: Float64Array, rows: number, n: number): { values: Float64Array; u: Float64Array } {
  // Aᵀ A is the Gram matrix of Aᵀ's rows
  const at = new Float64Array(n * rows);
  for (let t = 0; t < rows; t++) for (let j = 0; j < n; j++) at[j * rows + t] = a[t * n + j]!;
  const g = gram(at, n, rows);
  const { values, vectors } = symmetricEigen(g, n);
  const u = new Float64Array(rows * n);
  const tol = 1e-12 * Math.max(values[0]!, 0);
  const blas = nativeLinalg();
  if (blas && rows * n < 2 ** 31) {
    // U = A V on OpenBLAS (dgemm), then each column scaled by 1 / s_i
    blas.gemmF64(false, false, rows, n, n, a, vectors, u);
    const inv = Float64Array.from(values, (v) => (v > tol ? 1 / Math.sqrt(v) : 0));
    for (let t = 0; t < rows; t++) for (let i = 0; i < n; i++) u[t * n + i]! *= inv[i]!;
    return { values, u };
  }
  // U[t, i] = Σ_j A[t, j] V[j, i] / s_i, each row of U summed over j in order along V's rows
  const acc = new Float64Array(n);
  for (let t = 0; t < rows; t++) {
    acc.fill(0);
    for (let j = 0; j < n; j++) {
      const x = a[t * n + j]!;
      const vj = j * n;
      for (let i = 0; i < n; i++) acc[i]! += x * vectors[vj + i]!;
    }
    for (let i = 0; i < n; i++) if (values[i]! > tol) u[t * n + i] = acc[i]! / Math.sqrt(values[i]!);
  }
  return { values, u };
}
