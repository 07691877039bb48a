import type { Command } from 'commander';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { FieldcalError } from '../../src-shared/ipc';
import {
  boundsFor,
  checkConfigAgainstData,
  parseRunConfig,
  type RunConfig,
} from '../services/calibration/config';
import { calibrateGr4Gradient } from '../services/calibration/gradient/gr4Lumped';
import {
  HDA_PR_BOUNDS,
  HDA_PR_PARAMETERS,
  problemFromDataset,
  trainHdaPr,
} from '../services/calibration/hda-pr';
import { sceUa } from '../services/calibration/sce-ua';
import { writeFileAtomic } from '../services/common/atomicFile';
import { readLumpedCsv } from '../services/datasets/lumpedCsv';
import { loadSmashDataset } from '../services/datasets/smashDataset';
import { kge, nse } from '../services/metrics/series';
import { initialState, runGr4 } from '../services/physics/gr4/forward';
import { progressBar } from './progress';
import { openOrCreateProject, runJobCli } from './twin';

const GR4_NAMES = ['X1', 'X2', 'X3', 'X4'] as const;
const GR4_LUMPED_BOUNDS = { lower: [10, -5, 10, 0.5], upper: [2500, 5, 1000, 10] };

async function readConfig(path: string | undefined, method: string | undefined): Promise<unknown> {
  let raw: Record<string, unknown> = {};
  if (path) {
    try {
      raw = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new FieldcalError('VALIDATION', `${path} is not readable JSON: ${(err as Error).message}`, {
        file: path,
      });
    }
  }
  return method ? { ...raw, method } : raw;
}

/** Lumped GR4J calibration (sce-ua or gradient) on a basin CSV. */
async function calibrateLumped(dataset: string, cfgInput: unknown, configName: string, json: boolean) {
  const cfg = parseRunConfig(cfgInput, configName);
  if (cfg.method === 'hda-pr')
    throw new FieldcalError('VALIDATION', 'hda-pr needs a gridded dataset (a smash-layout folder)', {
      field: 'method',
    });
  const d = await readLumpedCsv(dataset);
  checkConfigAgainstData(cfg, { first: d.dates[0]!, last: d.dates.at(-1)!, gauges: [] });
  const day = (s: string) => d.dates.findIndex((x) => x.toISOString().slice(0, 10) === s);
  const i0 = day(cfg.period.warmupStart ?? cfg.period.start);
  const i1 = day(cfg.period.start);
  const i2 = day(cfg.period.end);
  const P = d.P.subarray(i0, i2 + 1);
  const E = d.E.subarray(i0, i2 + 1);
  const obs = d.Q.subarray(i1, i2 + 1);
  const b = boundsFor(cfg, GR4_NAMES, GR4_LUMPED_BOUNDS);
  let x: number[];
  if (cfg.method === 'gradient') {
    const r = calibrateGr4Gradient({ P, E, obs, warmup: i1 - i0, lower: b.lower, upper: b.upper });
    x = [r.params.X1, r.params.X2, r.params.X3, r.params.X4];
  } else {
    const bar = progressBar('sce-ua', 2000, { json });
    let last = 0;
    const r = sceUa(
      (v) => {
        const p = { X1: v[0]!, X2: v[1]!, X3: v[2]!, X4: v[3]! };
        return 1 - nse(obs, runGr4(p, P, E, initialState(p.X1, p.X3)).Q.subarray(i1 - i0)).value;
      },
      b.lower,
      b.upper,
      { seed: cfg.seed },
      (_, __, runs) => {
        for (; last < Math.min(runs, 2000); last++) bar.tick();
      },
    );
    bar.stop();
    x = Array.from(r.best);
  }
  const p = { X1: x[0]!, X2: x[1]!, X3: x[2]!, X4: x[3]! };
  const q = runGr4(p, P, E, initialState(p.X1, p.X3)).Q.subarray(i1 - i0);
  return {
    config: cfg,
    parameters: p,
    metrics: { calibration: { nse: nse(obs, q).value, kge: kge(obs, q).value } },
  };
}

/** A smash-layout folder over a run config's period (warm-up included), checked against the config. */
export async function loadDatasetForConfig(dataset: string, cfg: RunConfig) {
  const ds = await loadSmashDataset({
    dir: dataset,
    start: new Date(`${cfg.period.warmupStart ?? cfg.period.start}T00:00:00Z`),
    end: new Date(`${cfg.period.end}T00:00:00Z`),
  });
  checkConfigAgainstData(cfg, {
    first: ds.dates[0]!,
    last: ds.dates.at(-1)!,
    gauges: ds.gauges.map((g) => g.code),
  });
  return ds;
}

/** hda-pr on a smash-layout folder. */
async function calibrateGridded(dataset: string, cfgInput: unknown, configName: string, json: boolean) {
  const cfg = parseRunConfig(cfgInput, configName);
  const ds = await loadDatasetForConfig(dataset, cfg);
  const problem = problemFromDataset(ds, boundsFor(cfg, HDA_PR_PARAMETERS, HDA_PR_BOUNDS));
  if (cfg.gauges) problem.gauges = problem.gauges.filter((g) => cfg.gauges!.includes(g.code));
  const warmup = ds.dates.findIndex((x) => x.toISOString().slice(0, 10) === cfg.period.start);
  const bar = progressBar('hda-pr', cfg.iterations, { json });
  const r = trainHdaPr(
    problem,
    { hidden: [16, 16], iterations: cfg.iterations, learningRate: 0.003, seed: cfg.seed, warmup },
    () => bar.tick(),
  );
  bar.stop();
  return {
    config: cfg,
    parameters: Object.fromEntries(HDA_PR_PARAMETERS.map((k) => [k, Array.from(r.params[k])])),
    metrics: { calibration: Object.fromEntries(r.scores.map((s) => [s.code, { nse: s.nse, kge: s.kge }])) },
  };
}

