import { describe, expect, it } from 'vitest';
import {
  GAUGE_SNOW_BOUNDS,
  gaugeBounds,
  gaugeParameterNames,
  gaugeProblemFromDataset,
  type GaugeProblem,
} from '../../../../src-main/services/calibration/gauges/problem';
import { loadSmashDataset } from '../../../../src-main/services/datasets/smashDataset';
import { restrictDataset } from '../../../../src-main/services/jobs/gaugesJob';
import { trainHdaPr } from '../../../../src-main/services/calibration/methods/hda-pr/train';
import { bfgsBox } from '../../../../src-main/services/calibration/optim/bfgs';
import { nse } from '../../../../src-main/services/metrics/series';
import { runSnowCells } from '../../../../src-main/services/physics/cemaneige/kernel';
import {
  cutSnowCells,
  gr4LrWithGradient,
  gridSnowCells,
  runGr4Lr,
  type Gr4LrParams,
} from '../../../../src-main/services/physics/gr4lr';
import { buildNetwork } from '../../../../src-main/services/physics/routing/lr';

/**
 * GR4J + CemaNeige per cell + lr on a small synthetic grid (3 x 4 cells of 1 km, every row draining
 * east into the last column, which drains south to the outlet): two years of daily forcing whose
 * winters are cold enough to snow (temperature -6 °C in January at the top row, colder by 1.5 °C per
 * row down the grid, +14 °C in July).
 */
const ROWS = 3;
const COLS = 4;
const DT = 86400;
const STEPS = 730;
const dir = new Int8Array(ROWS * COLS).fill(2); // E
for (let r = 0; r < ROWS; r++) dir[r * COLS + COLS - 1] = 4; // S
dir[ROWS * COLS - 1] = -1;
const net = buildNetwork({ rows: ROWS, cols: COLS, dir, mask: null, cellSizeM: 1000 });
const N = net.cells;
const OUTLET = N - 1;

let seed = 12345;
const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
const P = new Float64Array(STEPS * N);
const E = new Float64Array(STEPS * N);
const T = new Float64Array(STEPS * N);
for (let t = 0; t < STEPS; t++) {
  const season = Math.cos((2 * Math.PI * t) / 365);
  const wet = rand() < 0.4;
  const storm = wet ? 25 * rand() ** 2 : 0;
  for (let c = 0; c < N; c++) {
    P[t * N + c] = wet ? storm * (0.8 + 0.4 * rand()) : 0;
    E[t * N + c] = Math.max(0, 2 - 2 * season) * (0.9 + 0.2 * rand());
    T[t * N + c] = 4 - 10 * season - 1.5 * Math.floor(c / COLS) + 3 * (rand() - 0.5);
  }
}
const snow = gridSnowCells(P, T, STEPS, N, DT);

const fields = (x: ArrayLike<number>, ctg: number): Gr4LrParams => ({
  X1: new Float64Array(N).fill(x[0]!),
  X2: new Float64Array(N).fill(x[1]!),
  X3: new Float64Array(N).fill(x[2]!),
  X4: new Float64Array(N).fill(x[3]!),
  llr: new Float64Array(N).fill(x[4]!),
  CTG: new Float64Array(N).fill(ctg),
  Kf: new Float64Array(N).fill(x[5]!),
});

