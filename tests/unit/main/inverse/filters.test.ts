import { describe, expect, it } from 'vitest';
import {
  averageRanks,
  budykoCheck,
  filterOptionsSchema,
  fuEvaporativeIndex,
  spearman,
  vegetationCheck,
  vegetationIndex,
} from '../../../../src-main/services/calibration/inverse/filters';

const o = filterOptionsSchema.parse({});

describe("Budyko filter (Fu's curve)", () => {
  it("evaluates Fu's equation: ω = 2 at φ = 1 is 2 - √2; the curve meets its limits", () => {
    expect(fuEvaporativeIndex(1, 2)).toBeCloseTo(2 - Math.SQRT2, 14);
    // energy-limited (φ → 0): ET/P → φ; water-limited (φ large): ET/P → 1
    expect(fuEvaporativeIndex(0.01, 2.6)).toBeCloseTo(0.01, 4);
    expect(fuEvaporativeIndex(50, 2.6)).toBeCloseTo(1, 2);
  });

  it('refuses a candidate far off the curve and keeps one on it', () => {
    // φ = PET/P = 1: Fu's band for ω in [1.5, 4] is [0.480, 0.811]
    const far = budykoCheck({ P: 1000, PET: 1000, ET: 100 }, o.budyko);
    expect(far.aridity).toBe(1);
    expect(far.band[0]).toBeCloseTo(2 - 2 ** (1 / 1.5), 12);
    expect(far.band[1]).toBeCloseTo(2 - 2 ** (1 / 4), 12);
    expect(far.pass).toBe(false);
    expect(budykoCheck({ P: 1000, PET: 1000, ET: 950 }, o.budyko).pass).toBe(false);
    expect(budykoCheck({ P: 1000, PET: 1000, ET: 2 - 2 ** (1 / 2.6) }, o.budyko).pass).toBe(false);
    expect(budykoCheck({ P: 1000, PET: 1000, ET: 1000 * (2 - 2 ** (1 / 2.6)) }, o.budyko).pass).toBe(true);
    // within the tolerance just below the band, outside it just beyond
    expect(budykoCheck({ P: 1, PET: 1, ET: far.band[0] - 0.049 }, o.budyko).pass).toBe(true);
    expect(budykoCheck({ P: 1, PET: 1, ET: far.band[0] - 0.051 }, o.budyko).pass).toBe(false);
    // disabled: everything passes
    expect(budykoCheck({ P: 1, PET: 1, ET: 0 }, { ...o.budyko, enabled: false }).pass).toBe(true);
  });

  it('refuses a period without rain and a reversed ω band', () => {
    expect(() => budykoCheck({ P: 0, PET: 1, ET: 0 }, o.budyko)).toThrow(/needs rain/);
    expect(() => filterOptionsSchema.parse({ budyko: { omegaMin: 3, omegaMax: 2 } })).toThrow(/omegaMax/);
  });
});

describe('vegetation-CN filter (Spearman)', () => {
  it('ranks ties by their average and gives scipy.stats.spearmanr values', () => {
    expect(Array.from(averageRanks([10, 20, 20, 30]))).toEqual([1, 2.5, 2.5, 4]);
    // scipy.stats.spearmanr([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) = 0.8207826816681233
    expect(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7])).toBeCloseTo(0.8207826816681233, 12);
    expect(spearman([1, 2, 3], [9, 4, 1])).toBeCloseTo(-1, 14);
  });

  it('refuses a positive correlation and a constant CN field, keeps a negative one', () => {
    const veg = [0.1, 0.4, 0.2, 0.9, 0.6, 0.3];
    const up = veg.map((v) => 60 + 30 * v);
    const down = veg.map((v) => 90 - 30 * v + (v === 0.2 ? 5 : 0));
    expect(vegetationCheck(veg, up, o.vegetation)).toEqual({ pass: false, rho: 1 });
    const d = vegetationCheck(veg, down, o.vegetation);
    expect(d.pass).toBe(true);
    expect(d.rho).toBeLessThan(-0.8);
    expect(
      vegetationCheck(
        veg,
        veg.map(() => 75),
        o.vegetation,
      ).pass,
    ).toBe(false);
  });

  it('finds NDVI by itself, a named descriptor, and names the choices when neither is there', () => {
    expect(vegetationIndex(['slope', 'NDVI_mean'], 'auto')).toBe(1);
    expect(vegetationIndex(['slope', 'woodland'], 'woodland')).toBe(1);
    expect(() => vegetationIndex(['slope', 'woodland'], 'auto')).toThrow(
      /no NDVI descriptor \(slope, woodland\)/,
    );
    expect(() => vegetationIndex(['slope'], 'forest')).toThrow(/no descriptor forest/);
  });
});
