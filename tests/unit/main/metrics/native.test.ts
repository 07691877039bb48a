import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { eofAnomalies, eofScores } from '../../../../src-main/services/metrics/eof';
import { gram } from '../../../../src-main/services/metrics/gram';
import { symmetricEigen } from '../../../../src-main/services/metrics/linalg';
import { nativeKernels, nativeLinalg } from '../../../../src-main/services/metrics/native';
import { stepSpatial, summaryTable } from '../../../../src-main/services/metrics/summary';
import { loadAddon } from '../../../../src-main/services/compute/native/addon';

/** Park & Miller's (1988) minimal-standard generator, shifted to [-0.5, 0.5), reproducible from a seed. */
function rng(seed: number) {
  let s = seed;
  return () => (s = (s * 16807) % 2147483647) / 2147483647 - 0.5;
}

const blas = nativeLinalg();
const fields = nativeKernels();
const saved = process.env.FIELDCAL_METRICS;
afterEach(() => {
  if (saved === undefined) delete process.env.FIELDCAL_METRICS;
  else process.env.FIELDCAL_METRICS = saved;
});

/** Runs fn with the JavaScript metrics (FIELDCAL_METRICS=js). */
function js<T>(fn: () => T): T {
  process.env.FIELDCAL_METRICS = 'js';
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env.FIELDCAL_METRICS;
    else process.env.FIELDCAL_METRICS = saved;
  }
}

const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, x) => Math.max(m, Math.abs(x)), 0);

