import { afterAll, describe, expect, it } from 'vitest';
import { FieldcalError } from '../../../../src-shared/ipc';
import {
  aggregateSim,
  targetStepsIn,
  targetWindow,
  type CoarseObs,
} from '../../../../src-main/services/calibration/gridded/coarse';
import {
  evaluateFields,
  defaultSimulation,
} from '../../../../src-main/services/calibration/gridded/evaluate';
import { targetObjective } from '../../../../src-main/services/calibration/gridded/objectives';
import {
  checkProblem,
  defaultFields,
  fullParams,
  restrictProblem,
  type GriddedProblem,
} from '../../../../src-main/services/calibration/gridded/problem';
import { LocalSimulator } from '../../../../src-main/services/calibration/gridded/simulator';
import type { GriddedContext } from '../../../../src-main/services/calibration/method';
import { dpl } from '../../../../src-main/services/calibration/methods/dpl';
import { perCellGradient } from '../../../../src-main/services/calibration/methods/gradient';
import { makeMonthlySmTwin } from '../../../../src-main/services/calibration/twin/monthly';
import { methodOptions } from '../../../../src-main/services/calibration/registry';
import { monthlyBins, monthlyMeans } from '../../../../src-main/services/datasets/coarseTarget';
import { ModelPool } from '../../../../src-main/services/jobs/modelPool';
import { dailyDates } from '../../../../src-main/services/calibration/gridded/periods';

const ctxOf = (sim: LocalSimulator | ModelPool) =>
  ({ sim, cancelled: () => false, progress: () => {} }) as unknown as GriddedContext;

describe('aggregation at the target step', () => {
  // 2 cells, 6 model steps: steps 0-1 in target step 0, 2-4 in 1, 5 in none
  const c: CoarseObs = {
    bins: Int32Array.from([0, 0, 1, 1, 1, -1]),
    values: Float64Array.from([1, 2, 3, Number.NaN]),
    rule: 'mean',
  };
  const sim = Float64Array.from([1, 10, 3, 20, 2, 30, 4, 40, 6, 50, 9, 90]);

  it('averages (mean) or adds (sum) the model steps of each target step', () => {
    expect(Array.from(aggregateSim(sim, 2, c, [0, 1]))).toEqual([2, 15, 4, 40]);
    expect(Array.from(aggregateSim(sim, 2, { ...c, rule: 'sum' }, [0, 1]))).toEqual([4, 30, 12, 120]);
  });

  it('counts a target step in a period only when all its model steps are in it', () => {
    expect(targetStepsIn(c, 2, 0, 6)).toEqual([0, 1]);
    expect(targetStepsIn(c, 2, 1, 6)).toEqual([1]);
    expect(targetStepsIn(c, 2, 0, 4)).toEqual([0]);
    expect(targetStepsIn(c, 2, 1, 4)).toEqual([]);
    const w = targetWindow({ name: 'SM', obs: new Float64Array(12), coarse: c }, sim, 0, 6, 2);
    expect(w.steps).toBe(2);
    expect(Array.from(w.obs)).toEqual([1, 2, 3, Number.NaN]);
    // cell-mse over observed values: ((2-1)² + (15-2)² + (4-3)²) / 3
    expect(
      targetObjective('cell-mse', { name: 'SM', obs: new Float64Array(12), coarse: c }, sim, 0, 6, 2),
    ).toBe((1 + 169 + 1) / 3);
  });

  it('bins days into the calendar months the days wholly cover', () => {
    const dates = dailyDates('2001-01-15', '2001-04-30');
    const months = [Date.UTC(2001, 1, 1), Date.UTC(2001, 2, 1), Date.UTC(2001, 3, 1)].map((t) => new Date(t));
    const bins = monthlyBins(dates, months, 86400);
    // January is cut (starts on the 15th): -1; February 28 days, March 31, April 30
    expect(bins.slice(0, 17).every((k) => k === -1)).toBe(true);
    expect([0, 1, 2].map((k) => bins.filter((b) => b === k).length)).toEqual([28, 31, 30]);
    const m = monthlyMeans(
      Float64Array.from(dates, (_, t) => t),
      1,
      dates,
    );
    // February: days 17 .. 44 → mean 30.5
    expect(m.months.map((d) => d.toISOString().slice(0, 7))).toEqual(['2001-02', '2001-03', '2001-04']);
    expect(m.values[0]).toBe(30.5);
  });
});

