import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FieldcalError } from '../../../../src-shared/ipc';
import { applyTransfer, coefficientBounds } from '../../../../src-main/services/calibration/gridded/mpr';
import {
  objectiveOf,
  rangePenalty,
  TargetLoss,
} from '../../../../src-main/services/calibration/gridded/objectives';
import { checkProblem, fullParams } from '../../../../src-main/services/calibration/gridded/problem';
import { forcingUntil, LocalSimulator } from '../../../../src-main/services/calibration/gridded/simulator';
import { methodOptions } from '../../../../src-main/services/calibration/registry';
import {
  makeTwin,
  oudinPet,
  extraterrestrialRadiation,
} from '../../../../src-main/services/calibration/twin/generate';
import { ModelPool } from '../../../../src-main/services/jobs/modelPool';
import { runVic3l, VIC3L } from '../../../../src-main/services/physics/vic3l';

// a small twin keeps these unit tests fast; the paper-size case is in tests/integration
const twin = makeTwin({ rows: 8, cols: 10, seed: 3, years: { warmup: 1, train: 1, valid: 1, test: 1 } });
const pr = twin.problem;

describe('twin generator', () => {
  it('is reproducible from its seed and changes with it', () => {
    const again = makeTwin({ rows: 8, cols: 10, seed: 3, years: { warmup: 1, train: 1, valid: 1, test: 1 } });
    expect(again.problem.target.obs).toEqual(pr.target.obs);
    expect(again.truth).toEqual(twin.truth);
    const other = makeTwin({ rows: 8, cols: 10, seed: 4, years: { warmup: 1, train: 1, valid: 1, test: 1 } });
    expect(other.problem.target.obs).not.toEqual(pr.target.obs);
  });

  it('has standardised descriptors, true fields inside the inner 80 % of the bounds, and periods that tile the run', () => {
    const nd = pr.descriptorNames.length;
    for (let j = 0; j < nd; j++) {
      let m = 0;
      let v = 0;
      for (let c = 0; c < pr.cells; c++) m += pr.descriptors[c * nd + j]!;
      m /= pr.cells;
      for (let c = 0; c < pr.cells; c++) v += (pr.descriptors[c * nd + j]! - m) ** 2;
      expect(Math.abs(m)).toBeLessThan(1e-12);
      expect(Math.sqrt(v / pr.cells)).toBeCloseTo(1, 10);
    }
    pr.calibrated.forEach((name, k) => {
      const [lo, hi] = VIC3L.parameters.find((p) => p.name === name)!.bounds;
      for (const x of twin.truth[k]!) {
        expect(x).toBeGreaterThanOrEqual(lo + 0.1 * (hi - lo) - 1e-12);
        expect(x).toBeLessThanOrEqual(hi - 0.1 * (hi - lo) + 1e-12);
      }
    });
    expect(pr.periods).toEqual({
      warmup: [0, 365],
      train: [365, 730],
      valid: [730, 1095],
      test: [1095, 1460],
    });
    expect(() => checkProblem(pr)).not.toThrow();
  });

  it('observations are the true-parameter model plus noise of the requested size (5 % of mean ET)', () => {
    const et = runVic3l(fullParams(pr, twin.truth), pr.forcing, pr.steps, { outputs: ['ET'] }).outputs.ET!;
    expect(et).toEqual(twin.etTrue);
    let mean = 0;
    for (const v of et) mean += v;
    mean /= et.length;
    let sse = 0;
    let n = 0;
    for (let i = 0; i < et.length; i++) {
      if (pr.target.obs[i]! === 0) continue; // clipped at zero
      sse += (pr.target.obs[i]! - et[i]!) ** 2;
      n++;
    }
    expect(Math.sqrt(sse / n) / mean).toBeGreaterThan(0.045);
    expect(Math.sqrt(sse / n) / mean).toBeLessThan(0.055);
  });

  it('uses FAO-56 extraterrestrial radiation and Oudin PET', () => {
    // FAO-56 example 8: 20 °S, 3 September (day 246): Ra = 32.2 MJ m-2 d-1
    expect(extraterrestrialRadiation(-20, 246)).toBeCloseTo(32.2, 1);
    expect(oudinPet(24.5, 15)).toBeCloseTo(2, 10);
    expect(oudinPet(30, -6)).toBe(0);
  });

  it('refuses bad settings with typed errors', () => {
    expect(() => makeTwin({ rows: 2 })).toThrow(FieldcalError);
    expect(() => makeTwin({ noise: -1 })).toThrow(/noise/);
  });
});

