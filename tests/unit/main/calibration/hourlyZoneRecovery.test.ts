import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import {
  gaugeBounds,
  gaugeProblemFromDataset,
  type GaugeProblem,
} from '../../../../src-main/services/calibration/gauges/problem';
import type { MethodContext } from '../../../../src-main/services/calibration/method';
import { methodOptions, runMethod } from '../../../../src-main/services/calibration/registry';
import { computeHandle } from '../../../../src-main/services/compute';
import type { SmashDataset } from '../../../../src-main/services/datasets/smashDataset';
import { modelDates, toModelStep } from '../../../../src-main/services/datasets/timeSteps';
import { delineateCatchment } from '../../../../src-main/services/grid/catchment';
import { decodeD8 } from '../../../../src-main/services/grid/flowdir';
import { readSmashGauges } from '../../../../src-main/services/grid/gauges';
import { nse } from '../../../../src-main/services/metrics/series';
import { runGr4Lr, type Gr4LrParams } from '../../../../src-main/services/physics/gr4lr';
import { buildNetwork, type RoutingNetwork } from '../../../../src-main/services/physics/routing/lr';
import { GeoTiffRaster } from '../../../../src-main/services/rasters/geotiff';
import { openStackSource } from '../../../../src-main/services/rasters/open';
import { gridOfRaster } from '../../../../src-main/services/rasters/stack';

/**
 * Issue 15, must-show 3: an hourly DISTRIBUTED gr4 + lr calibration whose parameter fields are recovered.
 *
 * The Lez (resources/sample-data/lez) on its three nested gauges Y3204010 ⊂ Y3204030 ⊂ Y3204040
 * (the outlet, 171 cells); its daily prcp and pet cut into hours (sum rule, toModelStep) over
 * 2013-03-01 .. 03-20 (480 hourly steps; March 2013 is the sample's wettest month, ~300 mm over the
 * catchment); the model at dt = 3600 s. Zones: the cells draining to Y3204010 (A), to Y3204030 but not
 * Y3204010 (B), the rest of Y3204040's catchment (C). Truth: X1 and X4 one value per zone; X2, X3, llr
 * uniform. Synthetic hourly discharge at the three gauges from the truth is the observation.
 *
 * Calibration: HDA-PR through the method registry (`runMethod('gauges', 'hda-pr', …)`, the runner a
 * gauge job calls) on the problem `gaugeProblemFromDataset` makes of the hourly dataset, with smash's
 * multi-linear mapping (hidden []) from the zone indicators (the dataset's descriptors here,
 * standardised as the loader does): a linear map of the indicators plus a bias gives each zone its own
 * value, so the mapping spans exactly the per-zone fields. Only X1 and X4 are calibrated, inside
 * Fieldcal's hourly bounds (gaugeBounds(3600)); X2, X3 and llr are held at the truth (lower = upper):
 * X1 trades off with X3 and X2 in the water balance of a few weeks, X4 with llr in the timing, so only
 * one volume and one timing parameter per zone are calibrated (calibrating all five was not tried here).
 *
 * Identifiability, measured while building this test: X1 is recovered where the store's fill ratio
 * S/X1 moves over the window (the model starts at airGR's S = 0.3 X1). With a truth of X1 = 900 mm in
 * zone C, or over the drier October 2012 (~90 mm), the outlet's discharge hardly changes with zone C's X1
 * and HDA-PR stopped at ~1450-1500 mm there (NSE still > 0.999); the truth below stays in 250-700 mm.
 * Over all of March with 300 iterations at learning rate 0.05, two seeds of three stopped short (X1
 * of zone B ~1200-1400 mm, objective 0.007-0.01); on the 20 days, 450 iterations at 0.1 recover all
 * three (seeds 1, 7, 2024) to < 0.01 mm.
 */
const LEZ = 'resources/sample-data/lez';
const DT = 3600;
const CODES = ['Y3204040', 'Y3204030', 'Y3204010'] as const;
/** Truth per zone A, B, C: X1 (mm), X4 (h). */
const X1_TRUE = [700, 400, 250];
const X4_TRUE = [20, 40, 64];
/** Held at the truth, uniform: X2 (mm/h), X3 (mm), llr (min). */
const HELD = { X2: -0.02, X3: 80, llr: 200 };
/** HDA-PR's seed (its initial weights, Mulberry32). */
const SEED = 7;
/** The outlet's NSE when zone C's X1 is doubled must stay below this (measured 0.9937). */
const SENSITIVITY_NSE = 0.999;

let ds: SmashDataset;
let net: RoutingNetwork;
let zone: Int32Array;

/** The cells draining to `outlet` (itself included), by the routing network's upstream lists. */
function upstream(n: RoutingNetwork, outlet: number): Set<number> {
  const seen = new Set<number>();
  const stack = [outlet];
  while (stack.length) {
    const c = stack.pop()!;
    seen.add(c);
    for (let k = n.upStart[c]!; k < n.upStart[c + 1]!; k++) stack.push(n.up[k]!);
  }
  return seen;
}