describe('a monthly soil-moisture twin', () => {
  const twin = makeMonthlySmTwin({
    rows: 4,
    cols: 5,
    seed: 5,
    calibrated: ['b', 'd2'],
    periods: [
      { name: 'warmup', start: '2001-01-01', end: '2001-12-31' },
      { name: 'train', start: '2002-01-01', end: '2003-12-31' },
      { name: 'valid', start: '2004-01-01', end: '2004-03-31' },
      { name: 'test', start: '2004-04-01', end: '2004-06-30' },
    ],
  });
  const pr = twin.problem;
  const sim = new LocalSimulator(pr);
  const [t0, t1] = pr.periods.train;
  let pool: ModelPool | null = null;
  afterAll(() => pool?.close());

  it('observes monthly means: one value per whole month, the mean of the true daily SM', () => {
    expect(twin.months).toHaveLength(42);
    expect(twin.months[0]!.toISOString().slice(0, 10)).toBe('2001-01-01');
    const n = pr.cells;
    // March 2002 (month 14), cell 3: the mean of its 31 days of true SM
    const first = Math.round((Date.UTC(2002, 2, 1) - Date.UTC(2001, 0, 1)) / 86400000);
    let s = 0;
    for (let t = first; t < first + 31; t++) s += twin.etTrue[t * n + 3]!;
    expect(pr.target.coarse!.values[14 * n + 3]).toBeCloseTo(s / 31, 14);
    expect(pr.target.obs.every(Number.isNaN)).toBe(true);
    expect(() => checkProblem(pr)).not.toThrow();
  });

  it('its objective is 0 at the truth, and positive at the defaults', () => {
    for (const kind of ['cell-mse', 'spatial-rmse'] as const) {
      expect(sim.lossGrad(fullParams(pr, twin.truth), kind, t0, t1).f).toBeLessThan(1e-12);
      expect(sim.lossGrad(fullParams(pr, defaultFields(pr)), kind, t0, t1).f).toBeGreaterThan(1e-5);
    }
  });

  it('the streamed loss equals the objective of the aggregated run, and its gradient matches finite differences', () => {
    const fields = pr.calibrated.map((_, k) =>
      Float64Array.from(
        { length: pr.cells },
        (_, c) => pr.lower[k]! + (0.3 + (0.4 * ((c * 7 + k * 3) % 11)) / 11) * (pr.upper[k]! - pr.lower[k]!),
      ),
    );
    const run = sim.run(fullParams(pr, fields), pr.steps);
    for (const kind of ['cell-mse', 'spatial-rmse'] as const) {
      const { f, g } = sim.lossGrad(fullParams(pr, fields), kind, t0, t1);
      expect(f).toBeCloseTo(targetObjective(kind, pr.target, run, t0, t1, pr.cells), 14);
      for (const [k, name] of pr.calibrated.entries())
        for (const c of [0, 5, 11]) {
          const h = 1e-6 * (pr.upper[k]! - pr.lower[k]!);
          const at = (d: number) => {
            const x = fields.map((a) => Float64Array.from(a));
            x[k]![c]! += d;
            return targetObjective(kind, pr.target, sim.run(fullParams(pr, x), pr.steps), t0, t1, pr.cells);
          };
          const fd = (at(h) - at(-h)) / (2 * h);
          expect(Math.abs(g[name][c]! - fd)).toBeLessThan(1e-4 * Math.abs(fd) + 1e-10);
        }
    }
  });

  it('a sum rule (a monthly flux) is differentiated too', () => {
    const sum: GriddedProblem = {
      ...pr,
      target: { ...pr.target, coarse: { ...pr.target.coarse!, rule: 'sum' } },
    };
    const s = new LocalSimulator(sum);
    const fields = pr.calibrated.map((_, k) =>
      new Float64Array(pr.cells).fill((pr.lower[k]! + pr.upper[k]!) / 2),
    );
    const { g } = s.lossGrad(fullParams(sum, fields), 'cell-mse', t0, t1);
    const h = 1e-6;
    const at = (d: number) => {
      const x = fields.map((a) => Float64Array.from(a));
      x[0]![2]! += d;
      return targetObjective('cell-mse', sum.target, s.run(fullParams(sum, x), sum.steps), t0, t1, sum.cells);
    };
    const fd = (at(h) - at(-h)) / (2 * h);
    expect(Math.abs(g.b[2]! - fd)).toBeLessThan(1e-4 * Math.abs(fd));
  });

  it('the worker pool gives the local value and gradient', async () => {
    pool = await ModelPool.create(pr, 2);
    const fields = pr.calibrated.map((_, k) =>
      new Float64Array(pr.cells).fill((pr.lower[k]! + pr.upper[k]!) / 2),
    );
    for (const kind of ['cell-mse', 'spatial-rmse'] as const) {
      const a = sim.lossGrad(fullParams(pr, fields), kind, t0, t1);
      const b = pool.lossGrad(fullParams(pr, fields), kind, t0, t1);
      expect(b.f).toBeCloseTo(a.f, 14);
      for (const name of pr.calibrated)
        for (let c = 0; c < pr.cells; c++) expect(b.g[name][c]).toBeCloseTo(a.g[name][c]!, 12);
    }
  });

  it('the gradient method on the monthly target recovers b within 5 % of its range in 3 cells of 4 (d2 only partly)', () => {
    const f0 = sim.lossGrad(fullParams(pr, defaultFields(pr)), 'cell-mse', t0, t1).f;
    const r = perCellGradient(
      pr,
      methodOptions('gradient', 'gridded', { objective: 'cell-mse', iterations: 150 }) as never,
      ctxOf(sim),
    );
    const f = sim.lossGrad(fullParams(pr, r.fields), 'cell-mse', t0, t1).f;
    expect(f).toBeLessThan(0.2 * f0);
    const err = (k: number, fields = r.fields) =>
      Array.from(fields[k]!, (v, c) => Math.abs(v - twin.truth[k]![c]!) / (pr.upper[k]! - pr.lower[k]!)).sort(
        (a, b) => a - b,
      );
    const b = err(0);
    const median = (a: number[]) => a[a.length >> 1]!;
    // stated tolerance: b within 5 % of its range in 3 cells of 4, median within 4 %. L-BFGS stops at
    // different points of this ill-posed monthly problem when the kernels differ in the last digits:
    // median 1.8 % on the JS kernels, 3.1 % on the native ones (75th percentile 3.7 % and 3.6 %)
    expect(b[Math.floor(0.75 * b.length) - 1]).toBeLessThan(0.05);
    expect(median(b)).toBeLessThan(0.04);
    // d2 (the second layer's depth) reaches top-layer SM weakly when deep: its median error only
    // drops below 0.8 x the defaults' (0.19 vs 0.27 of its range here), not more is claimed
    expect(median(err(1))).toBeLessThan(0.8 * median(err(1, defaultFields(pr))));
    // every metric is monthly: the test period's 3 months, the calibrated run beating the default one
    const ev = evaluateFields(pr, sim, r.fields, defaultSimulation(pr, sim), twin.truth);
    expect(ev.periods.test.medianCellRmse).toBeLessThan(
      evaluateFields(pr, sim, defaultFields(pr), defaultSimulation(pr, sim)).periods.test.medianCellRmse,
    );
    const atTruth = evaluateFields(pr, sim, twin.truth, defaultSimulation(pr, sim));
    expect(atTruth.periods.test.spatialRmse).toBeLessThan(1e-8);
    expect(atTruth.periods.train.medianCellKge).toBeCloseTo(1, 8);
  }, 120_000);

  it('refuses periods without a whole month, and keeps the monthly target when cut to a study area', () => {
    const cut = { ...pr, periods: { ...pr.periods, test: [pr.steps - 20, pr.steps] as [number, number] } };
    expect(() => checkProblem(cut)).toThrow(FieldcalError);
    try {
      checkProblem(cut);
    } catch (e) {
      expect((e as FieldcalError).details).toMatchObject({ field: 'periods.test' });
    }
    const keep = Uint8Array.from(pr.mask, (m, i) => (m && i % 2 === 0 ? 1 : 0));
    const sub = restrictProblem(pr, keep);
    const m = sub.cells;
    const idx: number[] = [];
    let k = 0;
    pr.mask.forEach((v, i) => {
      if (!v) return;
      if (keep[i]) idx.push(k);
      k++;
    });
    expect(sub.target.coarse!.values.length).toBe(42 * m);
    expect(sub.target.coarse!.values[10 * m + 1]).toBe(pr.target.coarse!.values[10 * pr.cells + idx[1]!]);
    expect(() => checkProblem(sub)).not.toThrow();
  });

  it('dpl refuses windows that hold no whole month', () => {
    expect(() =>
      dpl(pr, methodOptions('dpl', 'gridded', { window: 20, epochs: 1 }) as never, 1, ctxOf(sim)),
    ).toThrow(/window/);
  });
});
