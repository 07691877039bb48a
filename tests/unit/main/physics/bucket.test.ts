import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../../src-main/services/common/random';
import {
  BUCKET,
  BUCKET_K,
  bucketAdjoint,
  runBucket,
  waterBalance,
  type BucketOptions,
} from '../../../../src-main/services/physics/bucket';

/** Random rainfall (60 % dry days, exponential amounts) and random fractions in (0, 1). */
function randomCase(seed: number, batch: number, steps: number) {
  const rand = mulberry32(seed);
  const P = Float64Array.from({ length: batch * steps }, () =>
    rand() < 0.6 ? 0 : -8 * Math.log(1 - rand()),
  );
  const f = Float64Array.from({ length: batch * steps * BUCKET_K }, () => 0.02 + 0.96 * rand());
  return { P, f, rand };
}

/** A scalar loss of the outputs with fixed random weights, for the finite-difference check. */
function lossOf(P: Float64Array, f: Float64Array, b: number, s: number, w: Float64Array[], o: BucketOptions) {
  const r = runBucket(P, f, b, s, o);
  let L = 0;
  for (let i = 0; i < b * s; i++)
    L += w[0]![i]! * r.Q[i]! + w[1]![i]! * r.ET[i]! + w[2]![i]! * r.residual[i]! ** 2;
  return { L, r };
}

describe('physics/bucket', () => {
  it('declares eight bounded fractions, four stores and the balance outputs', () => {
    expect(BUCKET.parameters).toHaveLength(BUCKET_K);
    expect(BUCKET.parameters.every((p) => p.bounds[0] === 0 && p.bounds[1] === 1 && p.source)).toBe(true);
    expect(BUCKET.states.map((s) => s.name)).toEqual(['C', 'S', 'G', 'X']);
  });

  it('closes the water balance to 1e-9 of total P on random fractions; stores stay non-negative', () => {
    const { P, f } = randomCase(7, 3, 2000);
    const o: BucketOptions = { initial: [1, 50, 100, 3] };
    const r = runBucket(P, f, 3, 2000, o);
    const wb = waterBalance(P, r, o);
    expect(wb.totalP).toBeGreaterThan(1000);
    expect(wb.closure).toBeLessThan(1e-9);
    expect(wb.maxAbsStep / (wb.totalP / 6000)).toBeLessThan(1e-9);
    for (const s of [r.C, r.S, r.G, r.X]) expect(Math.min(...s)).toBeGreaterThanOrEqual(0);
    // no flux exceeds what was there: interception ≤ P, outflow ≤ routing store + its inflows
    for (let i = 0; i < P.length; i++) expect(r.I[i]!).toBeLessThanOrEqual(P[i]! + 1e-12);
    expect(r.residual.every((v) => v === 0)).toBe(true);
  });

  it('amounts mode: the residual is exactly the water the outlet over-draws, and the balance holds with it', () => {
    const { P, f } = randomCase(11, 1, 1500);
    const o: BucketOptions = { mode: 'amounts', qMax: 6 };
    const r = runBucket(P, f, 1, 1500, o);
    const wb = waterBalance(P, r, o);
    let sumR = 0;
    for (const v of r.residual) sumR += v;
    expect(sumR).toBeLessThan(-1); // random amounts over-draw the store
    expect(Math.abs(wb.residualSum - sumR)).toBeLessThan(1e-9 * wb.totalP);
    expect(Math.min(...r.X)).toBeGreaterThanOrEqual(0);
  });

  for (const mode of ['fractions', 'amounts'] as const)
    it(`adjoint matches central finite differences (${mode})`, () => {
      const b = 2;
      const s = 120;
      const { P, f, rand } = randomCase(mode === 'amounts' ? 5 : 3, b, s);
      const o: BucketOptions = { mode, qMax: 4, initial: [0.5, 20, 40, 2] };
      const w = [0, 1, 2].map(() => Float64Array.from({ length: b * s }, () => rand() - 0.3));
      const { r } = lossOf(P, f, b, s, w, o);
      const g = bucketAdjoint(
        P,
        f,
        b,
        s,
        {
          Q: w[0],
          ET: w[1],
          residual: Float64Array.from(r.residual, (v, i) => 2 * w[2]![i]! * v),
        },
        o,
      );
      let checked = 0;
      let worst = 0;
      const scale = g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      for (let j = 0; j < f.length; j += 7) {
        const h = 1e-6;
        const fp = f.slice();
        const fm = f.slice();
        fp[j]! += h;
        fm[j]! -= h;
        const fd = (lossOf(P, fp, b, s, w, o).L - lossOf(P, fm, b, s, w, o).L) / (2 * h);
        // central differences carry ~1e-16·|L|/h of round-off: compare against the gradient's scale
        worst = Math.max(worst, Math.abs(fd - g[j]!) / (Math.abs(fd) + 1e-2 * scale));
        checked++;
      }
      expect(checked).toBeGreaterThan(250);
      expect(worst).toBeLessThan(1e-5);
    });
});
