import { nativeLinalg } from './native';

/**
 * Eigen-decomposition of a symmetric matrix. `a` is n x n row-major; returns eigenvalues in
 * descending order and unit eigenvectors as the matching columns (each up to sign). By default
 * LAPACK's dsyevd (divide and conquer, as numpy.linalg.eigh) on OpenBLAS through the addon
 * (./native.ts); `engine` 'js', or no addon, runs the JavaScript reference below.
 */
export function symmetricEigen(
  a: Float64Array,
  n: number,
  engine: 'auto' | 'js' = 'auto',
): { values: Float64Array; vectors: Float64Array } {
  if (a.length !== n * n) throw new RangeError('symmetricEigen: a must hold n x n values');
  // LAPACK takes 32-bit sizes: n up to 46340 (46340² < 2³¹)
  const blas = engine === 'auto' && n > 0 && n <= 46340 ? nativeLinalg() : null;
  if (blas) {
    const values = new Float64Array(n);
    const vectors = new Float64Array(n * n);
    blas.symEigF64(a, n, values, vectors);
    return { values, vectors };
  }
  return symmetricEigenJs(a, n);
}

/**
 * Householder reduction to tridiagonal form and the implicit QL algorithm (EISPACK tred2/tql2, as
 * in JAMA's EigenvalueDecomposition; Golub & Van Loan, Matrix Computations, 8.3). O(n³), accurate
 * to machine precision; same conventions as {@link symmetricEigen}.
 */
function symmetricEigenJs(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  // W = Vᵀ: the algorithm below is EISPACK's with every V[r][c] read as W[c][r], so the inner loops
  // (and tql2's rotations of two eigenvectors) run along contiguous rows. A is symmetric: W = A.
  const W: Float64Array[] = Array.from({ length: n }, (_, i) =>
    Float64Array.from(a.subarray(i * n, (i + 1) * n)),
  );
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tred2(W, d, e, n);
  tql2(W, d, e, n);
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => d[j]! - d[i]!);
  const values = Float64Array.from(order, (i) => d[i]!);
  const vectors = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const w = W[order[k]!]!;
    for (let r = 0; r < n; r++) vectors[r * n + k] = w[r]!;
  }
  return { values, vectors };
}

/** Householder tridiagonalisation (EISPACK tred2) on W = Vᵀ. On return W's rows hold the transformation. */
function tred2(W: Float64Array[], d: Float64Array, e: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) d[j] = W[j]![n - 1]!;
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]!);
    const wi = W[i]!;
    if (scale === 0) {
      e[i] = d[i - 1]!;
      for (let j = 0; j < i; j++) {
        d[j] = W[j]![i - 1]!;
        W[j]![i] = 0;
        wi[j] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k]! /= scale;
        h += d[k]! * d[k]!;
      }
      let f = d[i - 1]!;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        const wj = W[j]!;
        f = d[j]!;
        wi[j] = f;
        g = e[j]! + wj[j]! * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += wj[k]! * d[k]!;
          e[k]! += wj[k]! * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j]! /= h;
        f += e[j]! * d[j]!;
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j]! -= hh * d[j]!;
      for (let j = 0; j < i; j++) {
        const wj = W[j]!;
        f = d[j]!;
        g = e[j]!;
        for (let k = j; k <= i - 1; k++) wj[k]! -= f * e[k]! + g * d[k]!;
        d[j] = wj[i - 1]!;
        wj[i] = 0;
      }
    }
    d[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    const wi = W[i]!;
    const wi1 = W[i + 1]!;
    wi[n - 1] = wi[i]!;
    wi[i] = 1;
    const h = d[i + 1]!;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = wi1[k]! / h;
      for (let j = 0; j <= i; j++) {
        const wj = W[j]!;
        let g = 0;
        for (let k = 0; k <= i; k++) g += wi1[k]! * wj[k]!;
        for (let k = 0; k <= i; k++) wj[k]! -= g * d[k]!;
      }
    }
    for (let k = 0; k <= i; k++) wi1[k] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = W[j]![n - 1]!;
    W[j]![n - 1] = 0;
  }
  W[n - 1]![n - 1] = 1;
  e[0] = 0;
}

/** Implicit QL iterations on the tridiagonal matrix (EISPACK tql2); rotations act on rows of W = Vᵀ. */
function tql2(W: Float64Array[], d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]!) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      do {
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i]! -= h;
        f += h;
        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          const wa = W[i]!;
          const wb = W[i + 1]!;
          for (let k = 0; k < n; k++) {
            h = wb[k]!;
            const x = wa[k]!;
            wb[k] = s * x + c * h;
            wa[k] = c * x - s * h;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > eps * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
}