describe.skipIf(!blas)('OpenBLAS through the addon agrees with the JavaScript linear algebra', () => {
  it.each([
    [1, 1],
    [7, 3],
    [13, 1001],
    [96, 40],
  ])('Gram product A Aᵀ of a random %i x %i matrix (dsyrk vs the scalar kernel)', (rows, n) => {
    const r = rng(rows * 31 + n);
    const a = Float64Array.from({ length: rows * n }, r);
    const want = gram(a, rows, n, 'js');
    const got = gram(a, rows, n);
    const scale = maxAbs(want);
    for (let i = 0; i < rows * rows; i++)
      expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-13 * scale * n);
    // symmetric, both triangles filled
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < i; j++) expect(got[i * rows + j]).toBe(got[j * rows + i]);
  });

  it.each([1, 3, 50, 200])('dsyevd and tred2/tql2 give the same spectrum and eigenvectors (n = %i)', (n) => {
    const r = rng(n * 7 + 3);
    // a full-rank random symmetric matrix: distinct eigenvalues, eigenvectors defined up to sign
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = r() + (i === j ? 2 * r() : 0);
    const nat = symmetricEigen(a, n);
    const ref = symmetricEigen(a, n, 'js');
    const scale = maxAbs(ref.values);
    for (let k = 0; k < n; k++) {
      expect(Math.abs(nat.values[k]! - ref.values[k]!)).toBeLessThan(1e-12 * scale);
      if (k > 0) expect(nat.values[k]!).toBeLessThanOrEqual(nat.values[k - 1]!);
    }
    for (let k = 0; k < n; k++) {
      const gap = Math.min(
        k > 0 ? ref.values[k - 1]! - ref.values[k]! : Infinity,
        k < n - 1 ? ref.values[k]! - ref.values[k + 1]! : Infinity,
      );
      let dot = 0;
      for (let r2 = 0; r2 < n; r2++) dot += nat.vectors[r2 * n + k]! * ref.vectors[r2 * n + k]!;
      // |cos| of the angle between the two unit vectors, bounded by eps‖A‖/gap (Davis-Kahan)
      expect(1 - Math.abs(dot)).toBeLessThan(1e-20 + (1e-12 * scale) / gap);
      // A v = λ v for the native vector
      let res = 0;
      for (let i = 0; i < n; i++) {
        let av = 0;
        for (let j = 0; j < n; j++) av += a[i * n + j]! * nat.vectors[j * n + k]!;
        res = Math.max(res, Math.abs(av - nat.values[k]! * nat.vectors[i * n + k]!));
      }
      expect(res).toBeLessThan(1e-12 * scale * Math.sqrt(n));
    }
  });

  it('dgemm with and without transposes matches the dot products', () => {
    const r = rng(5);
    const [m, n, k] = [5, 7, 9];
    const a = Float64Array.from({ length: m * k }, r);
    const b = Float64Array.from({ length: k * n }, r);
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      const c = new Float64Array(m * n);
      blas!.gemmF64(ta, tb, m, n, k, a, b, c);
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let t = 0; t < k; t++)
            s += (ta ? a[t * m + i]! : a[i * k + t]!) * (tb ? b[j * k + t]! : b[t * n + j]!);
          expect(Math.abs(c[i * n + j]! - s)).toBeLessThan(1e-14);
        }
    }
  });

  it('refuses operands of the wrong size with a FIELDCAL_NATIVE error, not a crash', () => {
    expect(() => blas!.gramF64(new Float64Array(5), 2, 3, new Float64Array(4))).toThrow(
      /native linalg: a must/,
    );
    expect(() =>
      blas!.symEigF64(new Float64Array(4), 2, new Float64Array(2), new Float32Array(4) as never),
    ).toThrow(/vectors must be a Float64Array/);
    expect(() => blas!.gramF64(new Float64Array(6), -2, 3, new Float64Array(4))).toThrow(
      /rows must be an integer/,
    );
    expect(() =>
      blas!.symEigF64(
        Float64Array.of(1, Number.NaN, Number.NaN, 1),
        2,
        new Float64Array(2),
        new Float64Array(4),
      ),
    ).toThrow(/dsyevd/);
    // a percentile outside [0, 100] would index outside the sorted field: refused before any step
    const ones = new Float64Array(2 * 3 * 3).fill(1);
    for (const p of [150, -1, Number.NaN])
      expect(() =>
        fields!.stepSpatial(
          ones,
          ones,
          2,
          3,
          3,
          null,
          Float64Array.of(1),
          3,
          Float64Array.of(p),
          Float64Array.of(1),
          new Float64Array(2),
          new Float64Array(2),
        ),
      ).toThrow(/percentiles must be numbers in \[0, 100\]/);
  });

  it('joint-EOF scores on both paths: A Aᵀ (more cells than maps) and Aᵀ A (fewer), NaN cells included', () => {
    const r = rng(11);
    for (const [steps, cells] of [
      [20, 150],
      [40, 30],
    ] as const) {
      const obs = Float64Array.from({ length: steps * cells }, (_, i) => Math.sin(i / 17) + r());
      const sim = Float64Array.from(obs, (x) => 0.8 * x + 0.3 * r());
      obs[3] = Number.NaN;
      // the anomaly matrix: the same operations in the same order on the addon
      const an = eofAnomalies(obs, sim, steps, cells);
      const aj = js(() => eofAnomalies(obs, sim, steps, cells));
      expect(an.n).toBe(cells - 1);
      expect(maxAbs(an.a.map((x, i) => x - aj.a[i]!))).toBeLessThan(1e-14);
      const nat = eofScores(obs, sim, steps, cells);
      const ref = js(() => eofScores(obs, sim, steps, cells));
      for (let t = 0; t < steps; t++) expect(Math.abs(nat[t]! - ref[t]!)).toBeLessThan(1e-10);
      // the other Gram matrix gives the same scores
      const other = eofScores(obs, sim, steps, cells, 2 * steps <= cells ? 'inner' : 'outer');
      for (let t = 0; t < steps; t++) expect(Math.abs(other[t]! - ref[t]!)).toBeLessThan(1e-9);
    }
  });

  it('joint-EOF reference vectors to 1e-9 on the native and on the JavaScript path', () => {
    const V = JSON.parse(readFileSync('tests/fixtures/metrics/reference-vectors.json', 'utf8')) as {
      eof: Array<{ T: number; n: number; obs: number[]; sim: number[]; score_per_step: number[] }>;
    };
    for (const e of V.eof) {
      for (const s of [eofScores(e.obs, e.sim, e.T, e.n), js(() => eofScores(e.obs, e.sim, e.T, e.n))])
        e.score_per_step.forEach((want, t) =>
          expect(Math.abs(s[t]! - want)).toBeLessThanOrEqual(1e-9 * Math.abs(want) + 1e-12),
        );
    }
  });
});

