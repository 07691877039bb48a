import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { GeoTiffRaster } from '../../../../src-main/services/rasters/geotiff';
import { gridOfRaster, openFolderStack } from '../../../../src-main/services/rasters/stack';
import { decodeD8 } from '../../../../src-main/services/grid/flowdir';
import { delineateCatchment, type Catchment } from '../../../../src-main/services/grid/catchment';
import { readSmashGauges } from '../../../../src-main/services/grid/gauges';
import { buildNetwork, routeLr, type RoutingNetwork } from '../../../../src-main/services/physics/routing/lr';
import { gr4LrWithGradient, runGr4Lr, type Gr4LrParams } from '../../../../src-main/services/physics/gr4lr';
import {
  runVic3lLr,
  vic3lLrWithGradient,
  type Vic3lLrParams,
} from '../../../../src-main/services/physics/vic3lLr';
import { VIC3L } from '../../../../src-main/services/physics/vic3l';

const LEZ = 'resources/sample-data/lez';
const STEPS = 45;
const DT = 86400;
let net: RoutingNetwork;
let catchment: Catchment;
let P: Float64Array;
let E: Float64Array;
let outlet: number;

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
  // active-cell index of the outlet gauge
  const gi = catchment.gauges[0]!.row * g.cols + catchment.gauges[0]!.col;
  outlet = Array.from(g.mask!.subarray(0, gi)).reduce((a, b) => a + b, 0);
  // real forcing: the Lez rainfall and PET stacks on the catchment's cells (same origin, 14 columns)
  const prcp = await openFolderStack(join(LEZ, 'prcp'));
  const pet = await openFolderStack(join(LEZ, 'pet'));
  P = new Float64Array(STEPS * net.cells);
  E = new Float64Array(STEPS * net.cells);
  for (let t = 0; t < STEPS; t++) {
    const pr = await prcp.read(60 + t);
    const pe = await pet.read(60 + t);
    let k = 0;
    for (let r = 0; r < g.rows; r++) {
      for (let c = 0; c < g.cols; c++) {
        if (!g.mask![r * g.cols + c]) continue;
        P[t * net.cells + k] = pr[r * prcp.grid.cols + c]!;
        E[t * net.cells + k] = pe[r * pet.grid.cols + c]!;
        k++;
      }
    }
  }
});

function randomParams(seed: number): Gr4LrParams {
  let s = seed;
  const rand = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const f = (lo: number, hi: number) =>
    Float64Array.from({ length: net.cells }, () => lo + (hi - lo) * rand());
  return { X1: f(100, 1200), X2: f(-3, 2), X3: f(20, 300), X4: f(1.1, 2.9), llr: f(200, 2000) };
}

