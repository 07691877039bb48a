import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { gaugeBounds } from '../../../../src-main/services/calibration/gauges/problem';
import { bfgsBox } from '../../../../src-main/services/calibration/optim/bfgs';
import { modelDates, toModelStep } from '../../../../src-main/services/datasets/timeSteps';
import { delineateCatchment, type Catchment } from '../../../../src-main/services/grid/catchment';
import { decodeD8 } from '../../../../src-main/services/grid/flowdir';
import { readSmashGauges } from '../../../../src-main/services/grid/gauges';
import { nse } from '../../../../src-main/services/metrics/series';
import { gr4Timing, PERC_CONST } from '../../../../src-main/services/physics/gr4/forward';
import { gr4LrWithGradient, runGr4Lr, type Gr4LrParams } from '../../../../src-main/services/physics/gr4lr';
import { buildNetwork, type RoutingNetwork } from '../../../../src-main/services/physics/routing/lr';
import { GeoTiffRaster } from '../../../../src-main/services/rasters/geotiff';
import { openStackSource } from '../../../../src-main/services/rasters/open';
import { gridOfRaster } from '../../../../src-main/services/rasters/stack';

/**
 * An hourly twin: the Lez's daily forcing disaggregated to hours (sum rule, toModelStep) over two
 * months on the catchment of Y3204040, GR4J + lr run at dt = 3600 s with known parameters, and the
 * parameters recovered from the outlet's discharge by a short gradient calibration (BFGS on the
 * adjoint's gradient).
 */
const LEZ = 'resources/sample-data/lez';
const DT = 3600;
let net: RoutingNetwork;
let catchment: Catchment;
let P: Float64Array;
let E: Float64Array;
let steps: number;
let outlet: number;
let dailyRain: number;

beforeAll(async () => {
  const fd = await GeoTiffRaster.open(join(LEZ, 'France_flwdir.tif'));
  const flow = decodeD8(gridOfRaster(fd.info), await fd.readBandValues(0));
  await fd.close();
  const gauges = await readSmashGauges(LEZ);
  catchment = delineateCatchment(
    flow,
    gauges.filter((g) => g.code === 'Y3204040'),
  );
  const g = catchment.grid;
  net = buildNetwork({ rows: g.rows, cols: g.cols, dir: catchment.dir, mask: g.mask, cellSizeM: g.dx });
  const gi = catchment.gauges[0]!.row * g.cols + catchment.gauges[0]!.col;
  outlet = Array.from(g.mask!.subarray(0, gi)).reduce((a, b) => a + b, 0);
  const dates = modelDates('hourly', new Date('2012-09-15T00:00:00Z'), new Date('2012-11-14T23:00:00Z'));
  steps = dates.length;
  const prcp = toModelStep(await openStackSource({ format: 'folder', path: join(LEZ, 'prcp') }), {
    step: 'hourly',
    dates,
    rule: 'sum',
  });
  const pet = toModelStep(await openStackSource({ format: 'folder', path: join(LEZ, 'pet') }), {
    step: 'hourly',
    dates,
    rule: 'sum',
  });
  expect(prcp.missing).toEqual([]);
  P = new Float64Array(steps * net.cells);
  E = new Float64Array(steps * net.cells);
  for (let t = 0; t < steps; t++) {
    const pr = await prcp.read(t);
    const pe = await pet.read(t);
    let k = 0;
    for (let r = 0; r < g.rows; r++)
      for (let c = 0; c < g.cols; c++) {
        if (!g.mask![r * g.cols + c]) continue;
        P[t * net.cells + k] = pr[r * prcp.grid.cols + c]!;
        E[t * net.cells + k] = pe[r * pet.grid.cols + c]!;
        k++;
      }
  }
  // the daily total of the catchment's first cell on 2012-10-25 (a storm), for the conservation check
  const daily = await openStackSource({ format: 'folder', path: join(LEZ, 'prcp') });
  const i = daily.steps.findIndex((s) => s.time.toISOString().startsWith('2012-10-25'));
  const v = await daily.read(i);
  const first = g.mask!.indexOf(1);
  dailyRain = v[Math.floor(first / g.cols) * daily.grid.cols + (first % g.cols)]!;
});

const uniform = (n: number, x: ArrayLike<number>): Gr4LrParams => ({
  X1: new Float64Array(n).fill(x[0]!),
  X2: new Float64Array(n).fill(x[1]!),
  X3: new Float64Array(n).fill(x[2]!),
  X4: new Float64Array(n).fill(x[3]!),
  llr: new Float64Array(n).fill(x[4]!),
});

