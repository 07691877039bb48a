import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lumpedProblemFromFiles, parseRunConfig } from '../../src-main/services/calibration/lumped/config';
import { parameterVector, simulateLumped } from '../../src-main/services/calibration/lumped/problem';
import { sceUaLumpedOptions } from '../../src-main/services/calibration/methods/sce-ua/options';
import { sceUaLumped } from '../../src-main/services/calibration/methods/sce-ua/index';
import { nse } from '../../src-main/services/metrics/series';

const FIX = join(__dirname, '../fixtures/camels-fr');

// airGR 1.7.6 CemaNeigeGR4J + Calibration_Michel, 2001-2009, warm-up 2000 (../shared/PEERS.md);
// compared at full precision (X045401001: 0.890598 was once taken for airGR's 0.8906)
const AIRGR: Record<string, number> = { X031001001: 0.9148, V123521001: 0.7361, X045401001: 0.8906 };
// airGR 1.7.6 GR4J alone on the same basins and period (../shared/PEERS.md)
const AIRGR_GR4: Record<string, number> = { X031001001: 0.1816, V123521001: 0.5777, X045401001: 0.233 };
// the integration project's own limit (vitest.config.ts): a calibration that ran 250 s on a loaded
// 2-core machine (X045401001) failed at 180 s on wall time, not on its NSE
const LIMIT = 600_000;

describe('GR4J alone calibrated by SCE-UA in airGR’s space on the same basins (CAMELS-FR)', () => {
  for (const [basin, ref] of Object.entries(AIRGR_GR4)) {
    it(`${basin}: NSE at least airGR's ${ref}`, { timeout: LIMIT }, async () => {
      const cfg = parseRunConfig({
        method: 'sce-ua',
        period: { warmupStart: '2000-01-01', start: '2001-01-01', end: '2009-12-31' },
        columns: { date: 'Date', P: 'Ptot', PET: 'Evap', Q: 'Qmmd' },
      });
      const pr = await lumpedProblemFromFiles(join(FIX, `${basin}.csv`), cfg);
      const r = sceUaLumped(pr, sceUaLumpedOptions.parse({}), cfg.seed, {
        cancelled: () => false,
        progress: () => {},
      } as never);
      const score = nse(
        pr.obs,
        simulateLumped(pr, parameterVector(pr, r.parameters)).subarray(pr.warmup),
      ).value;
      expect(score).toBeGreaterThanOrEqual(ref);
    });
  }
});

describe('GR4J + CemaNeige calibrated by SCE-UA on snow basins (CAMELS-FR)', () => {
  for (const [basin, ref] of Object.entries(AIRGR)) {
    it(`${basin}: NSE at least airGR's ${ref}`, { timeout: LIMIT }, async () => {
      const cfg = parseRunConfig({
        method: 'sce-ua',
        structure: 'gr4-cemaneige',
        period: { warmupStart: '2000-01-01', start: '2001-01-01', end: '2009-12-31' },
        columns: { date: 'Date', P: 'Ptot', PET: 'Evap', Q: 'Qmmd', T: 'Temp' },
        hypsometry: { path: join(FIX, 'hypsometry.csv'), basin },
      });
      const pr = await lumpedProblemFromFiles(join(FIX, `${basin}.csv`), cfg);
      const r = sceUaLumped(pr, sceUaLumpedOptions.parse({}), cfg.seed, {
        cancelled: () => false,
        progress: () => {},
      } as never);
      // the NSE is recomputed here from the returned parameters, not taken from the method's info
      const v = parameterVector(pr, r.parameters);
      const score = nse(pr.obs, simulateLumped(pr, v).subarray(pr.warmup)).value;
      expect(score).toBeGreaterThanOrEqual(ref);
      for (const [k, x] of Object.entries(r.parameters)) {
        const i = ['X1', 'X2', 'X3', 'X4', 'CTG', 'Kf'].indexOf(k);
        expect(x).toBeGreaterThanOrEqual(pr.lower[i]!);
        expect(x).toBeLessThanOrEqual(pr.upper[i]!);
      }
    });
  }
});
