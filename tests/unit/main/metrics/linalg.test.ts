import { describe, expect, it } from 'vitest';
import { symmetricEigen } from '../../../../src-main/services/metrics/linalg';

describe('symmetric eigen-decomposition', () => {
  it.each([1, 2, 5, 40, 120])(
    'reconstructs A = V diag(λ) Vᵀ with orthonormal V (n = %i), rank-deficient too',
    (n) => {
      let seed = n * 7 + 1;
      const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5;
      // A = B Bᵀ with B n x k, k < n for the larger sizes: many zero eigenvalues, like the EOF Gram matrix
      const k = n > 10 ? Math.floor(n / 3) : n;
      const B = Float64Array.from({ length: n * k }, rand);
      const A = new Float64Array(n * n);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++)
          for (let t = 0; t < k; t++) A[i * n + j]! += B[i * k + t]! * B[j * k + t]!;
      const { values, vectors } = symmetricEigen(A, n);
      for (let i = 1; i < n; i++) expect(values[i]!).toBeLessThanOrEqual(values[i - 1]!);
      const scale = Math.max(...Array.from(values).map(Math.abs));
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          let a = 0;
          let o = 0;
          for (let t = 0; t < n; t++) {
            a += vectors[i * n + t]! * values[t]! * vectors[j * n + t]!;
            o += vectors[t * n + i]! * vectors[t * n + j]!;
          }
          expect(Math.abs(a - A[i * n + j]!)).toBeLessThan(1e-11 * scale);
          expect(Math.abs(o - (i === j ? 1 : 0))).toBeLessThan(1e-12);
        }
      }
      if (n > 10) expect(values[k + 1]!).toBeLessThan(1e-10 * scale);
    },
  );
});
