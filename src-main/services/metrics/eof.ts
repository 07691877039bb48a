import { symmetricEigen } from './linalg';

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
  // cells valid in every map of both fields
  const valid: number[] = [];
  for (let c = 0; c < cells; c++) {
    let ok = true;
    for (let t = 0; t < steps && ok; t++)
      ok = Number.isFinite(obs[t * cells + c]!) && Number.isFinite(sim[t * cells + c]!);
    if (ok) valid.push(c);
  }
  const n = valid.length;
  const rows = 2 * steps;
  const out = new Float64Array(steps).fill(Number.NaN);
  if (n < 2) return out;
  const a = new Float64Array(rows * n);
  for (let t = 0; t < rows; t++) {
    const src = t < steps ? obs : sim;
    const base = (t % steps) * cells;
    let m = 0;
    for (const c of valid) m += src[base + c]!;
    m /= n;
    let v = 0;
    for (const c of valid) v += (src[base + c]! - m) ** 2;
    // population standard deviation (numpy's default); a constant map has no pattern to score
    const sd = Math.sqrt(v / n);
    valid.forEach((c, j) => (a[t * n + j] = sd > 0 ? (src[base + c]! - m) / sd : 0));
  }
  for (let j = 0; j < n; j++) {
    let m = 0;
    for (let t = 0; t < rows; t++) m += a[t * n + j]!;
    m /= rows;
    for (let t = 0; t < rows; t++) a[t * n + j]! -= m;
  }
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

/** Eigen-decomposition of A Aᵀ: its eigenvectors are the left singular vectors of A. */
function leftFromOuter(a: Float64Array, rows: number, n: number): { values: Float64Array; u: Float64Array } {
  const g = new Float64Array(rows * rows);
  // A Aᵀ in cache-sized column blocks, four rows of A at a time sharing each load of the fifth
  const BJ = 2048;
  for (let jb = 0; jb < n; jb += BJ) {
    const je = Math.min(n, jb + BJ);
    for (let i = 0; i < rows; i += 4) {
      const r1 = Math.min(i + 1, rows - 1);
      const r2 = Math.min(i + 2, rows - 1);
      const r3 = Math.min(i + 3, rows - 1);
      for (let k = i; k < rows; k++) {
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        const ko = k * n;
        const o0 = i * n;
        const o1 = r1 * n;
        const o2 = r2 * n;
        const o3 = r3 * n;
        for (let j = jb; j < je; j++) {
          const x = a[ko + j]!;
          s0 += a[o0 + j]! * x;
          s1 += a[o1 + j]! * x;
          s2 += a[o2 + j]! * x;
          s3 += a[o3 + j]! * x;
        }
        g[i * rows + k]! += s0;
        if (i + 1 < rows && k >= i + 1) g[(i + 1) * rows + k]! += s1;
        if (i + 2 < rows && k >= i + 2) g[(i + 2) * rows + k]! += s2;
        if (i + 3 < rows && k >= i + 3) g[(i + 3) * rows + k]! += s3;
      }
    }
  }
  for (let i = 0; i < rows; i++) for (let k = 0; k < i; k++) g[i * rows + k] = g[k * rows + i]!;
  const { values, vectors } = symmetricEigen(g, rows);
  return { values, u: vectors };
}

/** Eigen-decomposition of Aᵀ A = V S² Vᵀ, then U = A V S⁻¹ for the non-zero singular values. */
function leftFromInner(a: Float64Array, rows: number, n: number): { values: Float64Array; u: Float64Array } {
  const g = new Float64Array(n * n);
  for (let t = 0; t < rows; t++) {
    const at = a.subarray(t * n, (t + 1) * n);
    for (let i = 0; i < n; i++) {
      const x = at[i]!;
      if (x === 0) continue;
      for (let j = i; j < n; j++) g[i * n + j]! += x * at[j]!;
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) g[i * n + j] = g[j * n + i]!;
  const { values, vectors } = symmetricEigen(g, n);
  const u = new Float64Array(rows * n);
  const tol = 1e-12 * Math.max(values[0]!, 0);
  for (let i = 0; i < n; i++) {
    if (!(values[i]! > tol)) continue;
    const s = Math.sqrt(values[i]!);
    for (let t = 0; t < rows; t++) {
      let v = 0;
      for (let j = 0; j < n; j++) v += a[t * n + j]! * vectors[j * n + i]!;
      u[t * n + i] = v / s;
    }
  }
  return { values, u };
}