const truthFields = (cells: number): Gr4LrParams => ({
  X1: Float64Array.from({ length: cells }, (_, c) => X1_TRUE[zone[c]!]!),
  X2: new Float64Array(cells).fill(HELD.X2),
  X3: new Float64Array(cells).fill(HELD.X3),
  X4: Float64Array.from({ length: cells }, (_, c) => X4_TRUE[zone[c]!]!),
  llr: new Float64Array(cells).fill(HELD.llr),
});

beforeAll(async () => {
  const fd = await GeoTiffRaster.open(join(LEZ, 'France_flwdir.tif'));
  const flow = decodeD8(gridOfRaster(fd.info), await fd.readBandValues(0));
  await fd.close();
  const smash = await readSmashGauges(LEZ);
  const catchment = delineateCatchment(
    flow,
    smash.filter((g) => (CODES as readonly string[]).includes(g.code)),
  );
  const g = catchment.grid;
  net = buildNetwork({ rows: g.rows, cols: g.cols, dir: catchment.dir, mask: g.mask, cellSizeM: g.dx });
  const cells = net.cells;
  const cellOf = (row: number, col: number) =>
    Array.from(g.mask!.subarray(0, row * g.cols + col)).reduce((a, b) => a + b, 0);
  const gaugeCell = Object.fromEntries(catchment.gauges.map((x) => [x.code, cellOf(x.row, x.col)]));
  const inA = upstream(net, gaugeCell.Y3204010!);
  const inB = upstream(net, gaugeCell.Y3204030!);
  zone = Int32Array.from({ length: cells }, (_, c) => (inA.has(c) ? 0 : inB.has(c) ? 1 : 2));
  const dates = modelDates('hourly', new Date('2013-03-01T00:00:00Z'), new Date('2013-03-20T23:00:00Z'));
  const steps = dates.length;
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
  const P = new Float64Array(steps * cells);
  const E = new Float64Array(steps * cells);
  for (let t = 0; t < steps; t++) {
    const pr = await prcp.read(t);
    const pe = await pet.read(t);
    let k = 0;
    for (let r = 0; r < g.rows; r++)
      for (let c = 0; c < g.cols; c++) {
        if (!g.mask![r * g.cols + c]) continue;
        P[t * cells + k] = pr[r * prcp.grid.cols + c]!;
        E[t * cells + k] = pe[r * pet.grid.cols + c]!;
        k++;
      }
  }
  // descriptors: the indicators of zones B and C, standardised over the active cells (smashDataset.ts's rule)
  const names = ['zoneB', 'zoneC'];
  const descriptors = new Float64Array(cells * names.length);
  names.forEach((_, k) => {
    const v = Float64Array.from(zone, (z) => (z === k + 1 ? 1 : 0));
    const m = v.reduce((a, b) => a + b, 0) / cells;
    const sd = Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / cells) || 1;
    v.forEach((x, c) => (descriptors[c * names.length + k] = (x - m) / sd));
  });
  // the synthetic hourly discharge of the truth at the three gauges (m³/s)
  const q = runGr4Lr(net, truthFields(cells), P, E, steps, DT);
  ds = {
    catchment,
    net,
    dates,
    stepSeconds: DT,
    P,
    E,
    descriptorNames: names,
    descriptors,
    gauges: catchment.gauges.map((x) => ({
      code: x.code,
      cell: gaugeCell[x.code]!,
      areaKm2: x.areaKm2,
      obs: Float64Array.from({ length: steps }, (_, t) => q[t * cells + gaugeCell[x.code]!]!),
    })),
  };
}, 120_000);