describe.skipIf(!fields)('per-step SSIM and FSS on the addon agree with the JavaScript reference', () => {
  const rows = 23;
  const cols = 19;
  const steps = 9;
  const cells = rows * cols;
  const r = rng(2024);
  const obs = Float64Array.from({ length: steps * cells }, (_, i) => 2 + Math.sin(i / 9) + r());
  const sim = Float64Array.from(obs, (x) => 0.9 * x + 0.4 * r());
  obs[5] = Number.NaN;
  sim[cells + 40] = Number.NaN;
  // step 4 uniform: SSIM undefined (NaN) there
  obs.fill(1, 4 * cells, 5 * cells);
  const mask = Uint8Array.from({ length: cells }, (_, c) => (c % 11 === 3 ? 0 : 1));
  const percentiles = [50, 75, 90, 95];
  const scales = [1, 3, 5, 9, 15];

  it.each([
    ['no mask', null],
    ['a mask', mask],
  ])('with %s, SSIM and every FSS to 1e-12, whatever the thread count', (_, m) => {
    const grid = { rows, cols, mask: m };
    const ref = js(() => stepSpatial(obs, sim, steps, grid, percentiles, scales));
    const addon = loadAddon().addon!;
    const before = addon.setThreads(0);
    addon.setThreads(1);
    const one = stepSpatial(obs, sim, steps, grid, percentiles, scales);
    addon.setThreads(2);
    const two = stepSpatial(obs, sim, steps, grid, percentiles, scales);
    addon.setThreads(before);
    expect(two.ssim).toEqual(one.ssim);
    expect(two.fss).toEqual(one.fss);
    expect(Number.isNaN(ref.ssim[4]!)).toBe(true);
    for (const [got, want] of [
      [one.ssim, ref.ssim],
      [one.fss, ref.fss],
    ] as const) {
      expect(got.length).toBe(want.length);
      for (let i = 0; i < want.length; i++) {
        if (Number.isNaN(want[i]!)) expect(got[i]).toBeNaN();
        else expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-12);
      }
    }
    // the summary on both paths
    const def = Float64Array.from(obs, (x) => x + 0.5);
    const a = summaryTable({ obs, sim, simDefault: def, steps, grid });
    const b = js(() => summaryTable({ obs, sim, simDefault: def, steps, grid }));
    expect(Math.abs(a.meanSsim - b.meanSsim)).toBeLessThan(1e-12);
    expect(Math.abs(a.meanEof - b.meanEof)).toBeLessThan(1e-10);
    for (const p of Object.keys(b.fss))
      b.fss[p]!.forEach((q, j) => expect(Math.abs(a.fss[p]![j]!.fss - q.fss)).toBeLessThan(1e-12));
  });

  it('FSS reference vectors (pysteps) to 1e-9 through the native kernel', () => {
    const V = JSON.parse(readFileSync('tests/fixtures/metrics/reference-vectors.json', 'utf8')) as {
      fields: Array<{
        shape: [number, number];
        obs: number[];
        sim: number[];
        fss: Array<{ percentile: number; scale: number; fss: number }>;
      }>;
    };
    for (const f of V.fields) {
      const [fr, fc] = f.shape;
      const ps = [...new Set(f.fss.map((q) => q.percentile))];
      const ss = [...new Set(f.fss.map((q) => q.scale))];
      const out = stepSpatial(
        Float64Array.from(f.obs),
        Float64Array.from(f.sim),
        1,
        { rows: fr, cols: fc, mask: null },
        ps,
        ss,
      );
      for (const q of f.fss) {
        const got = out.fss[ps.indexOf(q.percentile) * ss.length + ss.indexOf(q.scale)]!;
        expect(Math.abs(got - q.fss)).toBeLessThanOrEqual(1e-9 * Math.abs(q.fss) + 1e-12);
      }
    }
  });
});