describe('GR4J + lr at an hourly step', () => {
  it('takes smash’s step-scaled percolation constant and a 20-day unit hydrograph in hours', () => {
    const h = gr4Timing(3600);
    // smash md_gr_operator.f90: beta = 9/4 (86400/dt)^(1/4); beta^4 = (9/4)^4 · 24
    expect(h.percConst).toBeCloseTo((9 / 4) ** 4 * 24, 9);
    expect(h.percConst).toBeCloseTo(((9 / 4) * 24 ** 0.25) ** 4, 9);
    expect(h.nh).toBe(480);
    expect(gr4Timing(86400)).toEqual({ stepSeconds: 86400, percConst: PERC_CONST, nh: 20 });
    expect(() => gr4Timing(7000)).toThrow(/divides a day/);
  });

  it('runs on the Lez forcing disaggregated to hours, whose 24 hours of a day add up to the day', () => {
    const first = 0;
    const day = Math.round((Date.UTC(2012, 9, 25) - Date.UTC(2012, 8, 15)) / 3600_000);
    let s = 0;
    for (let h = 0; h < 24; h++) s += P[(day + h) * net.cells + first]!;
    expect(dailyRain).toBeGreaterThan(5);
    expect(s).toBeCloseTo(dailyRain, 9);
    expect(steps).toBe(61 * 24);
  });

  it('its adjoint matches central finite differences at dt = 3600 s', () => {
    const n = net.cells;
    const short = 24 * 20;
    const p = uniform(n, [400, -0.03, 80, 30.4, 200]);
    const Ps = P.subarray(0, short * n);
    const Es = E.subarray(0, short * n);
    const loss = (q: Float64Array) => {
      let j = 0;
      for (let t = 0; t < short; t++) j += q[t * n + outlet]! ** 2;
      return j;
    };
    const { gradient } = gr4LrWithGradient(net, p, Ps, Es, short, DT, (q) => {
      const g = new Float64Array(q.length);
      for (let t = 0; t < short; t++) g[t * n + outlet] = 2 * q[t * n + outlet]!;
      return g;
    });
    const c = 3;
    for (const [k, h] of [
      ['X1', 1e-3],
      ['X3', 1e-3],
      ['X4', 1e-5],
      ['llr', 1e-3],
    ] as const) {
      const up = uniform(n, [400, -0.03, 80, 30.4, 200]);
      const dn = uniform(n, [400, -0.03, 80, 30.4, 200]);
      up[k][c] = up[k][c]! + h;
      dn[k][c] = dn[k][c]! - h;
      const fd =
        (loss(runGr4Lr(net, up, Ps, Es, short, DT)) - loss(runGr4Lr(net, dn, Ps, Es, short, DT))) / (2 * h);
      expect(gradient[k][c]!, k).toBeCloseTo(fd, Math.max(0, 3 - Math.round(Math.log10(Math.abs(fd) + 1))));
      expect(Math.abs(gradient[k][c]! - fd) / Math.max(1e-12, Math.abs(fd)), k).toBeLessThan(1e-4);
    }
  });

  it('recovers known parameters from the outlet’s hourly discharge by a short gradient calibration', () => {
    const n = net.cells;
    const truth = [420, -0.05, 70, 36, 250];
    const obs = runGr4Lr(net, uniform(n, truth), P, E, steps, DT);
    const q = Float64Array.from({ length: steps }, (_, t) => obs[t * n + outlet]!);
    expect(Math.max(...q)).toBeGreaterThan(1);
    const warm = 24 * 10;
    let mean = 0;
    for (let t = warm; t < steps; t++) mean += q[t]!;
    mean /= steps - warm;
    let den = 0;
    for (let t = warm; t < steps; t++) den += (q[t]! - mean) ** 2;
    // J = 1 - NSE at the outlet (Nash & Sutcliffe 1970), gradient through the adjoint, summed over the uniform cells
    const fg = (x: Float64Array) => {
      let f = 0;
      const { gradient } = gr4LrWithGradient(net, uniform(n, x), P, E, steps, DT, (sim) => {
        const g = new Float64Array(sim.length);
        for (let t = warm; t < steps; t++) {
          const e = sim[t * n + outlet]! - q[t]!;
          f += (e * e) / den;
          g[t * n + outlet] = (2 * e) / den;
        }
        return g;
      });
      const sum = (a: Float64Array) => a.reduce((s, v) => s + v, 0);
      return {
        f,
        g: Float64Array.from([
          sum(gradient.X1),
          sum(gradient.X2),
          sum(gradient.X3),
          sum(gradient.X4),
          sum(gradient.llr),
        ]),
      };
    };
    const b = gaugeBounds(DT);
    // hourly bounds: X2 per hour, X4 in hours
    expect(b.lower[3]).toBe(12);
    expect(b.upper[3]).toBe(96);
    const start = [350, 0, 90, 1.7 * 24, 120];
    const f0 = fg(Float64Array.from(start)).f;
    const r = bfgsBox(fg, b.lower, b.upper, start, { maxIterations: 60 });
    const sim = runGr4Lr(net, uniform(n, r.x), P, E, steps, DT);
    const score = nse(
      q.subarray(warm),
      Float64Array.from({ length: steps - warm }, (_, t) => sim[(t + warm) * n + outlet]!),
    ).value;
    expect(f0).toBeGreaterThan(0.05);
    expect(score).toBeGreaterThan(0.999);
    expect(r.x[0]).toBeCloseTo(truth[0]!, -1); // X1 within 5 mm
    expect(Math.abs(r.x[2]! - truth[2]!) / truth[2]!).toBeLessThan(0.05); // X3
    expect(Math.abs(r.x[3]! - truth[3]!)).toBeLessThan(1); // X4 within an hour
    expect(Math.abs(r.x[4]! - truth[4]!) / truth[4]!).toBeLessThan(0.05); // llr
    expect(Math.abs(r.x[1]! - truth[1]!)).toBeLessThan(0.01); // X2 (mm/h)
  }, 240_000);
});
