import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  parseRunConfig,
  lumpedProblemFromFiles,
} from '../../../../src-main/services/calibration/lumped/config';
import { simulateLumped } from '../../../../src-main/services/calibration/lumped/problem';
import { readHypsometry } from '../../../../src-main/services/datasets/hypsometry';
import { readLumpedCsv } from '../../../../src-main/services/datasets/lumpedCsv';
import { nse } from '../../../../src-main/services/metrics/series';
import {
  gr4CemaNeigeWithGradient,
  runGr4CemaNeige,
} from '../../../../src-main/services/physics/cemaneige/gr4cemaneige';
import { runSnowCells, snowAdjointCells } from '../../../../src-main/services/physics/cemaneige/kernel';
import {
  basinLayers,
  GRAD_T_MEAN,
  layerElevations,
} from '../../../../src-main/services/physics/cemaneige/layers';

const FIX = join(__dirname, '../../../fixtures/camels-fr');
const COLUMNS = { date: 'Date', P: 'Ptot', PET: 'Evap', Q: 'Qmmd', T: 'Temp' };

/** Two years of one snow basin's forcing on 5 layers (real data: the Durance at Embrun). */
async function durance(steps = 730) {
  const d = await readLumpedCsv(join(FIX, 'X031001001.csv'), {
    ...COLUMNS,
    units: { P: 'mm', PET: 'mm', Q: 'mm', T: '°C' },
  });
  const h = await readHypsometry(join(FIX, 'hypsometry.csv'), 'X031001001');
  const i0 = d.dates.findIndex((x) => x.toISOString().startsWith('2000-01-01'));
  const layers = basinLayers({
    P: d.P.subarray(i0, i0 + steps),
    T: d.T!.subarray(i0, i0 + steps),
    dates: d.dates.slice(i0, i0 + steps),
    hypsometry: h,
  });
  return { layers, E: d.E.subarray(i0, i0 + steps), Q: d.Q.subarray(i0, i0 + steps) };
}

describe('CemaNeige (Valéry et al. 2014, airGR)', () => {
  it('takes the airGR gradient table and layer elevations', async () => {
    expect(GRAD_T_MEAN).toHaveLength(366);
    const h = await readHypsometry(join(FIX, 'hypsometry.csv'), 'X031001001');
    // airGR 1.7: 5 layers of 20 % each take quantiles 10, 30, 50, 70, 90
    expect(Array.from(layerElevations(h, 5))).toEqual([h[10], h[30], h[50], h[70], h[90]]);
  });

  it('conserves water in every layer at every step: P = liquid out + ΔG', async () => {
    const { layers } = await durance();
    const n = layers.cells;
    const r = runSnowCells(layers, { CTG: new Float64Array(n).fill(0.3), Kf: new Float64Array(n).fill(4) });
    let maxPack = 0;
    let worst = 0;
    for (let i = 0; i < n * layers.steps; i++) {
      const dG = r.G[i]! - r.G0[i]!;
      worst = Math.max(worst, Math.abs(layers.P[i]! - r.liquid[i]! - dG));
      maxPack = Math.max(maxPack, r.G[i]!);
      expect(r.G[i]!).toBeGreaterThanOrEqual(0);
    }
    expect(worst).toBeLessThan(1e-9);
    // the pack is real: hundreds of mm on the top layer in winter
    expect(maxPack).toBeGreaterThan(100);
  });

  it('adjoint matches central finite differences (snow alone and GR4J + CemaNeige)', async () => {
    const { layers, E, Q } = await durance(500);
    const n = layers.cells;
    const w = Float64Array.from(Q, (q, t) => (Number.isFinite(q) ? Math.sin(t / 7) + 1 : 0));
    // snow alone: L = Σ w_t liquid_{c,t}
    const gL = new Float64Array(n * layers.steps);
    for (let c = 0; c < n; c++) gL.set(w, c * layers.steps);
    const snowLoss = (kf: number) => {
      const r = runSnowCells(layers, {
        CTG: new Float64Array(n).fill(0.3),
        Kf: new Float64Array(n).fill(kf),
      });
      let s = 0;
      for (let i = 0; i < gL.length; i++) s += gL[i]! * r.liquid[i]!;
      return s;
    };
    const p0 = { CTG: new Float64Array(n).fill(0.3), Kf: new Float64Array(n).fill(3.5) };
    const run = runSnowCells(layers, p0);
    const g = snowAdjointCells(layers, p0, run, gL);
    const h = 1e-5;
    const fdKf = (snowLoss(3.5 + h) - snowLoss(3.5 - h)) / (2 * h);
    const gKf = g.Kf.reduce((a, b) => a + b, 0);
    expect(Math.abs(gKf)).toBeGreaterThan(1);
    expect(gKf).toBeCloseTo(fdKf, 3);

    // combined: L = Σ (Q_t - obs_t)² over observed steps
    const p = { X1: 350, X2: 0.5, X3: 120, X4: 1.7, CTG: 0.3, Kf: 3.5 };
    const loss = (q: Float64Array) => {
      let s = 0;
      for (let t = 0; t < q.length; t++) if (Number.isFinite(Q[t]!)) s += (q[t]! - Q[t]!) ** 2;
      return s;
    };
    const { gradient } = gr4CemaNeigeWithGradient(p, layers, E, (q) =>
      Float64Array.from(q, (v, t) => (Number.isFinite(Q[t]!) ? 2 * (v - Q[t]!) : 0)),
    );
    for (const k of ['X1', 'X2', 'X3', 'X4', 'Kf'] as const) {
      const e = 1e-5 * Math.max(1, Math.abs(p[k]));
      const fd =
        (loss(runGr4CemaNeige({ ...p, [k]: p[k] + e }, layers, E).Q) -
          loss(runGr4CemaNeige({ ...p, [k]: p[k] - e }, layers, E).Q)) /
        (2 * e);
      expect(Math.abs(gradient[k] - fd)).toBeLessThan(1e-4 * Math.max(1, Math.abs(fd)));
    }
    // CTG acts only through the thermal state's clamp: zero gradient, and a tiny change moves nothing
    expect(gradient.CTG).toBe(0);
  });

  it("airGR's published CemaNeigeGR4J parameters give airGR's NSE (±0.002) on the Durance and the Ire", async () => {
    for (const [basin, v, ref] of [
      ['X031001001', [478.186, 0.998, 298.867, 1.388, 0.095, 4.022], 0.9148],
      ['V123521001', [235.097, -0.555, 44.701, 1.359, 0.016, 4.103], 0.7361],
    ] as const) {
      const cfg = parseRunConfig({
        structure: 'gr4-cemaneige',
        period: { warmupStart: '2000-01-01', start: '2001-01-01', end: '2009-12-31' },
        columns: COLUMNS,
        hypsometry: { path: join(FIX, 'hypsometry.csv'), basin },
      });
      const pr = await lumpedProblemFromFiles(join(FIX, `${basin}.csv`), cfg);
      const q = simulateLumped(pr, v).subarray(pr.warmup);
      expect(Math.abs(nse(pr.obs, q).value - ref)).toBeLessThanOrEqual(0.002);
    }
  });
});
