import type { Command } from 'commander';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { FieldcalError, type RunMetric } from '../../src-shared/ipc';
import { readLumpedManifest } from '../services/datasets/lumpedDataset';
import {
  configOptions,
  gaugeProblemForConfig,
  loadDatasetForConfig,
  lumpedProblemFromFiles,
  parseRunConfig,
  type RunConfig,
} from '../services/calibration/lumped/config';
import type { MethodContext } from '../services/calibration/method';
import { methodNames, methodOf, methodOptions, runMethod } from '../services/calibration/registry';
import { writeFileAtomic } from '../services/common/atomicFile';
import { computeHandle } from '../services/compute';
import { kge, nse } from '../services/metrics/series';
import { parameterVector, simulateLumped } from '../services/calibration/lumped/problem';
import { resolveConfigPaths } from './configPaths';
import { progressBar } from './progress';
import { recordedRun } from './record';
import { runJobCli } from './twin';

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
    // relative paths in the config are taken from its folder (a gridded job's flow directions, a
    // lumped run's hypsometry); the dataset itself is --dataset, relative to the working folder
    raw = resolveConfigPaths(raw, path, ['dataset.flowdir', 'hypsometry.path']);
  }
  return method ? { ...raw, method } : raw;
}

interface CalibrateOutput {
  config: RunConfig;
  parameters: Record<string, number | number[]>;
  /** A method's own trained model (bucket-nexus), which `fieldcal simulate --params result.json` runs. */
  model?: Record<string, unknown>;
  metrics: { calibration: Record<string, unknown> };
}

/**
 * A lumped series (a basin CSV) or gauge discharge on a grid (a smash-layout folder), calibrated
 * in this process by the registry's runner for that problem kind.
 */
async function calibrateSeries(
  kind: 'lumped' | 'gauges',
  method: string,
  dataset: string,
  cfg: RunConfig,
  options: Record<string, unknown>,
  json: boolean,
): Promise<CalibrateOutput> {
  let bar: ReturnType<typeof progressBar> | null = null;
  const ctx: MethodContext = {
    compute: await computeHandle(),
    cancelled: () => false,
    progress: (p) => {
      bar ??= progressBar(method, p.total, { json });
      bar.update(p.iteration);
    },
  };
  try {
    if (kind === 'lumped') {
      const pr = await lumpedProblemFromFiles(dataset, cfg);
      const r = await runMethod('lumped', method, pr, options, cfg.seed, ctx);
      const q = (r.q ?? simulateLumped(pr, parameterVector(pr, r.parameters))).subarray(pr.warmup);
      return {
        config: cfg,
        parameters: r.parameters,
        ...(r.model ? { model: r.model } : {}),
        metrics: { calibration: { nse: nse(pr.obs, q).value, kge: kge(pr.obs, q).value } },
      };
    }
    const pr = gaugeProblemForConfig(await loadDatasetForConfig(dataset, cfg), cfg);
    const r = await runMethod('gauges', method, pr, options, cfg.seed, ctx);
    return {
      config: cfg,
      parameters: Object.fromEntries(Object.entries(r.parameters).map(([k, v]) => [k, Array.from(v)])),
      metrics: {
        calibration: Object.fromEntries(r.scores.map((s) => [s.code, { nse: s.nse, kge: s.kge }])),
      },
    };
  } finally {
    (bar as ReturnType<typeof progressBar> | null)?.stop();
  }
}

/** Metric rows of a calibration: NSE and KGE of the basin, or at each gauge. */
function calibrationMetrics(cal: Record<string, unknown>): RunMetric[] {
  const row = (target: string, metric: string, value: number) => ({
    period: 'calibration',
    target,
    metric,
    value,
  });
  return typeof cal.nse === 'number'
    ? [row('Q', 'nse', cal.nse), row('Q', 'kge', cal.kge as number)]
    : Object.entries(cal as Record<string, { nse: number; kge: number }>).flatMap(([code, m]) => [
        row(code, 'nse', m.nse),
        row(code, 'kge', m.kge),
      ]);
}

/** `fieldcal calibrate --dataset PATH [--method NAME] [--config run.json] [--out DIR] [--json]`. */
export function addCalibrateCommand(program: Command): void {
  program
    .command('calibrate')
    .description(
      'calibrate GR4J on a lumped basin CSV, GR4J + lr on gauge discharge of a smash-layout folder, or vic3l against its et/ or sm/ stack',
    )
    .requiredOption('--dataset <path>', 'basin CSV (date, P, E, Qmm) or smash-layout folder')
    .option(
      '--method <name>',
      `a method of the registry that accepts the dataset (a basin CSV: ${methodNames('lumped').join(' | ')}; gauge discharge on a folder: ${methodNames('gauges').join(' | ')}; a folder with an et/ or sm/ stack: ${methodNames('gridded').join(' | ')}, vic3l as a job whose config is then {"dataset": {"start", "end"}, "split", "calibrated", "bounds", "options", "seed"})`,
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
        const method = (cfgInput as { method?: string }).method;
        if (!method) throw new FieldcalError('VALIDATION', `${name}: method: required`, { field: 'method' });
        // the problem kind follows the dataset: a file is a lumped series; a folder is a gridded
        // target (vic3l against et/ or sm/, as a job in a worker thread) for methods that accept
        // one, else gauge discharge
        // (a lumped dataset folder, `fieldcal assemble` of kind lumped, is a lumped series too)
        const kind =
          !st.isDirectory() || (await readLumpedManifest(o.dataset))
            ? 'lumped'
            : methodOf(method).problems.gridded
              ? 'gridded'
              : 'gauges';
        if (kind === 'gridded') {
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
        // refused configs and options are refused before anything is recorded
        const cfg = parseRunConfig(cfgInput, name);
        methodOf(method, kind);
        const options = methodOptions(method, kind, configOptions(cfg));
        const resultFile = o.out ? join(resolve(o.out), 'result.json') : null;
        const { result: out } = await recordedRun(
          o.project ? { path: resolve(o.project), create: true } : undefined,
          {
            name: `calibrate ${method} ${basename(o.dataset)}`,
            method,
            options: { dataset: resolve(o.dataset), config: cfg, options },
            seed: cfg.seed,
          },
          async () => {
            const r = await calibrateSeries(kind, method, o.dataset, cfg, options, !!o.json);
            const out = { ...r, seconds: +((performance.now() - started) / 1000).toFixed(2) };
            if (resultFile) {
              await mkdir(resolve(o.out!), { recursive: true });
              await writeFileAtomic(resultFile, (tmp) => writeFile(tmp, `${JSON.stringify(out, null, 2)}\n`));
            }
            return out;
          },
          (r) => ({
            metrics: calibrationMetrics(r.metrics.calibration),
            files: resultFile ? [{ kind: 'result', path: resultFile }] : [],
          }),
        );
        process.stdout.write(
          o.json
            ? `${JSON.stringify(out)}\n`
            : `${JSON.stringify(out.metrics)}\nparameters: ${JSON.stringify(out.parameters).slice(0, 300)}\n`,
        );
      },
    );
}
