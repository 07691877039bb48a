import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lumpedProblemFromFiles, parseRunConfig } from '../src-main/services/calibration/lumped/config';
import { parameterVector, simulateLumped } from '../src-main/services/calibration/lumped/problem';
import { sceUaLumped } from '../src-main/services/calibration/methods/sce-ua/index';
import { sceUaLumpedOptions } from '../src-main/services/calibration/methods/sce-ua/options';
import { nse } from '../src-main/services/metrics/series';

const HERE = dirname(fileURLToPath(import.meta.url));
const DATA = resolve(HERE, '../../shared/data/camels-fr-19');
const PEERS = resolve(HERE, '../../shared/PEERS.md');

/** airGR's per-basin rows of ../shared/PEERS.md (GR4J NSE, CemaNeigeGR4J NSE, parameters, time). */
function airgrRows(): Record<string, { gr4: number; snow: number; params: number[]; seconds: number }> {
  const out: Record<string, { gr4: number; snow: number; params: number[]; seconds: number }> = {};
  for (const line of readFileSync(PEERS, 'utf8').split('\n')) {
    const m = /^\| ([A-Z]\d{9}) \| ([\d.]+) \| ([\d.]+) \| ([-\d. ]+) \| ([\d.]+) \|/.exec(line);
    if (m)
      out[m[1]!] = {
        gr4: +m[2]!,
        snow: +m[3]!,
        params: m[4]!.trim().split(/\s+/).map(Number),
        seconds: +m[5]!,
      };
  }
  return out;
}

/**
 * The 19 CAMELS-FR basins (../shared/data/camels-fr-19), GR4J and GR4J + CemaNeige calibrated by
 * SCE-UA (+ local search and adjoint polish for the snow structure) on 2001-2009 with warm-up 2000,
 * NSE next to airGR 1.7.6's Calibration_Michel numbers from PEERS.md.
 */
export async function camelsBench(): Promise<Record<string, unknown>> {
  const peers = airgrRows();
  const basins = Object.keys(peers).sort();
  const rows: Record<string, unknown>[] = [];
  for (const basin of basins) {
    const row: Record<string, unknown> = { basin, airgr: peers[basin] };
    for (const structure of ['gr4', 'gr4-cemaneige'] as const) {
      const cfg = parseRunConfig({
        method: 'sce-ua',
        structure,
        period: { warmupStart: '2000-01-01', start: '2001-01-01', end: '2009-12-31' },
        columns: { date: 'Date', P: 'Ptot', PET: 'Evap', Q: 'Qmmd', T: 'Temp' },
        ...(structure === 'gr4-cemaneige'
          ? { hypsometry: { path: join(DATA, 'hypsometry.csv'), basin } }
          : {}),
      });
      const pr = await lumpedProblemFromFiles(join(DATA, 'ts', `${basin}.csv`), cfg);
      const t0 = performance.now();
      const r = sceUaLumped(pr, sceUaLumpedOptions.parse({}), cfg.seed, {
        cancelled: () => false,
        progress: () => {},
      } as never);
      const seconds = (performance.now() - t0) / 1000;
      const score = nse(
        pr.obs,
        simulateLumped(pr, parameterVector(pr, r.parameters)).subarray(pr.warmup),
      ).value;
      const ref = structure === 'gr4' ? peers[basin]!.gr4 : peers[basin]!.snow;
      row[structure] = {
        nse: +score.toFixed(4),
        airgrNse: ref,
        delta: +(score - ref).toFixed(4),
        parameters: Object.fromEntries(Object.entries(r.parameters).map(([k, v]) => [k, +v.toFixed(4)])),
        seconds: +seconds.toFixed(2),
        runs: r.info.runs,
      };
      process.stderr.write(
        `${basin} ${structure} NSE ${score.toFixed(4)} (airGR ${ref}) ${seconds.toFixed(1)} s\n`,
      );
    }
    rows.push(row);
  }
  const snow = rows.map((r) => (r['gr4-cemaneige'] as { delta: number }).delta);
  const gr4 = rows.map((r) => (r.gr4 as { delta: number }).delta);
  return {
    period: '2001-01-01..2009-12-31, warm-up 2000',
    method: 'sce-ua (defaults) ; gr4-cemaneige in airGR transformed space + Michel search + adjoint BFGS',
    basins: rows,
    summary: {
      'gr4-cemaneige': {
        atOrAboveAirgr: snow.filter((d) => d >= 0).length,
        of: snow.length,
        worstDelta: Math.min(...snow),
      },
      gr4: { atOrAboveAirgr: gr4.filter((d) => d >= 0).length, of: gr4.length, worstDelta: Math.min(...gr4) },
    },
  };
}
