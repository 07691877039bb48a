import type { Command } from 'commander';
import { existsSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { FieldcalError, type RunRecord } from '../../src-shared/ipc';
import { methodNames } from '../services/calibration/registry';
import { JobHost } from '../services/jobs/host';
import { checkJob } from '../services/jobs/preflight';
import { refuse } from '../services/jobs/specs';
import { ProjectStore } from '../services/project/store';
import { resolveConfigPaths } from './configPaths';
import { progressBar } from './progress';

/**
 * Opens the project at `path`, creating it when the file does not exist. `recorder`: the caller only
 * appends its own run, so an existing project may be open in another process (the app, `serve`).
 */
export function openOrCreateProject(path: string, role: 'owner' | 'recorder' = 'owner'): ProjectStore {
  mkdirSync(dirname(path), { recursive: true });
  return existsSync(path)
    ? ProjectStore.open({ path, role })
    : ProjectStore.create({ path, name: 'Fieldcal runs' });
}

/** Runs one job to its end on a host, with a progress bar on stderr (TTY, not --json). */
export async function runToEnd(host: JobHost, run: RunRecord, json: boolean): Promise<RunRecord> {
  let bar: ReturnType<typeof progressBar> | null = null;
  let lastIt = 0;
  const off = host.onProgress((p) => {
    if (p.phase !== 'calibrating' || !p.total) return;
    bar ??= progressBar(`run ${run.id} ${run.method}`, p.total, { json });
    for (; lastIt < Math.min(p.iteration, p.total); lastIt++) bar.tick();
    if (process.env.FIELDCAL_LOG_PROGRESS)
      process.stderr.write(`progress run=${p.runId} iteration=${p.iteration} objective=${p.objective}\n`);
  });
  try {
    return await host.wait(run.id);
  } finally {
    off();
    (bar as ReturnType<typeof progressBar> | null)?.stop();
  }
}

/** Prints the finished run: one JSON object with --json, else a short summary. */
function report(store: ProjectStore, host: JobHost, run: RunRecord, json: boolean, started: number): void {
  const detail = store.runs.detail(run.id);
  const result = host.result(run.id);
  const out = {
    project: store.path,
    run: { id: detail.id, method: detail.method, status: detail.status, error: detail.error },
    evaluation: result?.evaluation ?? null,
    truthEvaluation: result?.truthEvaluation ?? null,
    info: result?.info ?? null,
    artifacts: detail.artifacts.map((a) => ({ kind: a.kind, path: a.path })),
    seconds: +((performance.now() - started) / 1000).toFixed(2),
  };
  if (json) process.stdout.write(`${JSON.stringify(out)}\n`);
  else {
    const t = result?.evaluation;
    process.stdout.write(
      `run ${detail.id} (${detail.method}) ${detail.status}${detail.error ? `: ${detail.error}` : ''}\n` +
        (t
          ? `test: spatial RMSE ${t.periods.test.spatialRmse.toFixed(4)}, cells with RMSE reduced ${t.summary.pctRmseReduced.toFixed(1)} %, ` +
            `CC > 0.75 ${t.summary.pctCcAbove075.toFixed(1)} %, KGE > 0.6 ${t.summary.pctKgeAbove06.toFixed(1)} %, ` +
            `mean EOF ${t.summary.meanEof.toFixed(3)}, mean SSIM ${t.summary.meanSsim.toFixed(3)}\n` +
            `parameter correlation with the truth: ${JSON.stringify(t.parameterCorrelation)}\n`
          : '') +
        `outputs: ${detail.artifacts.find((a) => a.kind === 'report')?.path ?? '(none)'}\n`,
    );
  }
  if (detail.status === 'failed') process.exitCode = 1;
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new FieldcalError('VALIDATION', `${path} is not readable JSON: ${(err as Error).message}`, {
      file: path,
    });
  }
}