describe('gridded objectives', () => {
  const n = pr.cells;
  const obs = Float64Array.from(pr.target.obs);
  // some missing observations
  for (let i = 0; i < obs.length; i += 37) obs[i] = Number.NaN;

  it('spatial RMSE (Dembélé et al. 2020) and cell MSE match their definitions on a hand example', () => {
    // 2 steps x 2 cells: errors (1, 3) then (0, NaN-masked)
    const sim = Float64Array.from([1, 3, 5, 7]);
    const o = Float64Array.from([0, 0, 5, Number.NaN]);
    expect(objectiveOf('spatial-rmse', sim, o, 0, 2, 2)).toBeCloseTo((Math.sqrt((1 + 9) / 2) + 0) / 2, 14);
    expect(objectiveOf('cell-mse', sim, o, 0, 2, 2)).toBeCloseTo((1 + 9 + 0) / 3, 14);
  });

  for (const kind of ['spatial-rmse', 'cell-mse'] as const) {
    it(`${kind}: the adjoint gradient through vic3l matches finite differences`, () => {
      const fields = twin.truth.map((f, k) =>
        Float64Array.from(f, (v) => v + 0.05 * (pr.upper[k]! - pr.lower[k]!)),
      );
      const t1 = 500;
      const loss = (f: Float64Array[]) =>
        objectiveOf(
          kind,
          runVic3l(fullParams(pr, f), forcingUntil(pr, t1), t1, { outputs: ['ET'] }).outputs
            .ET! as Float64Array,
          obs,
          365,
          t1,
          n,
        );
      const sim = new LocalSimulator({ ...pr, target: { name: 'ET', obs } });
      const { f, g } = sim.lossGrad(fullParams(pr, fields), kind, 365, t1);
      expect(f).toBeCloseTo(loss(fields), 12);
      for (const [k, name] of pr.calibrated.entries()) {
        for (const c of [0, 17, n - 1]) {
          const h = 1e-6 * (pr.upper[k]! - pr.lower[k]!);
          const plus = fields.map((a) => Float64Array.from(a));
          plus[k]![c]! += h;
          const minus = fields.map((a) => Float64Array.from(a));
          minus[k]![c]! -= h;
          const fd = (loss(plus) - loss(minus)) / (2 * h);
          const ad = g[name][c]!;
          expect(
            Math.abs(fd - ad) / Math.max(Math.abs(fd), 1e-9),
            `${name}[${c}] ${ad} vs ${fd}`,
          ).toBeLessThan(1e-4);
        }
      }
    });
  }

  it('range penalty L_R (Sun et al. 2024 eq. 2): mean excess over the values that exceed each bound, with its gradient', () => {
    const g = [new Float64Array(3), new Float64Array(3)];
    const v = rangePenalty(
      [Float64Array.from([0.5, 1.5, -1]), Float64Array.from([2, 3, 4])],
      [0, 2],
      [1, 3],
      g,
    );
    // above: 0.5 (1.5 over 1) and 1 (4 over 3), L_ub = 1.5 / 2; below: 1 (-1 under 0), L_lb = 1 / 1
    expect(v).toBeCloseTo(0.75 + 1, 14);
    expect(Array.from(g[0]!)).toEqual([0, 1 / 2, -1]);
    expect(Array.from(g[1]!)).toEqual([0, 0, 1 / 2]);
    // nothing outside: 0, and no gradient
    const g0 = [new Float64Array(2)];
    expect(rangePenalty([Float64Array.from([0.2, 0.8])], [0], [1], g0)).toBe(0);
    expect(Array.from(g0[0]!)).toEqual([0, 0]);
  });

  it('TargetLoss ignores steps outside its period', () => {
    const l = new TargetLoss('spatial-rmse', 'ET', 5, 6, () => 1, 2);
    l.forward(4, { ET: Float64Array.from([9, 9]) });
    l.forward(5, { ET: Float64Array.from([1, 3]) });
    l.afterForward();
    expect(l.value).toBeCloseTo(Math.sqrt(2), 14);
  });
});

describe('MPR transfer functions', () => {
  it('keep every parameter inside its bounds over the whole coefficient box (sigmoid and clamped linear)', () => {
    for (const kind of ['sigmoid', 'linear', 'uniform'] as const) {
      const { lower, upper } = coefficientBounds(pr, kind);
      for (const corner of [lower, upper, lower.map((l, i) => (i % 2 ? l : upper[i]!))]) {
        const fields = applyTransfer(pr, kind, corner);
        fields.forEach((f, k) => {
          for (const x of f) {
            expect(x).toBeGreaterThanOrEqual(pr.lower[k]!);
            expect(x).toBeLessThanOrEqual(pr.upper[k]!);
          }
        });
      }
    }
  });

  it('the uniform transfer gives one value per parameter; the sigmoid one follows the descriptors', () => {
    const m = 1;
    const coef = pr.calibrated.map(() => 0.5);
    const uni = applyTransfer(pr, 'uniform', coef);
    expect(new Set(uni[0]).size).toBe(m);
    const nd = pr.descriptorNames.length;
    const sig = pr.calibrated.flatMap(() => [0, 1, ...Array(nd - 1).fill(0)]);
    const f = applyTransfer(pr, 'sigmoid', sig)[0]!;
    // increasing in the first descriptor
    const d0 = Array.from({ length: pr.cells }, (_, c) => pr.descriptors[c * nd]!);
    const i = d0.indexOf(Math.min(...d0));
    const j = d0.indexOf(Math.max(...d0));
    expect(f[j]!).toBeGreaterThan(f[i]!);
  });
});