/**
 * Records a finished calibration in a project, in one transaction: the run with its resolved config
 * and seed, its metrics (per gauge for gridded runs) and its result file.
 */
function recordCalibration(
  project: string,
  dataset: string,
  out: { config: { method: string; seed: number }; metrics: { calibration: Record<string, unknown> } },
  resultFile: string | null,
): void {
  const store = openOrCreateProject(project);
  try {
    store.transaction(() => {
      const run = store.runs.create({
        name: `calibrate ${out.config.method} ${basename(dataset)}`,
        method: out.config.method,
        options: { dataset, config: out.config },
        seed: out.config.seed,
      });
      store.runs.setStatus(run.id, 'running');
      const cal = out.metrics.calibration;
      const rows =
        typeof cal.nse === 'number'
          ? [
              { period: 'calibration', target: 'Q', metric: 'nse', value: cal.nse },
              { period: 'calibration', target: 'Q', metric: 'kge', value: cal.kge as number },
            ]
          : Object.entries(cal as Record<string, { nse: number; kge: number }>).flatMap(([code, m]) => [
              { period: 'calibration', target: code, metric: 'nse', value: m.nse },
              { period: 'calibration', target: code, metric: 'kge', value: m.kge },
            ]);
      store.runs.addMetrics(run.id, rows);
      if (resultFile) {
        const bytes = readFileSync(resultFile);
        store.runs.addArtifact({
          runId: run.id,
          kind: 'result',
          path: resultFile,
          sizeBytes: bytes.length,
          checksum: createHash('sha256').update(bytes).digest('hex'),
        });
      }
      store.runs.setStatus(run.id, 'succeeded');
    });
  } finally {
    store.close();
  }
}

/** `fieldcal calibrate --dataset PATH [--method NAME] [--config run.json] [--out DIR] [--json]`. */
export function addCalibrateCommand(program: Command): void {
  program
    .command('calibrate')
    .description(
      'calibrate GR4J on a lumped basin CSV (sce-ua, gradient) or GR4J + lr on a smash-layout folder (hda-pr)',
    )
    .requiredOption('--dataset <path>', 'basin CSV (date, P, E, Qmm) or smash-layout folder')
    .option(
      '--method <name>',
      'sce-ua | gradient | hda-pr; on a folder with an et/ stack also ann | dpl (vic3l against ET; the config is then a job: {"dataset": {"start", "end"}, "split", "calibrated", "bounds", "options", "seed"})',
    )
    .option('--config <file>', 'run config JSON (strict: unknown keys are refused)')
    .option('--out <dir>', 'folder for result.json')
    .option(
      '--project <file>',
      'record the run (config, seed, metrics, result file) in this project (created if missing)',
    )
    .option('--json', 'print the result as one JSON object on stdout')
    .action(
      async (o: {
        dataset: string;
        method?: string;
        config?: string;
        out?: string;
        project?: string;
        json?: boolean;
      }) => {
        const started = performance.now();
        const cfgInput = await readConfig(o.config, o.method);
        const st = await stat(o.dataset).catch(() => null);
        if (!st)
          throw new FieldcalError('NOT_FOUND', `${o.dataset} not found`, {
            file: o.dataset,
            field: 'dataset',
          });
        const name = o.config ?? 'run config';
        // a folder with an ET stack and a gridded method: vic3l against ET, as a job in a worker thread
        const method = o.method ?? (cfgInput as { method?: string }).method;
        if (st.isDirectory() && method && method !== 'hda-pr') {
          const { method: _m, ...job } = cfgInput as Record<string, unknown>;
          const out = resolve(o.out ?? 'fieldcal-calibrate');
          await runJobCli(
            {
              kind: 'gridded',
              ...job,
              method,
              dataset: { ...(job.dataset as object), path: resolve(o.dataset) },
            },
            out,
            o.project,
            !!o.json,
            started,
          );
          return;
        }
        const result = st.isDirectory()
          ? await calibrateGridded(o.dataset, cfgInput, name, !!o.json)
          : await calibrateLumped(o.dataset, cfgInput, name, !!o.json);
        const out = { ...result, seconds: +((performance.now() - started) / 1000).toFixed(2) };
        let resultFile: string | null = null;
        if (o.out) {
          await mkdir(resolve(o.out), { recursive: true });
          resultFile = join(resolve(o.out), 'result.json');
          await writeFileAtomic(resultFile, (tmp) => writeFile(tmp, `${JSON.stringify(out, null, 2)}\n`));
        }
        if (o.project) recordCalibration(resolve(o.project), resolve(o.dataset), out, resultFile);
        process.stdout.write(
          o.json
            ? `${JSON.stringify(out)}\n`
            : `${JSON.stringify(out.metrics)}\nparameters: ${JSON.stringify(out.parameters).slice(0, 300)}\n`,
        );
      },
    );
}
