import { describe, expect, it } from 'vitest';
import { gram } from '../../../../src-main/services/metrics/gram';
import {
  binary,
  fssBinary,
  fssBinaryScales,
  percentile,
  percentiles,
} from '../../../../src-main/services/metrics/spatial';

function rng(seed: number) {
  let s = seed;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

describe('metrics fast paths give the values of the plain definitions', () => {
  it('G = A Aᵀ in float64 (SIMD and JavaScript kernels) matches the dot products to rounding', () => {
    const rand = rng(11);
    for (const [rows, n] of [
      [1, 1],
      [5, 3],
      [13, 1027],
      [70, 3001],
      [101, 2001], // large enough for the worker threads
    ] as const) {
      const a = Float64Array.from({ length: rows * n }, () => rand() - 0.5);
      const g1 = gram(a, rows, n, 'wasm');
      const g2 = gram(a, rows, n, 'js');
      for (let i = 0; i < rows; i++)
        for (let k = 0; k < rows; k++) {
          let d = 0;
          let m = 0;
          for (let j = 0; j < n; j++) {
            d += a[i * n + j]! * a[k * n + j]!;
            m += Math.abs(a[i * n + j]! * a[k * n + j]!);
          }
          // summation-order rounding: a few ulps of Σ|products| per panel
          const tol = 1e-14 * (m + 1);
          expect(Math.abs(g1[i * rows + k]! - d)).toBeLessThanOrEqual(tol);
          expect(Math.abs(g2[i * rows + k]! - d)).toBeLessThanOrEqual(tol);
          expect(g1[i * rows + k]).toBe(g1[k * rows + i]);
        }
    }
  });

  it('percentiles by selection equal those of the sorted values, NaN and ties included', () => {
    const rand = rng(5);
    for (const n of [1, 2, 7, 1000, 4099]) {
      const x = Float64Array.from({ length: n }, (_, i) =>
        i % 17 === 3 ? Number.NaN : Math.floor(rand() * (n > 100 ? 50 : 1e6)),
      );
      const ps = [0, 5, 50, 75, 90, 95, 99.9, 100];
      const got = percentiles(x, ps);
      ps.forEach((p, i) => expect(got[i]).toBe(percentile(x, p)));
    }
    expect(percentiles([Number.NaN], [50])[0]).toBeNaN();
  });

  it('FSS at several windows from one summed-area table equals FSS window by window', () => {
    const rand = rng(9);
    const rows = 23;
    const cols = 31;
    const o = Float64Array.from({ length: rows * cols }, rand);
    const s = Float64Array.from({ length: rows * cols }, () => rand() * 1.2);
    const bo = binary(o, 0.7);
    const bs = binary(s, 0.7);
    const scales = [1, 2, 3, 5, 9, 15, 40];
    const got = fssBinaryScales(bo, bs, rows, cols, scales);
    scales.forEach((sc, i) => expect(got[i]).toBe(fssBinary(bo, bs, rows, cols, sc)));
    // no exceedance anywhere: undefined, as fssBinary says
    const none = new Float64Array(rows * cols);
    expect(fssBinaryScales(none, none, rows, cols, [3])[0]).toBeNaN();
  });
});
