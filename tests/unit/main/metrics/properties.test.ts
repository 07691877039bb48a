import { describe, expect, it } from 'vitest';
import {
  eofScores,
  fssPercentile,
  kge,
  nse,
  ssim,
  summaryTable,
  cellMaps,
  rmseChange,
} from '../../../../src-main/services/metrics';

let seed = 42;
const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
const field = (n: number) => Float64Array.from({ length: n }, () => rand() * 10);

describe('metric properties', () => {
  const rows = 17;
  const cols = 24;
  const steps = 6;
  const o = field(rows * cols * steps);

  it('a perfect simulation scores NSE = KGE = SSIM = FSS = 1 and EOF = 0', () => {
    expect(nse(o, o).value).toBe(1);
    expect(kge(o, o).value).toBeCloseTo(1, 14);
    const f = o.subarray(0, rows * cols);
    expect(ssim(f, f, rows, cols, { dataRange: 10 })).toBeCloseTo(1, 14);
    for (const p of [50, 90]) for (const s of [1, 5]) expect(fssPercentile(f, f, rows, cols, p, s)).toBe(1);
    for (const v of eofScores(o, o, steps, rows * cols)) expect(v).toBeLessThan(1e-12);
  });

  it('FSS at percentile thresholds and the EOF score ignore a constant bias; SSIM does not (its luminance term)', () => {
    const s = Float64Array.from(o, (v, i) => v + Math.sin(i));
    const biased = Float64Array.from(s, (v) => v + 3.5);
    const f = o.subarray(0, rows * cols);
    const sf = s.subarray(0, rows * cols);
    const bf = biased.subarray(0, rows * cols);
    for (const p of [50, 75, 90, 95])
      for (const sc of [1, 3, 9])
        expect(fssPercentile(f, bf, rows, cols, p, sc)).toBe(fssPercentile(f, sf, rows, cols, p, sc));
    const e1 = eofScores(o, s, steps, rows * cols);
    const e2 = eofScores(o, biased, steps, rows * cols);
    e1.forEach((v, i) => expect(Math.abs(v - e2[i]!)).toBeLessThan(1e-12));
    expect(ssim(f, bf, rows, cols, { dataRange: 10 })).toBeLessThan(
      ssim(f, sf, rows, cols, { dataRange: 10 }),
    );
  });

  it('masks change results only through the cells they remove', () => {
    const cells = rows * cols;
    const s = Float64Array.from(o, (v, i) => v * 0.9 + (i % 7));
    const mask = new Uint8Array(cells).fill(1);
    for (let c = 0; c < cells; c += 5) mask[c] = 0;
    // the masked summary equals the summary of the same cells with the others set to NaN
    const sNaN = Float64Array.from(s, (v, i) => (mask[i % cells] ? v : Number.NaN));
    const withMask = cellMaps(o, s, steps, cells, mask);
    const withNaN = cellMaps(o, sNaN, steps, cells);
    for (let c = 0; c < cells; c++) {
      if (mask[c]) expect(withMask.rmse[c]).toBe(withNaN.rmse[c]);
      else expect(withMask.rmse[c]).toBeNaN();
    }
    const all = summaryTable({
      obs: o,
      sim: s,
      simDefault: o.map((v) => v + 1),
      steps,
      grid: { rows, cols, mask: null },
    });
    const masked = summaryTable({
      obs: o,
      sim: s,
      simDefault: o.map((v) => v + 1),
      steps,
      grid: { rows, cols, mask },
    });
    expect(masked.cells).toBe(mask.reduce((a, b) => a + b, 0));
    expect(all.cells).toBe(cells);
    expect(masked.pctCcAbove075).not.toBe(all.pctCcAbove075);
  });

  it('relative RMSE change: positive where the calibration improved, NaN where the default was perfect', () => {
    expect(Array.from(rmseChange([2, 1, 0], [1, 2, 0]))).toEqual([0.5, -1, Number.NaN]);
  });
});

describe('joint-EOF decomposition paths', () => {
  it('gives the same scores from A Aᵀ and from Aᵀ A (more maps than cells)', () => {
    const steps = 40;
    const cells = 30;
    const o = field(steps * cells);
    const s = Float64Array.from(o, (v, i) => v + 2 * Math.sin(i / 3));
    const a = eofScores(o, s, steps, cells, 'outer');
    const b = eofScores(o, s, steps, cells, 'inner');
    a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThan(1e-9 * Math.abs(v) + 1e-13));
  });
});