describe('method options', () => {
  it('are strict and filled with their defaults (2000 SCE-UA runs as in Sun et al. 2024)', () => {
    expect(methodOptions('sce-ua', 'gridded', {})).toMatchObject({
      maxRuns: 2000,
      transfer: 'sigmoid',
      objective: 'spatial-rmse',
    });
    expect(methodOptions('dpl', 'gridded', {})).toMatchObject({ window: 30, batchCells: 64 });
    expect(() => methodOptions('dpl', 'gridded', { epoch: 3 })).toThrow(/options: \(root\)|epoch/);
    let err: unknown;
    try {
      methodOptions('ann', 'gridded', { learningRate: -1 });
    } catch (e) {
      err = e;
    }
    expect((err as FieldcalError).details).toMatchObject({ field: 'options.learningRate' });
  });
});

describe('model pool (cells spread over worker threads)', () => {
  let pool: ModelPool;
  beforeAll(async () => {
    pool = await ModelPool.create(pr, 2);
  });
  afterAll(() => pool.close());

  it('gives the same forward run and the same objective and gradient as the calling thread', () => {
    const local = new LocalSimulator(pr);
    const p = fullParams(pr, twin.truth);
    expect(pool.threads).toBe(2);
    expect(pool.run(p, 800)).toEqual(local.run(p, 800));
    for (const kind of ['spatial-rmse', 'cell-mse'] as const) {
      const a = pool.lossGrad(p, kind, 365, 800);
      const b = local.lossGrad(p, kind, 365, 800);
      expect(Math.abs(a.f - b.f) / b.f).toBeLessThan(1e-12);
      for (const name of pr.calibrated)
        for (let c = 0; c < pr.cells; c++)
          expect(Math.abs(a.g[name][c]! - b.g[name][c]!)).toBeLessThanOrEqual(
            1e-10 * Math.max(1, Math.abs(b.g[name][c]!)),
          );
    }
  });
});

describe('soil-moisture target (layer 1 volumetric water content)', () => {
  const smTwin = makeTwin({
    rows: 6,
    cols: 8,
    seed: 5,
    years: { warmup: 1, train: 1, valid: 1, test: 1 },
    target: 'SM',
  });
  const p = smTwin.problem;

  it('observes W1 / (1000 d1) of the true run plus noise, in (0, porosity]', () => {
    expect(p.target.name).toBe('SM');
    const w1 = runVic3l(fullParams(p, smTwin.truth), p.forcing, p.steps, { outputs: ['W1'] }).outputs.W1!;
    w1.forEach((v, i) => expect(smTwin.etTrue[i]).toBeCloseTo(v / 100, 12));
    for (const v of smTwin.etTrue) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(0.43 + 1e-12);
    }
  });

  it('its objective gradient through vic3l matches finite differences, and the pool agrees with the calling thread', async () => {
    const fields = smTwin.truth.map((f, k) =>
      Float64Array.from(f, (v) => v + 0.04 * (p.upper[k]! - p.lower[k]!)),
    );
    const sim = new LocalSimulator(p);
    const t1 = 600;
    const { f, g } = sim.lossGrad(fullParams(p, fields), 'spatial-rmse', 365, t1);
    const loss = (ff: Float64Array[]) =>
      objectiveOf('spatial-rmse', sim.run(fullParams(p, ff), t1), p.target.obs, 365, t1, p.cells);
    expect(f).toBeCloseTo(loss(fields), 12);
    for (const [k, name] of p.calibrated.entries()) {
      const c = 3;
      const h = 1e-6 * (p.upper[k]! - p.lower[k]!);
      const plus = fields.map((a) => Float64Array.from(a));
      plus[k]![c]! += h;
      const minus = fields.map((a) => Float64Array.from(a));
      minus[k]![c]! -= h;
      const fd = (loss(plus) - loss(minus)) / (2 * h);
      expect(
        Math.abs(fd - g[name][c]!) / Math.max(Math.abs(fd), 1e-9),
        `${name}: ${g[name][c]} vs ${fd}`,
      ).toBeLessThan(1e-4);
    }
    const pool = await ModelPool.create(p, 2);
    try {
      expect(pool.run(fullParams(p, fields), t1)).toEqual(sim.run(fullParams(p, fields), t1));
      const a = pool.lossGrad(fullParams(p, fields), 'spatial-rmse', 365, t1);
      expect(Math.abs(a.f - f) / f).toBeLessThan(1e-12);
    } finally {
      pool.close();
    }
  });
});
