import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { FieldcalError } from '../../src-shared/ipc';
import {
  checkConfigAgainstData,
  loadDatasetForConfig,
  parseRunConfig,
  type RunConfig,
} from '../services/calibration/lumped/config';
import {
  bucketOptionsOf,
  loadNexus,
  nexusModelSchema,
  simulateNet,
} from '../services/calibration/nexus/model';
import { computeHandle } from '../services/compute';
import { GAUGE_PARAMETERS } from '../services/calibration/gauges/problem';
import { writeFileAtomic } from '../services/common/atomicFile';
import { sha256 } from '../services/common/checksum';
import { readLumpedCsv } from '../services/datasets/lumpedCsv';
import { kge, nse } from '../services/metrics/series';
import { initialState, runGr4 } from '../services/physics/gr4/forward';
import { gridSnowCells, runGr4Lr, type Gr4LrParams } from '../services/physics/gr4lr';
import { ProjectStore } from '../services/project/store';
import { GeoTiffRaster } from '../services/rasters/geotiff';
import { resolveConfigPaths } from './configPaths';

const day = (d: Date) => d.toISOString().slice(0, 10);

async function readJsonArg(v: string, field: string): Promise<Record<string, unknown>> {
  const text = v.trim().startsWith('{') ? v : await readFile(v, 'utf8').catch(() => null);
  if (text === null) throw new FieldcalError('NOT_FOUND', `${v} not found`, { file: v, field });
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new FieldcalError('VALIDATION', `${field} is not JSON: ${(err as Error).message}`, { field });
  }
}

/** A finite number from a parameter object, or a typed error naming it. */
function num(o: Record<string, unknown>, k: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new FieldcalError('VALIDATION', `parameter ${k} must be a number (got ${JSON.stringify(v)})`, {
      field: `params.${k}`,
    });
  return v;
}

/**
 * A trained bucket-nexus model (a calibrate or job result.json with `model`, or the model itself)
 * on a basin CSV over the config's period: the LSTM over the forcing from the warm-up start, the
 * bucket integrating its fractions, scored after the warm-up (calibration/nexus/model.ts).
 */
async function simulateNexusModel(dataset: string, model: Record<string, unknown>, cfg: RunConfig) {
  const m = nexusModelSchema.safeParse(model);
  if (!m.success)
    throw new FieldcalError(
      'VALIDATION',
      `params: not a bucket-nexus model (${m.error.issues[0]?.message})`,
      {
        field: 'params.model',
      },
    );
  const d = await readLumpedCsv(dataset, cfg.columns);
  checkConfigAgainstData(cfg, { first: d.dates[0]!, last: d.dates.at(-1)!, gauges: [] });
  const at = (s: string) => d.dates.findIndex((x) => day(x) === s);
  const i0 = at(cfg.period.warmupStart ?? cfg.period.start);
  const i1 = at(cfg.period.start);
  const i2 = at(cfg.period.end);
  const f = {
    P: d.P.subarray(i0, i2 + 1),
    E: d.E.subarray(i0, i2 + 1),
    ...(d.T && m.data.stats.inputs.includes('T') ? { T: d.T.subarray(i0, i2 + 1) } : {}),
  };
  const { tf } = await computeHandle();
  const net = loadNexus(tf, m.data);
  const q = simulateNet(tf, net, f, m.data.stats, m.data.head, bucketOptionsOf(m.data)).Q.subarray(i1 - i0);
  net.dispose();
  return { q, d, i1 };
}

