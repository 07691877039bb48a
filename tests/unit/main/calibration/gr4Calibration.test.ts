import { describe, expect, it } from 'vitest';
import { sceUa } from '../../../../src-main/services/calibration/optim/sceUa';
import { initialState, runGr4 } from '../../../../src-main/services/physics/gr4/forward';
import { nse } from '../../../../src-main/services/metrics';
import { airgrReferencePeriod } from '../../../helpers/airgr';
import { calibrateGr4Gradient } from '../../../../src-main/services/calibration/methods/gradient/lumped';

/** Standard test functions with known global optima (Duan et al. 1993). */
const rosenbrock = (x: Float64Array) => 100 * (x[1]! - x[0]! ** 2) ** 2 + (1 - x[0]!) ** 2;
const goldsteinPrice = (x: Float64Array) => {
  const [a, b] = [x[0]!, x[1]!];
  return (
    (1 + (a + b + 1) ** 2 * (19 - 14 * a + 3 * a * a - 14 * b + 6 * a * b + 3 * b * b)) *
    (30 + (2 * a - 3 * b) ** 2 * (18 - 32 * a + 12 * a * a + 48 * b - 36 * a * b + 27 * b * b))
  );
};
const griewank = (x: Float64Array) => {
  let s = 0;
  let p = 1;
  x.forEach((v, i) => {
    s += (v * v) / 4000;
    p *= Math.cos(v / Math.sqrt(i + 1));
  });
  return 1 + s - p;
};

describe('SCE-UA', () => {
  it('finds the global optimum of Rosenbrock, Goldstein-Price and Griewank within 1e-4', () => {
    const r = sceUa(rosenbrock, [-5, -5], [5, 5], { complexes: 4, maxRuns: 20000, pcento: 0, peps: 1e-7 });
    expect(r.objective).toBeLessThan(1e-4);
    expect(Math.abs(r.best[0]! - 1)).toBeLessThan(1e-2);
    const g = sceUa(goldsteinPrice, [-2, -2], [2, 2], {
      complexes: 4,
      maxRuns: 20000,
      pcento: 0,
      peps: 1e-7,
    });
    expect(Math.abs(g.objective - 3)).toBeLessThan(1e-4);
    const w = sceUa(griewank, [-600, -600], [600, 600], {
      complexes: 5,
      maxRuns: 50000,
      pcento: 0,
      peps: 1e-9,
    });
    expect(w.objective).toBeLessThan(1e-4);
  });

  it('is reproducible from its seed and refuses reversed bounds', () => {
    const a = sceUa(rosenbrock, [-5, -5], [5, 5], { seed: 7, maxRuns: 500 });
    const b = sceUa(rosenbrock, [-5, -5], [5, 5], { seed: 7, maxRuns: 500 });
    expect(Array.from(a.best)).toEqual(Array.from(b.best));
    expect(() => sceUa(rosenbrock, [1, -5], [-1, 5])).toThrow(/reversed/);
  });

  it("calibrates GR4J on airGR L0123001 (1990-1999, warm-up 1989) to NSE >= 0.7988, airGR's own result", () => {
    const { P, E, obs, warmup } = airgrReferencePeriod();
    const objective = (x: Float64Array) => {
      const p = { X1: x[0]!, X2: x[1]!, X3: x[2]!, X4: x[3]! };
      const q = runGr4(p, P, E, initialState(p.X1, p.X3)).Q.subarray(warmup);
      return 1 - nse(obs, q).value;
    };
    // bounds wide enough to hold airGR's optimum (X1 257, X2 1.01, X3 88, X4 2.21)
    const r = sceUa(objective, [10, -5, 10, 0.5], [2500, 5, 1000, 10], { complexes: 4, seed: 1 });
    const best = 1 - r.objective;
    expect(best).toBeGreaterThanOrEqual(0.7988);
    expect(r.runs).toBeLessThanOrEqual(2000 + 10);
  });
});

describe('gradient calibration (BFGS on the exact adjoint)', () => {
  it('calibrates GR4J on L0123001 to NSE >= 0.7988 in a few dozen evaluations', () => {
    const r = calibrateGr4Gradient(airgrReferencePeriod());
    expect(r.nse).toBeGreaterThanOrEqual(0.7988);
    expect(r.converged).toBe(true);
    expect(r.evaluations).toBeLessThan(60);
    // the optimum airGR reports
    expect(Math.abs(r.params.X1 - 257.24) / 257.24).toBeLessThan(0.01);
    expect(Math.abs(r.params.X4 - 2.208)).toBeLessThan(0.01);
  });
});