/** Submits one job to a host on a project (created if missing), runs it to its end and prints the result. */
export async function runJobCli(
  spec: Record<string, unknown>,
  out: string,
  project: string | undefined,
  json: boolean,
  started: number,
): Promise<void> {
  // the checks jobs.submit runs (schema, method and options, the dataset's files and dates), before
  // anything is recorded: a missing dataset is refused naming dataset.path, not failed at run time
  const checked = await checkJob(spec);
  if (checked.issues.length || !checked.spec) throw refuse('job', checked.issues);
  const store = openOrCreateProject(resolve(project ?? join(out, 'runs.fieldcal')));
  const host = new JobHost(store);
  try {
    const run = host.submitParsed(checked.spec, { outDir: (id) => join(out, `run-${id}`) });
    if (!json) process.stderr.write(`run ${run.id} recorded in ${store.path}\n`);
    const done = await runToEnd(host, run, json);
    report(store, host, done, json, started);
  } finally {
    await host.close();
    store.close();
  }
}

/** `fieldcal twin` and `fieldcal resume`. */
export function addTwinCommands(program: Command): void {
  program
    .command('twin')
    .description(
      'identical-twin experiment: synthetic forcing, descriptors and hidden true vic3l parameters; calibrate with one method and score it against the truth',
    )
    .requiredOption('--method <name>', methodNames('gridded').join(' | '))
    .option(
      '--config <file>',
      'job JSON (strict): {"twin": {...}, "options": {...}, "seed": n, "threads": n}',
    )
    .option('--options <json>', 'method options as inline JSON (strict)')
    .option('--seed <n>', 'seed of the method', (v) => Number(v))
    .option(
      '--dataset <dir>',
      "build the twin on a smash-layout folder's forcing and descriptors (with --start, --end)",
    )
    .option('--start <date>', 'first day of the dataset period (YYYY-MM-DD)')
    .option('--end <date>', 'last day of the dataset period (YYYY-MM-DD)')
    .option('--out <dir>', 'output folder', 'fieldcal-twin')
    .option(
      '--project <file>',
      'project file recording the run (created if missing; default <out>/runs.fieldcal)',
    )
    .option('--json', 'print the result as one JSON object on stdout')
    .action(
      async (o: {
        method: string;
        dataset?: string;
        start?: string;
        end?: string;
        config?: string;
        options?: string;
        seed?: number;
        out: string;
        project?: string;
        json?: boolean;
      }) => {
        const started = performance.now();
        // relative dataset paths in the config are taken from its folder
        const cfg = o.config
          ? resolveConfigPaths(await readJson(o.config), o.config, ['dataset.path', 'dataset.flowdir'])
          : {};
        let options = cfg.options;
        if (o.options) {
          try {
            options = JSON.parse(o.options);
          } catch (err) {
            throw new FieldcalError('VALIDATION', `--options is not JSON: ${(err as Error).message}`, {
              field: 'options',
            });
          }
        }
        const spec = {
          kind: 'twin',
          ...cfg,
          method: o.method,
          ...(options ? { options } : {}),
          ...(o.seed !== undefined ? { seed: o.seed } : {}),
        };
        const dataset = o.dataset
          ? { path: resolve(o.dataset), start: o.start, end: o.end }
          : (cfg.dataset as Record<string, unknown> | undefined);
        await runJobCli(
          { ...spec, ...(dataset ? { dataset } : {}) },
          resolve(o.out),
          o.project,
          !!o.json,
          started,
        );
      },
    );

  program
    .command('resume')
    .description('resume an interrupted run of a project from its last checkpoint')
    .requiredOption('--project <file>', 'project file')
    .requiredOption('--run <id>', 'run id', (v) => Number(v))
    .option('--json', 'print the result as one JSON object on stdout')
    .action(async (o: { project: string; run: number; json?: boolean }) => {
      const started = performance.now();
      if (!existsSync(o.project))
        throw new FieldcalError('NOT_FOUND', `${o.project} not found`, { file: o.project, field: 'project' });
      const store = ProjectStore.open({ path: resolve(o.project) });
      const host = new JobHost(store);
      try {
        const run = host.resume(o.run);
        const done = await runToEnd(host, run, !!o.json);
        report(store, host, done, !!o.json, started);
      } finally {
        await host.close();
        store.close();
      }
    });
}
