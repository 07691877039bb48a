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

interface AirgrRow {
  gr4: number;
  snow: number;
  params: number[];
  seconds: number;
  /** GR4J's parameters where PEERS.md's first airGR table lists the basin. */
  gr4Params?: number[];
}

/** airGR's per-basin rows of ../shared/PEERS.md (GR4J NSE, CemaNeigeGR4J NSE, parameters, time). */
function airgrRows(): Record<string, AirgrRow> {
  const out: Record<string, AirgrRow> = {};
  const text = readFileSync(PEERS, 'utf8');
  const gr4Params: Record<string, number[]> = {};
  // the GR4J table: | camels-fr-19 J421191001 | 2001-2009 | 0.9576 | 262.43, -1.474, 267.74, 1.583 | ...
  for (const m of text.matchAll(/^\| camels-fr-19 ([A-Z]\d{9}) \| [^|]+ \| [\d.]+ \| ([-\d., ]+) \|/gm))
    gr4Params[m[1]!] = m[2]!.split(',').map(Number);
  for (const line of text.split('\n')) {
    const m = /^\| ([A-Z]\d{9}) \| ([\d.]+) \| ([\d.]+) \| ([-\d. ]+) \| ([\d.]+) \|/.exec(line);
    if (m)
      out[m[1]!] = {
        gr4: +m[2]!,
        snow: +m[3]!,
        params: m[4]!.trim().split(/\s+/).map(Number),
        seconds: +m[5]!,
        ...(gr4Params[m[1]!] ? { gr4Params: gr4Params[m[1]!] } : {}),
      };
  }
  return out;
}

/**
 * The 19 CAMELS-FR basins (../shared/data/camels-fr-19), GR4J and GR4J + CemaNeige calibrated by
 * the lumped SCE-UA method (in airGR's transformed space, with Michel's search and adjoint polish) on 2001-2009 with warm-up 2000,
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
      // airGR's own parameters (PEERS.md, 3 decimals) run by our model: airGR's NSE beyond its 4 printed decimals
      const theirs = structure === 'gr4' ? peers[basin]!.gr4Params : peers[basin]!.params;
      const atTheirs = theirs ? nse(pr.obs, simulateLumped(pr, theirs).subarray(pr.warmup)).value : undefined;
      row[structure] = {
        nse: score,
        airgrNse: ref,
        // full precision: ours minus airGR's printed (4-decimal) NSE
        delta: score - ref,
        atAirgrPrecision: +score.toFixed(4) >= ref,
        ...(atTheirs !== undefined
          ? { nseAtAirgrParameters: atTheirs, deltaToAirgrParameters: score - atTheirs }
          : {}),
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
  type Cell = { delta: number; atAirgrPrecision: boolean; deltaToAirgrParameters?: number };
  const summary = (k: 'gr4' | 'gr4-cemaneige') => {
    const c = rows.map((r) => r[k] as Cell);
    const withParams = c.filter((x) => x.deltaToAirgrParameters !== undefined);
    return {
      atOrAboveAirgrFullPrecision: c.filter((x) => x.delta >= 0).length,
      atOrAboveAirgrAt4Decimals: c.filter((x) => x.atAirgrPrecision).length,
      atOrAboveAirgrParametersInOurModel: `${withParams.filter((x) => x.deltaToAirgrParameters! >= 0).length} of ${withParams.length}`,
      of: c.length,
      worstDelta: Math.min(...c.map((x) => x.delta)),
    };
  };
  return {
    period: '2001-01-01..2009-12-31, warm-up 2000',
    method:
      "sce-ua (defaults), both structures in airGR's transformed space: airGR's start grid + 3 SCE-UA runs, each optimum refined by Michel's search and adjoint BFGS, then a small-box SCE-UA pass",
    basins: rows,
    summary: { gr4: summary('gr4'), 'gr4-cemaneige': summary('gr4-cemaneige') },
  };
}
