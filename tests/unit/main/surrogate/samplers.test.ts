import { describe, expect, it } from 'vitest';
import { FieldcalError } from '../../../../src-shared/ipc';
import {
  kenslerPermute,
  makeSampler,
  SOBOL_MAX_DIMS,
  sobolPoints,
} from '../../../../src-main/services/surrogate/samplers';
import { SAMPLERS, type Sampler } from '../../../../src-main/services/surrogate/types';

const lower = [0.001, 0.0001, 0.1, 0.1, 0.1, 0.1, 4];
const upper = [0.4, 1, 30, 0.99, 1.5, 1.5, 30];
const setup = (sampler: Sampler, members: number, seed = 7, cells = 11) => ({
  sampler,
  seed,
  members,
  cells,
  lower,
  upper,
});
const all = (draw: (m: number) => Float64Array[], n: number) => Array.from({ length: n }, (_, m) => draw(m));
/** Position of a value in [0, 1) of its parameter's range. */
const unit = (v: number, p: number) => (v - lower[p]!) / (upper[p]! - lower[p]!);

describe('ensemble samplers', () => {
  it.each(SAMPLERS)('%s: within the bounds, seeded, each member drawn on its own', (sampler) => {
    const draws = all(makeSampler(setup(sampler, 40)), 40);
    for (const fields of draws) {
      expect(fields).toHaveLength(7);
      fields.forEach((f, p) => {
        expect(f).toHaveLength(11);
        for (const v of f) {
          expect(v).toBeGreaterThanOrEqual(lower[p]!);
          expect(v).toBeLessThanOrEqual(upper[p]!);
        }
      });
    }
    // same seed → same draws, whatever order members are asked in
    const again = makeSampler(setup(sampler, 40));
    expect(again(33)).toEqual(draws[33]);
    expect(again(0)).toEqual(draws[0]);
    // another seed → other draws
    expect(makeSampler(setup(sampler, 40, 8))(0)[0]).not.toEqual(draws[0]![0]);
    // cells differ (fields are not one multiplier spread over the grid)
    expect(new Set(draws[3]![2]).size).toBe(11);
  });

  it('uniform-cell: uniform over the range (mean of positions 0.5, quarters a quarter each)', () => {
    const draws = all(makeSampler(setup('uniform-cell', 400)), 400);
    const u = draws.flatMap((fs) => fs.flatMap((f, p) => Array.from(f, (v) => unit(v, p))));
    expect(u).toHaveLength(400 * 7 * 11);
    const mean = u.reduce((a, b) => a + b, 0) / u.length;
    // standard error of the mean 0.289 / sqrt(30800) = 0.0016
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01);
    for (let q = 0; q < 4; q++) {
      const share = u.filter((x) => x >= q / 4 && x < (q + 1) / 4).length / u.length;
      expect(Math.abs(share - 0.25)).toBeLessThan(0.015);
    }
  });

  it('lhs: at every cell, each parameter has one member in each of the N strata', () => {
    for (const n of [7, 50, 64]) {
      const draws = all(makeSampler(setup('lhs', n)), n);
      for (let c = 0; c < 11; c++)
        for (let p = 0; p < 7; p++) {
          const strata = draws.map((fs) => Math.floor(unit(fs[p]![c]!, p) * n)).sort((a, b) => a - b);
          expect(strata).toEqual(Array.from({ length: n }, (_, i) => i));
        }
    }
  });

  it('sobol: the first points are the published sequence (Joe & Kuo 2008, new-joe-kuo-6.21201, Gray-code order)', () => {
    // as printed by Joe & Kuo's sobol.cc and scipy.stats.qmc.Sobol(d=8, scramble=False).random(8)
    const published = [
      [0, 0, 0, 0, 0, 0, 0, 0],
      [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5],
      [0.75, 0.25, 0.25, 0.25, 0.75, 0.75, 0.25, 0.75],
      [0.25, 0.75, 0.75, 0.75, 0.25, 0.25, 0.75, 0.25],
      [0.375, 0.375, 0.625, 0.875, 0.375, 0.125, 0.375, 0.875],
      [0.875, 0.875, 0.125, 0.375, 0.875, 0.625, 0.875, 0.375],
      [0.625, 0.125, 0.875, 0.625, 0.625, 0.875, 0.125, 0.125],
      [0.125, 0.625, 0.375, 0.125, 0.125, 0.375, 0.625, 0.625],
      [0.1875, 0.3125, 0.9375, 0.4375, 0.5625, 0.3125, 0.4375, 0.9375],
      [0.6875, 0.8125, 0.4375, 0.9375, 0.0625, 0.8125, 0.9375, 0.4375],
    ];
    const pts = sobolPoints(10, 8);
    expect(Array.from({ length: 10 }, (_, i) => Array.from(pts.subarray(i * 8, (i + 1) * 8)))).toEqual(
      published,
    );
    // dimensions 14 and 21 (the last embedded), 16 points: scipy.stats.qmc.Sobol(d=21, scramble=False)
    const pts21 = sobolPoints(16, SOBOL_MAX_DIMS);
    const dim = (d: number) => Array.from({ length: 16 }, (_, i) => pts21[i * SOBOL_MAX_DIMS + d - 1]! * 16);
    expect(dim(14)).toEqual([0, 8, 4, 12, 10, 2, 14, 6, 15, 7, 11, 3, 5, 13, 1, 9]);
    expect(dim(21)).toEqual([0, 8, 4, 12, 2, 10, 6, 14, 3, 11, 7, 15, 1, 9, 5, 13]);
  });

  it('sobol scrambled: each cell keeps the net: one member per 1/64 of every parameter, and per 1/8 x 1/8 of the first two', () => {
    const n = 64;
    const draws = all(makeSampler(setup('sobol', n, 3)), n);
    for (let c = 0; c < 11; c++) {
      for (let p = 0; p < 7; p++) {
        const strata = draws.map((fs) => Math.floor(unit(fs[p]![c]!, p) * n)).sort((a, b) => a - b);
        expect(strata).toEqual(Array.from({ length: n }, (_, i) => i));
      }
      // Sobol's first two dimensions form a (0, m, 2)-net: every 1/8 x 1/8 square holds one of 64 points
      const squares = draws.map(
        (fs) => Math.floor(unit(fs[0]![c]!, 0) * 8) * 8 + Math.floor(unit(fs[1]![c]!, 1) * 8),
      );
      expect(new Set(squares).size).toBe(64);
    }
    // scrambled: not the raw sequence (whose member 0 is the lower bound)
    expect(draws[0]![0]![0]).not.toBe(lower[0]);
  });

  it('kenslerPermute is a permutation of [0, l) for every l', () => {
    for (const l of [1, 2, 3, 17, 64, 400, 1000])
      for (const p of [0, 1, 0xdeadbeef]) {
        const seen = Array.from({ length: l }, (_, i) => kenslerPermute(i, l, p)).sort((a, b) => a - b);
        expect(seen).toEqual(Array.from({ length: l }, (_, i) => i));
      }
  });

  it('refuses what it cannot draw, naming the field', () => {
    const bad = (s: Parameters<typeof makeSampler>[0], field: string) => {
      try {
        makeSampler(s);
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(FieldcalError);
        expect((e as FieldcalError).details?.field).toBe(field);
      }
    };
    bad({ ...setup('sobol', 8), lower: Array(22).fill(0), upper: Array(22).fill(1) }, 'parameters');
    bad({ ...setup('lhs', 8), lower: [1, ...lower.slice(1)], upper: [0, ...upper.slice(1)] }, 'bounds[0]');
    bad({ ...setup('uniform-cell', 0) }, 'members');
    bad({ ...setup('uniform-cell', 4), seed: 1.5 }, 'seed');
    expect(() => makeSampler(setup('lhs', 4))(4)).toThrow(/member 4 is outside 0 .. 3/);
  });
});