describe('hourly distributed gr4 + lr: per-zone X1 and X4 recovered on the Lez’s nested gauges', () => {
  const warmup = 24 * 5;
  const outletObs = () => ds.gauges.find((x) => x.code === 'Y3204040')!;

  it('the zones are the nested sub-catchments, and zone C (seen only at the outlet) is identifiable', () => {
    const count = [0, 0, 0];
    for (const z of zone) count[z]!++;
    // Y3204010 drains 110 cells, Y3204030 142, the outlet Y3204040 all 171 (smash's Lez, 1 km cells)
    expect(count).toEqual([110, 32, 29]);
    expect(net.cells).toBe(171);
    expect(ds.gauges.map((x) => x.code).sort()).toEqual([...CODES].sort());
    for (const x of ds.gauges) expect(Math.max(...x.obs)).toBeGreaterThan(1);
    // doubling zone C's X1 moves the outlet's hourly discharge visibly (NSE against the truth)
    const steps = ds.dates.length;
    const alt = truthFields(net.cells);
    for (let c = 0; c < net.cells; c++) if (zone[c] === 2) alt.X1[c] = 2 * X1_TRUE[2]!;
    const q = runGr4Lr(net, alt, ds.P, ds.E, steps, DT);
    const out = outletObs();
    const sim = Float64Array.from({ length: steps }, (_, t) => q[t * net.cells + out.cell]!);
    expect(nse(out.obs.subarray(warmup), sim.subarray(warmup)).value).toBeLessThan(SENSITIVITY_NSE);
  });

  it('HDA-PR (multi-linear, through the method registry) recovers X1 and X4 per zone at dt = 3600 s', async () => {
    const b = gaugeBounds(DT);
    // calibrated: X1, X4 in Fieldcal's hourly bounds; held at the truth: X2, X3, llr (lower = upper)
    const lower = [b.lower[0]!, HELD.X2, HELD.X3, b.lower[3]!, HELD.llr];
    const upper = [b.upper[0]!, HELD.X2, HELD.X3, b.upper[3]!, HELD.llr];
    const pb: GaugeProblem = gaugeProblemFromDataset(ds, { lower, upper }, warmup);
    expect(pb.dt).toBe(DT);
    expect(pb.steps).toBe(20 * 24);
    const ctx: MethodContext = {
      compute: await computeHandle(),
      cancelled: () => false,
      progress: () => undefined,
    };
    const perZone = (f: Float64Array) =>
      [0, 1, 2].map((z) => {
        const v = Array.from(f).filter((_, c) => zone[c] === z);
        return { mean: v.reduce((a, x) => a + x, 0) / v.length, spread: Math.max(...v) - Math.min(...v) };
      });
    // the start: HDA-PR's initial mapping (one iteration keeps the first, best-so-far iterate)
    const first = await runMethod(
      'gauges',
      'hda-pr',
      pb,
      methodOptions('hda-pr', 'gauges', { hidden: [], iterations: 1 }),
      SEED,
      ctx,
    );
    const x1Start = perZone(first.parameters.X1!).map((z, k) => Math.abs(z.mean - X1_TRUE[k]!));
    const x4Start = perZone(first.parameters.X4!).map((z, k) => Math.abs(z.mean - X4_TRUE[k]!));
    const options = methodOptions('hda-pr', 'gauges', { hidden: [], iterations: 450, learningRate: 0.1 });
    const r = await runMethod('gauges', 'hda-pr', pb, options, SEED, ctx);
    const x1 = perZone(r.parameters.X1!);
    const x4 = perZone(r.parameters.X4!);
    const x1Err = x1.map((z, k) => Math.abs(z.mean - X1_TRUE[k]!));
    const x4Err = x4.map((z, k) => Math.abs(z.mean - X4_TRUE[k]!));
    // the start is far from the truth: at least 100 mm of X1 and 5 h of X4 off in some zone
    expect(Math.max(...x1Start)).toBeGreaterThan(100);
    expect(Math.max(...x4Start)).toBeGreaterThan(5);
    // every cell of a zone takes the zone's value (the mapping is linear in the zone indicators)
    for (const z of [...x1, ...x4]) expect(z.spread).toBeLessThan(1e-6);
    // noise-free twin: recovery is exact up to the optimiser's last steps (measured < 0.01 mm, < 0.001 h
    // for seeds 1, 7, 2024); the tolerances, 1 % of X1 (<= 7 mm, 0.35 % of its 10-2000 mm range) and
    // 0.25 h of X4 (0.3 % of its 12-96 h range), leave room for floating-point differences between
    // machines and are 27-300 times smaller than the start's errors (seed 7: X1 off by
    // 555, 109, 778 mm and X4 by 29, 29, 9 h in zones A, B, C)
    x1Err.forEach((e, k) => expect(e, `X1 zone ${'ABC'[k]}`).toBeLessThan(0.01 * X1_TRUE[k]!));
    x4Err.forEach((e, k) => expect(e, `X4 zone ${'ABC'[k]}`).toBeLessThan(0.25));
    // the held fields stay at the truth
    for (const [k, v] of Object.entries(HELD)) for (const x of r.parameters[k]!) expect(x).toBeCloseTo(v, 12);
    // NSE (Nash & Sutcliffe 1970, metrics/series) at every gauge, from the method and recomputed here
    expect(r.scores.map((s) => s.code).sort()).toEqual([...CODES].sort());
    for (const s of r.scores) expect(s.nse, s.code).toBeGreaterThan(0.9999);
    const steps = ds.dates.length;
    const q = runGr4Lr(net, r.parameters as unknown as Gr4LrParams, ds.P, ds.E, steps, DT);
    for (const g of ds.gauges) {
      const sim = Float64Array.from({ length: steps }, (_, t) => q[t * net.cells + g.cell]!);
      expect(nse(g.obs.subarray(warmup), sim.subarray(warmup)).value, g.code).toBeGreaterThan(0.9999);
    }
  }, 120_000);
});