describe('CemaNeige per cell in gr4 + lr', () => {
  it("prepares each cell's snow forcing at its own temperature: USACE solid fraction, Gthreshold from its solid precipitation", () => {
    const c = 5;
    let solid = 0;
    for (let t = 0; t < STEPS; t++) {
      const tc = T[t * N + c]!;
      const f = tc < -1 ? 1 : tc > 3 ? 0 : 1 - (tc + 1) / 4; // USACE, airGR DataAltiExtrapolation_Valery
      expect(snow.fracSolid[c * STEPS + t]).toBeCloseTo(f, 14);
      expect(snow.P[c * STEPS + t]).toBe(P[t * N + c]);
      solid += f * P[t * N + c]!;
    }
    // 0.9 × mean annual solid precipitation (Valéry et al. 2014; airGR CreateRunOptions)
    expect(snow.Gthreshold[c]).toBeCloseTo((0.9 * solid * 365.25) / STEPS, 9);
    expect(snow.Gthreshold[c]).toBeGreaterThan(50);
    // colder rows get more snow
    expect(snow.Gthreshold[2 * COLS]).toBeGreaterThan(snow.Gthreshold[0]!);
    expect(() => gridSnowCells(P, T, STEPS, N, 3600)).toThrow(/daily steps/);
    const cut = cutSnowCells(snow, 100);
    expect(cut.steps).toBe(100);
    expect(cut.T[3 * 100 + 7]).toBe(snow.T[3 * STEPS + 7]);
    expect(cut.Gthreshold).toBe(snow.Gthreshold);
  });

  it('conserves water in every cell (rain + melt + the pack left = precipitation) and builds real snow packs', () => {
    const p = fields([300, -0.5, 80, 1.8, 300, 4], 0.25);
    const run = runSnowCells(snow, { CTG: p.CTG!, Kf: p.Kf! });
    for (let c = 0; c < N; c++) {
      let pin = 0;
      let out = 0;
      for (let t = 0; t < STEPS; t++) {
        pin += snow.P[c * STEPS + t]!;
        out += run.liquid[c * STEPS + t]!;
      }
      const left = run.G[c * STEPS + STEPS - 1]!;
      expect(Math.abs(pin - out - left) / pin).toBeLessThan(1e-12);
    }
    expect(Math.max(...run.G)).toBeGreaterThan(30);
    expect(run.melt.reduce((a, b) => a + b, 0)).toBeGreaterThan(100);
  });

  it('without any snow (always 20 °C) gives bit for bit the discharge of gr4 + lr without the module', () => {
    const warm = gridSnowCells(P, new Float64Array(STEPS * N).fill(20), STEPS, N, DT);
    const p = fields([300, -0.5, 80, 1.8, 300, 4], 0.25);
    const a = runGr4Lr(net, p, P, E, STEPS, DT);
    const b = runGr4Lr(net, p, P, E, STEPS, DT, warm);
    expect(Array.from(b)).toEqual(Array.from(a));
    // and the snow run differs where it snows
    const s = runGr4Lr(net, p, P, E, STEPS, DT, snow);
    expect(s.some((v, i) => Math.abs(v - a[i]!) > 1e-3)).toBe(true);
  });

  it('its adjoint matches central finite differences for X1..X4, llr and Kf per cell; CTG’s exact gradient is 0', () => {
    const p: Gr4LrParams = {
      X1: Float64Array.from({ length: N }, () => 150 + 400 * rand()),
      X2: Float64Array.from({ length: N }, () => -1 + 1.5 * rand()),
      X3: Float64Array.from({ length: N }, () => 40 + 150 * rand()),
      X4: Float64Array.from({ length: N }, () => 1.2 + 1.5 * rand()),
      llr: Float64Array.from({ length: N }, () => 100 + 900 * rand()),
      CTG: Float64Array.from({ length: N }, () => 0.1 + 0.8 * rand()),
      Kf: Float64Array.from({ length: N }, () => 1 + 6 * rand()),
    };
    const gQ = Float64Array.from({ length: STEPS * N }, (_, i) =>
      i % N === OUTLET ? rand() - 0.3 : i % N === 5 ? rand() - 0.5 : 0,
    );
    const loss = (pp: Gr4LrParams) => {
      const q = runGr4Lr(net, pp, P, E, STEPS, DT, snow);
      let l = 0;
      for (let i = 0; i < q.length; i++) l += gQ[i]! * q[i]!;
      return l;
    };
    const { gradient } = gr4LrWithGradient(net, p, P, E, STEPS, DT, gQ, snow);
    let checked = 0;
    for (const key of ['X1', 'X2', 'X3', 'X4', 'llr', 'Kf', 'CTG'] as const) {
      for (const c of [0, 5, 9, OUTLET]) {
        const h = 1e-6 * Math.max(1, Math.abs(p[key]![c]!));
        const at = (d: number) => ({
          ...p,
          [key]: Float64Array.from(p[key]!, (v, i) => (i === c ? v + d : v)),
        });
        const fd = (loss(at(h)) - loss(at(-h))) / (2 * h);
        const adj = gradient[key]![c]!;
        if (key === 'CTG') {
          // CTG acts only through the thermal state's clamp at 0 °C (a branch): piecewise constant
          expect(adj).toBe(0);
          expect(Math.abs(fd)).toBeLessThan(1e-9);
          continue;
        }
        expect(
          Math.abs(adj - fd) / Math.max(Math.abs(fd), 1e-6),
          `${key}[${c}]: ${adj} vs ${fd}`,
        ).toBeLessThan(1e-4);
        checked++;
      }
    }
    expect(checked).toBe(24);
    // Kf matters: melt feeds the discharge
    expect(Math.abs(gradient.Kf![OUTLET]!)).toBeGreaterThan(1e-6);
  });

  it('twin: known fields are recovered from the outlet discharge by a short gradient calibration (objective 0 at the truth)', () => {
    // llr 1500 min keeps 38 % of a cell's water for the next day: identifiable at a daily step
    const truth = [300, -0.5, 80, 1.8, 1500, 4];
    const CTG = 0.25;
    const qAll = runGr4Lr(net, fields(truth, CTG), P, E, STEPS, DT, snow);
    const obs = Float64Array.from({ length: STEPS }, (_, t) => qAll[t * N + OUTLET]!);
    const warm = 120;
    let mean = 0;
    for (let t = warm; t < STEPS; t++) mean += obs[t]! / (STEPS - warm);
    let den = 0;
    for (let t = warm; t < STEPS; t++) den += (obs[t]! - mean) ** 2;
    // J = 1 - NSE at the outlet (Nash & Sutcliffe 1970); uniform fields, gradient summed over the cells
    const fg = (x: Float64Array) => {
      let f = 0;
      const { gradient: g } = gr4LrWithGradient(
        net,
        fields(x, CTG),
        P,
        E,
        STEPS,
        DT,
        (sim) => {
          const gq = new Float64Array(sim.length);
          for (let t = warm; t < STEPS; t++) {
            const e = sim[t * N + OUTLET]! - obs[t]!;
            f += (e * e) / den;
            gq[t * N + OUTLET] = (2 * e) / den;
          }
          return gq;
        },
        snow,
      );
      const sum = (a: Float64Array) => a.reduce((s, v) => s + v, 0);
      return { f, g: Float64Array.from([g.X1, g.X2, g.X3, g.X4, g.llr, g.Kf!].map(sum)) };
    };
    expect(fg(Float64Array.from(truth)).f).toBe(0);
    const b = gaugeBounds(DT);
    const lower = [...b.lower, GAUGE_SNOW_BOUNDS.lower[1]];
    const upper = [...b.upper, GAUGE_SNOW_BOUNDS.upper[1]];
    const start = [350, 0, 90, 1.7, 800, 2.5];
    const f0 = fg(Float64Array.from(start)).f;
    // CTG stays at its true value: its exact gradient is 0 (previous test), no gradient method can move it
    const r = bfgsBox(fg, lower, upper, start, { maxIterations: 150 });
    const sim = runGr4Lr(net, fields(r.x, CTG), P, E, STEPS, DT, snow);
    const score = nse(
      obs.subarray(warm),
      Float64Array.from({ length: STEPS - warm }, (_, t) => sim[(t + warm) * N + OUTLET]!),
    ).value;
    expect(f0).toBeGreaterThan(0.02);
    expect(score).toBeGreaterThan(0.999999);
    // every calibrated value within 0.1 % of the truth (X2 within 0.001 mm/d)
    for (const k of [0, 2, 3, 4, 5])
      expect(Math.abs(r.x[k]! - truth[k]!) / truth[k]!, `parameter ${k}: ${r.x[k]}`).toBeLessThan(1e-3);
    expect(Math.abs(r.x[1]! - truth[1]!)).toBeLessThan(1e-3);
  }, 120_000);

  it('HDA-PR trains the seven fields (X1..X4, llr, CTG, Kf) through the snow adjoint', () => {
    const truth = [300, -0.5, 80, 1.8, 300, 4];
    const qAll = runGr4Lr(net, fields(truth, 0.25), P, E, STEPS, DT, snow);
    const b = gaugeBounds(DT);
    const pb: GaugeProblem = {
      net,
      steps: STEPS,
      dt: DT,
      P,
      E,
      descriptors: Float64Array.from({ length: N * 2 }, (_, i) =>
        i % 2 ? Math.floor(i / 2 / COLS) - 1 : rand() - 0.5,
      ),
      nDescriptors: 2,
      gauges: [
        {
          code: 'OUT',
          cell: OUTLET,
          obs: Float64Array.from({ length: STEPS }, (_, t) => qAll[t * N + OUTLET]!),
        },
      ],
      lower: [...b.lower, ...GAUGE_SNOW_BOUNDS.lower],
      upper: [...b.upper, ...GAUGE_SNOW_BOUNDS.upper],
      warmup: 120,
      snow,
    };
    expect(gaugeParameterNames(pb)).toEqual(['X1', 'X2', 'X3', 'X4', 'llr', 'CTG', 'Kf']);
    const r = trainHdaPr(pb, { hidden: [], iterations: 30, learningRate: 0.05, seed: 1, warmup: 120 });
    expect(r.params.Kf).toHaveLength(N);
    expect(r.params.CTG).toHaveLength(N);
    for (const v of r.params.Kf!) expect(v).toBeGreaterThanOrEqual(0);
    expect(r.history.at(-1)!).toBeLessThan(r.history[0]!);
    expect(r.objective).toBeLessThan(r.history[0]!);
    // without the bounds of the two snow fields the problem is refused
    expect(() =>
      trainHdaPr(
        { ...pb, lower: b.lower, upper: b.upper },
        { hidden: [], iterations: 1, learningRate: 0.05, seed: 1, warmup: 0 },
      ),
    ).toThrow(/bounds have 5 lower .* 7 parameters/);
  });

  it('a dataset with a daily temperature stack gets CemaNeige per cell; without one the problem is as before', async () => {
    const ds = await loadSmashDataset({
      dir: 'resources/sample-data/lez',
      flowdir: 'France_flwdir.tif',
      start: new Date('2012-08-01T00:00:00Z'),
      end: new Date('2012-10-31T00:00:00Z'),
      crs: 'EPSG:2154',
    });
    const plain = gaugeProblemFromDataset(ds);
    expect(plain.snow).toBeUndefined();
    expect(gaugeParameterNames(plain)).toHaveLength(5);
    expect(plain.lower).toEqual(gaugeBounds(86400).lower);
    const n = ds.net.cells;
    const steps = ds.dates.length;
    // a cold first month (-4 °C, colder to the east), then 12 °C
    const Tg = Float64Array.from({ length: steps * n }, (_, i) =>
      Math.floor(i / n) < 31 ? -4 - (i % n) / n : 12,
    );
    const withT = gaugeProblemFromDataset({ ...ds, T: Tg });
    expect(gaugeParameterNames(withT)).toEqual(['X1', 'X2', 'X3', 'X4', 'llr', 'CTG', 'Kf']);
    expect(withT.lower).toEqual([...gaugeBounds(86400).lower, 0, 0]);
    expect(withT.snow!.cells).toBe(n);
    // cell 7's melt threshold from its own solid precipitation (all of August's is snow at -4 °C)
    let solid = 0;
    for (let t = 0; t < 31; t++) solid += ds.P[t * n + 7]!;
    expect(withT.snow!.Gthreshold[7]).toBeCloseTo((0.9 * solid * 365.25) / steps, 9);
    // an hourly dataset keeps its temperature but runs without snow (CemaNeige is daily)
    expect(gaugeProblemFromDataset({ ...ds, T: Tg, stepSeconds: 3600 }).snow).toBeUndefined();
    // a study area cuts the temperature stack with the other forcing
    const keep = Uint8Array.from(ds.catchment.grid.mask!, (m, i) => (m && i % 2 ? 1 : 0));
    const cut = restrictDataset({ ...ds, T: Tg }, keep);
    expect(cut.T).toHaveLength(steps * cut.net.cells);
  }, 60_000);
});