describe('gr4 + lr routing on the Lez catchment', () => {
  it('has one outlet draining all 171 cells', () => {
    expect(net.cells).toBe(catchment.cells);
    expect(Array.from(net.down).filter((d) => d < 0)).toHaveLength(1);
    expect(net.down[outlet]).toBe(-1);
  });

  it('routing conserves volume: runoff in = outflow at the outlet + water left in the reservoirs', () => {
    const runoff = Float64Array.from({ length: STEPS * net.cells }, (_, i) => (i % 7) * 0.5);
    const llr = new Float64Array(net.cells).fill(900);
    const h = new Float64Array(net.cells);
    const q = routeLr(net, runoff, STEPS, llr, DT, h);
    const inM3 = runoff.reduce((a, b) => a + b, 0) * 1e-3 * net.areaM2;
    let outM3 = 0;
    for (let t = 0; t < STEPS; t++) outM3 += q[t * net.cells + outlet]! * DT;
    const storedM3 = h.reduce((a, b) => a + b, 0) * 1e-3 * net.areaM2;
    expect(Math.abs(inM3 - outM3 - storedM3) / inM3).toBeLessThan(1e-12);
  });

  it('the chained adjoint matches central finite differences for distributed X1..X4 and llr', () => {
    const p = randomParams(4242);
    let s = 99;
    const rand = () => (s = (s * 16807) % 2147483647) / 2147483647;
    // random weights on the outlet discharge and on one upstream cell
    const gQ = new Float64Array(STEPS * net.cells);
    for (let t = 0; t < STEPS; t++) {
      gQ[t * net.cells + outlet] = rand() - 0.3;
      gQ[t * net.cells + 17] = rand() - 0.5;
    }
    const loss = (pp: Gr4LrParams) => {
      const q = runGr4Lr(net, pp, P, E, STEPS, DT);
      let l = 0;
      for (let i = 0; i < q.length; i++) l += gQ[i]! * q[i]!;
      return l;
    };
    const { gradient } = gr4LrWithGradient(net, p, P, E, STEPS, DT, gQ);
    const cellsToCheck = [outlet, 3, 17, 90, 150];
    let checked = 0;
    for (const key of ['X1', 'X2', 'X3', 'X4', 'llr'] as const) {
      for (const c of cellsToCheck) {
        const x = p[key][c]!;
        const hstep = 1e-5 * Math.max(1, Math.abs(x));
        const plus = { ...p, [key]: Float64Array.from(p[key], (v, i) => (i === c ? v + hstep : v)) };
        const minus = { ...p, [key]: Float64Array.from(p[key], (v, i) => (i === c ? v - hstep : v)) };
        const fd = (loss(plus) - loss(minus)) / (2 * hstep);
        const adj = gradient[key][c]!;
        if (Math.abs(fd) < 1e-10 && Math.abs(adj) < 1e-10) continue;
        expect(
          Math.abs(adj - fd) / Math.max(Math.abs(fd), 1e-8),
          `${key}[${c}]: ${adj} vs ${fd}`,
        ).toBeLessThan(1e-4);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(15);
  });
});

describe('vic3l + lr routing on the Lez catchment', () => {
  function randomVicParams(seed: number): Record<string, Float64Array> {
    let s = seed;
    const rand = () => (s = (s * 16807) % 2147483647) / 2147483647;
    const out: Record<string, Float64Array> = {};
    for (const spec of VIC3L.parameters) {
      const [lo, hi] = spec.bounds;
      out[spec.name] = Float64Array.from({ length: net.cells }, () => lo + (hi - lo) * (0.1 + 0.8 * rand()));
    }
    out.llr = Float64Array.from({ length: net.cells }, () => 200 + 1800 * rand());
    return out;
  }

  it('the chained adjoint matches central finite differences for all seven distributed parameters and llr', () => {
    const p = randomVicParams(777);
    let s = 5;
    const rand = () => (s = (s * 16807) % 2147483647) / 2147483647;
    // random loss weights on the outlet and on two upstream cells
    const gQ = new Float64Array(STEPS * net.cells);
    for (let t = 0; t < STEPS; t++) {
      gQ[t * net.cells + outlet] = rand() - 0.3;
      gQ[t * net.cells + 17] = rand() - 0.5;
      gQ[t * net.cells + 90] = rand() - 0.5;
    }
    // real Lez rainfall is light over these 45 days: double it so every flux path is active
    const forcing = { P: P.map((v) => 2 * v), PET: E };
    const loss = (pp: Record<string, Float64Array>) => {
      const q = runVic3lLr(net, pp as unknown as Vic3lLrParams, forcing, STEPS, DT);
      let l = 0;
      for (let i = 0; i < q.length; i++) l += gQ[i]! * q[i]!;
      return l;
    };
    const { gradient } = vic3lLrWithGradient(net, p as unknown as Vic3lLrParams, forcing, STEPS, DT, gQ);
    const cellsToCheck = [outlet, 3, 17, 90, 150];
    let checked = 0;
    for (const key of ['b', 'Ds', 'Dsmax', 'Ws', 'd2', 'd3', 'expt', 'llr'] as const) {
      for (const c of cellsToCheck) {
        const x = p[key]![c]!;
        const hstep = 1e-6 * Math.max(1, Math.abs(x));
        const plus = { ...p, [key]: Float64Array.from(p[key]!, (v, i) => (i === c ? v + hstep : v)) };
        const minus = { ...p, [key]: Float64Array.from(p[key]!, (v, i) => (i === c ? v - hstep : v)) };
        const fd = (loss(plus) - loss(minus)) / (2 * hstep);
        const adj = gradient[key][c]!;
        if (Math.abs(fd) < 1e-10 && Math.abs(adj) < 1e-10) continue;
        expect(
          Math.abs(adj - fd) / Math.max(Math.abs(fd), 1e-8),
          `${key}[${c}]: ${adj} vs ${fd}`,
        ).toBeLessThan(1e-4);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(30);
  });
});