/** Lumped GR4J with given parameters (or a bucket-nexus model) on a basin CSV over the config's period. */
async function simulateLumped(dataset: string, paramsArg: string, cfgInput: Record<string, unknown>) {
  const cfg = parseRunConfig(cfgInput, 'run config');
  const raw = await readJsonArg(paramsArg, 'params');
  const model = raw.kind === 'bucket-nexus' ? raw : (raw.model as Record<string, unknown> | undefined);
  if (model && typeof model === 'object') {
    const { q, d, i1 } = await simulateNexusModel(dataset, model, cfg);
    const obs = d.Q.subarray(i1, i1 + q.length);
    const rows = ['date,Q_obs_mm,Q_sim_mm'];
    for (let t = 0; t < q.length; t++)
      rows.push(`${day(d.dates[i1 + t]!)},${Number.isFinite(obs[t]!) ? obs[t] : ''},${q[t]!.toFixed(6)}`);
    return {
      config: cfg,
      parameters: { model: 'bucket-nexus' },
      metrics: { simulation: { nse: nse(obs, q).value, kge: kge(obs, q).value } },
      csv: rows.join('\n'),
    };
  }
  const src = (raw.parameters as Record<string, unknown> | undefined) ?? raw; // a calibrate result.json works too
  const p = { X1: num(src, 'X1'), X2: num(src, 'X2'), X3: num(src, 'X3'), X4: num(src, 'X4') };
  const d = await readLumpedCsv(dataset);
  checkConfigAgainstData(cfg, { first: d.dates[0]!, last: d.dates.at(-1)!, gauges: [] });
  const at = (s: string) => d.dates.findIndex((x) => day(x) === s);
  const i0 = at(cfg.period.warmupStart ?? cfg.period.start);
  const i1 = at(cfg.period.start);
  const i2 = at(cfg.period.end);
  const q = runGr4(
    p,
    d.P.subarray(i0, i2 + 1),
    d.E.subarray(i0, i2 + 1),
    initialState(p.X1, p.X3),
  ).Q.subarray(i1 - i0);
  const obs = d.Q.subarray(i1, i2 + 1);
  const rows = ['date,Q_obs_mm,Q_sim_mm'];
  for (let t = 0; t < q.length; t++)
    rows.push(`${day(d.dates[i1 + t]!)},${Number.isFinite(obs[t]!) ? obs[t] : ''},${q[t]!.toFixed(6)}`);
  return {
    config: cfg,
    parameters: p,
    metrics: { simulation: { nse: nse(obs, q).value, kge: kge(obs, q).value } },
    csv: rows.join('\n'),
  };
}

/** GR4J + lr on a smash-layout folder with parameter GeoTIFFs (X1..X4, llr) on the catchment grid. */
async function simulateGridded(dataset: string, paramsDir: string, cfgInput: Record<string, unknown>) {
  const cfg = parseRunConfig(cfgInput, 'run config');
  const ds = await loadDatasetForConfig(dataset, cfg);
  const g = ds.catchment.grid;
  const params = {} as Record<string, Float64Array>;
  // CemaNeige per cell when the run learned it (CTG.tif and Kf.tif beside the others) and the dataset has temperature
  const withSnow = ds.T !== undefined && ['CTG', 'Kf'].every((n) => existsSync(join(paramsDir, `${n}.tif`)));
  for (const name of [...GAUGE_PARAMETERS, ...(withSnow ? (['CTG', 'Kf'] as const) : [])]) {
    const path = join(paramsDir, `${name}.tif`);
    const r = await GeoTiffRaster.open(path);
    try {
      if (r.info.width !== g.cols || r.info.height !== g.rows)
        throw new FieldcalError(
          'INCONSISTENT_DATA',
          `${path} is ${r.info.width} x ${r.info.height}, the catchment grid ${g.cols} x ${g.rows}`,
          { file: path, field: 'params' },
        );
      const v = await r.readBandValues(0);
      const cells: number[] = [];
      for (let i = 0; i < v.length; i++) if (g.mask![i]) cells.push(v[i]!);
      const bad = cells.findIndex((x) => !Number.isFinite(x));
      if (bad >= 0)
        throw new FieldcalError('INVALID_FILE', `${path} has no value at active cell ${bad}`, {
          file: path,
          field: 'params',
        });
      params[name] = Float64Array.from(cells);
    } finally {
      await r.close();
    }
  }
  const dt = ds.stepSeconds ?? 86400;
  const snow = withSnow ? gridSnowCells(ds.P, ds.T!, ds.dates.length, ds.net.cells, dt) : undefined;
  const q = runGr4Lr(ds.net, params as unknown as Gr4LrParams, ds.P, ds.E, ds.dates.length, dt, snow);
  const i1 = ds.dates.findIndex((x) => day(x) === cfg.period.start);
  const n = ds.net.cells;
  const gauges = ds.gauges.filter((x) => !cfg.gauges || cfg.gauges.includes(x.code));
  const metrics: Record<string, { nse: number; kge: number }> = {};
  const header = ['date', ...gauges.flatMap((x) => [`${x.code}_obs_m3s`, `${x.code}_sim_m3s`])];
  const rows = [header.join(',')];
  const series = gauges.map((x) => {
    const sim = Float64Array.from({ length: ds.dates.length - i1 }, (_, t) => q[(i1 + t) * n + x.cell]!);
    const obs = x.obs.subarray(i1);
    metrics[x.code] = { nse: nse(obs, sim).value, kge: kge(obs, sim).value };
    return { obs, sim };
  });
  for (let t = 0; t < ds.dates.length - i1; t++)
    rows.push(
      [
        day(ds.dates[i1 + t]!),
        ...series.flatMap((s) => [Number.isFinite(s.obs[t]!) ? s.obs[t] : '', s.sim[t]!.toFixed(5)]),
      ].join(','),
    );
  return { config: cfg, parameters: paramsDir, metrics: { simulation: metrics }, csv: rows.join('\n') };
}

