// Issue 15: an hourly dataset gives vic3l its step (dt = 1/24 day); the water balance closes at that
// step and a day of hours evaporates about what the daily run does.
import { resolve } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { griddedProblemFromDataset } from '../../../../src-main/services/calibration/gridded/fromDataset';
import { defaultFields, fullParams } from '../../../../src-main/services/calibration/gridded/problem';
import { loadSmashDataset, type SmashDataset } from '../../../../src-main/services/datasets/smashDataset';
import { runVic3l, VIC3L_CONSTANTS } from '../../../../src-main/services/physics/vic3l';

let daily: SmashDataset;
let hourly: SmashDataset;
beforeAll(async () => {
  daily = await loadSmashDataset({
    dir: resolve('resources/sample-data/lez'),
    start: new Date('2012-10-01T00:00:00Z'),
    end: new Date('2012-10-30T00:00:00Z'),
  });
  const n = daily.catchment.cells;
  const days = daily.dates.length;
  // each day's forcing spread evenly over its 24 hours (sums kept), the target missing
  const spread = (a: Float64Array) => {
    const out = new Float64Array(days * 24 * n);
    for (let d = 0; d < days; d++)
      for (let h = 0; h < 24; h++) for (let c = 0; c < n; c++) out[(d * 24 + h) * n + c] = a[d * n + c]! / 24;
    return out;
  };
  hourly = {
    ...daily,
    stepSeconds: 3600,
    dates: Array.from({ length: days * 24 }, (_, t) => new Date(daily.dates[0]!.getTime() + t * 3.6e6)),
    P: spread(daily.P),
    E: spread(daily.E),
    ET: new Float64Array(days * 24 * n).fill(Number.NaN),
  };
  daily = { ...daily, ET: new Float64Array(days * n).fill(Number.NaN) };
}, 120_000);

it('gives vic3l a step of 1/24 day, closes the water balance at it and evaporates about the daily amount', () => {
  const ph = griddedProblemFromDataset(hourly, { warmup: 0, train: 24 * 20, valid: 0, test: 24 * 10 }, ['b']);
  const pd = griddedProblemFromDataset(daily, { warmup: 0, train: 20, valid: 0, test: 10 }, ['b']);
  expect(ph.dt).toBeCloseTo(1 / 24, 12);
  expect(pd.dt).toBe(1);
  const n = ph.cells;
  const run = (pr: typeof ph) =>
    runVic3l(fullParams(pr, defaultFields(pr)), { P: pr.forcing.P, PET: pr.forcing.PET }, pr.steps, {
      dt: pr.dt,
      initial: 0.5,
    });
  const h = run(ph);
  const d = run(pd);
  const mm = 1000 * VIC3L_CONSTANTS.porosity;
  const p = fullParams(ph, defaultFields(ph));
  let etH = 0;
  let etD = 0;
  for (let c = 0; c < n; c++) {
    let rain = 0;
    let out = 0;
    for (let t = 0; t < ph.steps; t++) {
      const k = t * n + c;
      rain += ph.forcing.P[k]!;
      out += h.outputs.ET![k]! + h.outputs.R![k]! + h.outputs.Qb![k]!;
      etH += h.outputs.ET![k]!;
    }
    for (let t = 0; t < pd.steps; t++) etD += d.outputs.ET![t * n + c]!;
    const s0 = 0.5 * mm * (VIC3L_CONSTANTS.d1 + p.d2[c]! + p.d3[c]!);
    const s1 = h.state.W1[c]! + h.state.W2[c]! + h.state.W3[c]! + h.state.SWE[c]!;
    expect(Math.abs(rain - out - (s1 - s0))).toBeLessThan(1e-9 * Math.max(1, rain));
  }
  // the same month's evaporation whatever the step (the hourly run is not the daily one, but close)
  expect(etH / etD).toBeGreaterThan(0.8);
  expect(etH / etD).toBeLessThan(1.25);
});
