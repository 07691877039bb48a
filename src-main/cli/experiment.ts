import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { FieldcalError } from '../../src-shared/ipc';
import { ganPoPaperExperiment, PAPER_RUNS } from '../services/calibration/experiments/ganPoPaper';
import { summaryRows, writePaperReport } from '../services/calibration/experiments/paperReport';
import { LocalSimulator } from '../services/calibration/gridded/simulator';
import { computeHandle } from '../services/compute';
import { ModelPool } from '../services/jobs/modelPool';

/** Options of the GAN-PO paper experiment (CLI and `npm run bench -- gan-po-paper`). */
export interface PaperExperimentArgs {
  out: string;
  seeds: number[];
  ablationSeeds?: number[] | undefined;
  baselineSeeds: number[];
  epochs?: number | undefined;
  dplEpochs?: number | undefined;
  runs?: string[] | undefined;
  surrogate?: Record<string, unknown> | undefined;
  /** GAN-PO options over the paper's in every GAN-PO run (e.g. `pretrainEpochs`). */
  ganPo?: Record<string, unknown> | undefined;
  fresh?: boolean | undefined;
  threads?: number | undefined;
  quiet?: boolean | undefined;
}

/**
 * Runs the paper's comparison, writes its report into `out` and returns what the bench prints:
 * the tables as numbers, parameter recovery, seconds per epoch and in total, h()'s design and its
 * measured error, and the live tensor count at the end of every GAN-PO epoch.
 */
export async function runPaperExperiment(a: PaperExperimentArgs): Promise<Record<string, unknown>> {
  const compute = await computeHandle();
  const started = performance.now();
  const { twin, runs } = await ganPoPaperExperiment({
    compute,
    sim: async (pr) =>
      a.threads === 1 ? new LocalSimulator(pr) : ModelPool.create(pr, a.threads || undefined),
    seeds: a.seeds,
    ablationSeeds: a.ablationSeeds,
    baselineSeeds: a.baselineSeeds,
    epochs: a.epochs,
    dplEpochs: a.dplEpochs,
    runs: a.runs,
    surrogate: a.surrogate,
    ganPo: a.ganPo,
    fresh: a.fresh,
    dir: join(resolve(a.out), 'runs'),
    log: a.quiet ? undefined : (line) => process.stderr.write(`${line}\n`),
  });
  const result = {
    twin: { rows: twin.problem.rows, cols: twin.problem.cols, cells: twin.problem.cells, seed: 1 },
    compute: { backend: compute.backend, threads: compute.threads },
    train: summaryRows(runs, 'train'),
    test: summaryRows(runs, 'test'),
    runs: runs.map((r) => ({
      name: r.name,
      seed: r.seed,
      seconds: +r.seconds.toFixed(1),
      total_seconds: +r.totalSeconds.toFixed(1),
      ...(r.keptFrom ? { kept_from: r.keptFrom } : {}),
      seconds_per_epoch: r.secondsPerEpoch === null ? null : +r.secondsPerEpoch.toFixed(3),
      test: r.test.summary,
      train: r.train.summary,
      fss_mean_field_test: r.test.fssMean,
      recovery: r.recovery,
      ...(r.info.surrogate ? { surrogate: r.info.surrogate } : {}),
      ...(r.onSurrogate
        ? { on_surrogate: { test: r.onSurrogate.test.summary, train: r.onSurrogate.train.summary } }
        : {}),
      ...(r.history
        ? {
            h: r.info.h,
            best_epoch: r.info.bestEpoch,
            tensors_per_epoch: [...new Set((r.history as Array<{ tensors: number }>).map((e) => e.tensors))],
          }
        : {}),
    })),
    seconds: +((performance.now() - started) / 1000).toFixed(1),
  };
  const report = await writePaperReport(resolve(a.out), twin, runs, { compute: result.compute });
  return { ...result, report: report.html };
}

const list = (v: string) =>
  v.split(',').map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n))
      throw new FieldcalError('VALIDATION', `${s} is not an integer seed`, { field: 'seeds' });
    return n;
  });

/** `fieldcal experiment gan-po-paper`. */
export function addExperimentCommand(program: Command): void {
  program
    .command('experiment')
    .description(
      "reproduce a paper's experiment and write its report (gan-po-paper: Sun, Pan & Duan 2024 on its twin)",
    )
    .argument('<name>', 'gan-po-paper')
    .option('--out <dir>', 'report folder', 'fieldcal-gan-po-paper')
    .option('--seeds <list>', 'seeds of the GAN-PO runs', '1,2,3')
    .option('--ablation-seeds <list>', 'seeds of the L1-only ablation (default: --seeds)')
    .option('--baseline-seeds <list>', 'seeds of the SCE-UA and dPL runs', '1')
    .option('--epochs <n>', 'epochs of GAN-PO (paper: 200)', (v) => Number(v))
    .option('--dpl-epochs <n>', 'epochs of dPL (paper: 200)', (v) => Number(v))
    .option('--runs <list>', `runs to make (${PAPER_RUNS.map((r) => r.name).join(',')})`)
    .option('--surrogate-epochs <n>', 'epochs of surrogate training (default 200, early stopping)', (v) =>
      Number(v),
    )
    .option('--threads <n>', 'model threads (0: one per core)', (v) => Number(v), 0)
    .option('--fresh', 'make every run again instead of taking the kept ones from DIR/runs')
    .option('--json', 'print the result as one JSON object on stdout')
    .action(
      async (
        name: string,
        o: {
          out: string;
          seeds: string;
          ablationSeeds?: string;
          baselineSeeds: string;
          epochs?: number;
          dplEpochs?: number;
          runs?: string;
          surrogateEpochs?: number;
          fresh?: boolean;
          threads: number;
          json?: boolean;
        },
      ) => {
        if (name !== 'gan-po-paper')
          throw new FieldcalError('VALIDATION', `unknown experiment ${name} (gan-po-paper)`, {
            field: 'name',
          });
        const runs = o.runs?.split(',');
        const unknown = runs?.find((r) => !PAPER_RUNS.some((p) => p.name === r));
        if (unknown) throw new FieldcalError('VALIDATION', `unknown run ${unknown}`, { field: 'runs' });
        const r = await runPaperExperiment({
          out: o.out,
          seeds: list(o.seeds),
          ablationSeeds: o.ablationSeeds ? list(o.ablationSeeds) : undefined,
          baselineSeeds: list(o.baselineSeeds),
          epochs: o.epochs,
          dplEpochs: o.dplEpochs,
          runs,
          surrogate: o.surrogateEpochs ? { epochs: o.surrogateEpochs } : undefined,
          fresh: o.fresh,
          threads: o.threads,
          quiet: !!o.json,
        });
        process.stdout.write(o.json ? `${JSON.stringify(r)}\n` : `report: ${String(r.report)}\n`);
      },
    );
}