/** `fieldcal simulate` and `fieldcal export`. */
export function addSimulateCommands(program: Command): void {
  program
    .command('simulate')
    .description('run the model with given parameters on a dataset and write the simulation and its metrics')
    .requiredOption('--dataset <path>', 'basin CSV (date, P, E, Qmm) or smash-layout folder')
    .requiredOption(
      '--params <json|file|dir>',
      'lumped: {"X1":..,"X4":..} or a calibrate result.json; gridded: folder of X1..X4 and llr GeoTIFFs',
    )
    .option('--config <file>', 'run config JSON (period, warm-up, gauges); strict')
    .option('--out <dir>', 'folder for simulation.csv and result.json')
    .option('--json', 'print the result as one JSON object on stdout')
    .action(async (o: { dataset: string; params: string; config?: string; out?: string; json?: boolean }) => {
      const started = performance.now();
      const given = o.config ? await readJsonArg(o.config, 'config') : {};
      // a config file's relative hypsometry path is taken from its folder (inline JSON: the working folder)
      const cfg =
        o.config && !o.config.trim().startsWith('{')
          ? resolveConfigPaths(given, o.config, ['hypsometry.path'])
          : given;
      const st = await stat(o.dataset).catch(() => null);
      if (!st)
        throw new FieldcalError('NOT_FOUND', `${o.dataset} not found`, { file: o.dataset, field: 'dataset' });
      const r = st.isDirectory()
        ? await simulateGridded(o.dataset, o.params, cfg)
        : await simulateLumped(o.dataset, o.params, cfg);
      const { csv, ...result } = r;
      const out = { ...result, seconds: +((performance.now() - started) / 1000).toFixed(2) };
      if (o.out) {
        const dir = resolve(o.out);
        await mkdir(dir, { recursive: true });
        await writeFileAtomic(join(dir, 'simulation.csv'), (tmp) => writeFile(tmp, `${csv}\n`));
        await writeFileAtomic(join(dir, 'result.json'), (tmp) =>
          writeFile(tmp, `${JSON.stringify(out, null, 2)}\n`),
        );
      }
      process.stdout.write(o.json ? `${JSON.stringify(out)}\n` : `${JSON.stringify(out.metrics)}\n`);
    });

  program
    .command('export')
    .description("copy a run's parameter GeoTIFFs and report out of a project, checking each file's checksum")
    .requiredOption('--project <file>', 'project file')
    .requiredOption('--run <id>', 'run id', (v) => Number(v))
    .requiredOption('--out <dir>', 'destination folder')
    .option('--json', 'print the copied files as JSON')
    .action(async (o: { project: string; run: number; out: string; json?: boolean }) => {
      // a recorder: only reads the run and records its pending writes, so the project may be open
      // in the app or `fieldcal serve` meanwhile
      const store = ProjectStore.open({ path: resolve(o.project), role: 'recorder' });
      try {
        const arts = store.runs.artifacts(o.run);
        const wanted = arts.filter(
          (a) =>
            a.kind === 'parameter-geotiff' ||
            a.kind === 'simulation-geotiff' ||
            a.kind === 'report' ||
            a.kind === 'report-file' ||
            a.kind === 'result',
        );
        if (!wanted.length)
          throw new FieldcalError('NOT_FOUND', `run ${o.run} has no parameter GeoTIFFs or report to export`, {
            field: 'run',
          });
        const dir = resolve(o.out);
        await mkdir(join(dir, 'report'), { recursive: true });
        const copied: string[] = [];
        for (const a of wanted) {
          const bytes = await readFile(a.path).catch(() => null);
          if (!bytes)
            throw new FieldcalError('NOT_FOUND', `${a.path} (artifact ${a.id}) is missing`, { file: a.path });
          const sum = sha256(bytes);
          if (a.checksum && sum !== a.checksum)
            throw new FieldcalError(
              'INCONSISTENT_DATA',
              `${a.path} changed since the run wrote it (checksum differs)`,
              {
                file: a.path,
              },
            );
          const dest = join(dir, a.kind.startsWith('report') ? 'report' : '', basename(a.path));
          // recorded while it runs: a kill mid-write leaves a temporary file the next open removes
          await store.trackWrite(dest, () => writeFileAtomic(dest, (tmp) => writeFile(tmp, bytes)));
          copied.push(dest);
        }
        process.stdout.write(
          o.json
            ? `${JSON.stringify({ run: o.run, files: copied })}\n`
            : `${copied.length} files written to ${dir}\n`,
        );
      } finally {
        store.close();
      }
    });
}
