import { runPaperExperiment } from '../src-main/cli/experiment';
import { machine } from './stats';

const ints = (v: string | undefined, d: number[]) => (v ? v.split(',').map(Number) : d);

/**
 * The GAN-PO paper's comparison on its twin (`fieldcal experiment gan-po-paper`): every method
 * through the same exact vic3l, the paper's tables, recovery, times; the report goes to
 * FIELDCAL_BENCH_OUT (default bench-out/gan-po-paper). FIELDCAL_BENCH_SEEDS (GAN-PO, default
 * 1,2,3), FIELDCAL_BENCH_BASELINE_SEEDS (SCE-UA, dPL; default 1), FIELDCAL_BENCH_EPOCHS (GAN-PO) and
 * FIELDCAL_BENCH_DPL_EPOCHS (default 200 both), FIELDCAL_BENCH_SURROGATE_EPOCHS (surrogate training,
 * default 200 with early stopping), FIELDCAL_BENCH_SURROGATE_HELDOUT (held-out members of the
 * surrogate's accuracy, default 10) and FIELDCAL_BENCH_RUNS (default all) shorten it. A shortened
 * GAN-PO run pre-trains the defaults' share of its epochs, at least one, unless
 * FIELDCAL_BENCH_PRETRAIN names the number. Finished runs are kept in <out>/runs and taken from
 * there when asked again with the same options (FIELDCAL_BENCH_FRESH=1 makes them again: kept runs
 * carry no code version), so runs made by separate processes (FIELDCAL_THREADS=1 and
 * FIELDCAL_BENCH_THREADS=1 each: the native kernels' and the model's threads) meet in the last
 * one's report.
 */
export async function ganPoPaperBench(): Promise<Record<string, unknown>> {
  const env = process.env;
  return {
    machine: machine(),
    ...(await runPaperExperiment({
      out: env.FIELDCAL_BENCH_OUT ?? 'bench-out/gan-po-paper',
      seeds: ints(env.FIELDCAL_BENCH_SEEDS, [1, 2, 3]),
      baselineSeeds: ints(env.FIELDCAL_BENCH_BASELINE_SEEDS, [1]),
      ablationSeeds: env.FIELDCAL_BENCH_ABLATION_SEEDS
        ? ints(env.FIELDCAL_BENCH_ABLATION_SEEDS, [])
        : undefined,
      epochs: env.FIELDCAL_BENCH_EPOCHS ? Number(env.FIELDCAL_BENCH_EPOCHS) : undefined,
      dplEpochs: env.FIELDCAL_BENCH_DPL_EPOCHS ? Number(env.FIELDCAL_BENCH_DPL_EPOCHS) : undefined,
      runs: env.FIELDCAL_BENCH_RUNS?.split(','),
      threads: env.FIELDCAL_BENCH_THREADS ? Number(env.FIELDCAL_BENCH_THREADS) : undefined,
      fresh: env.FIELDCAL_BENCH_FRESH === '1',
      ...(env.FIELDCAL_BENCH_PRETRAIN
        ? { ganPo: { pretrainEpochs: Number(env.FIELDCAL_BENCH_PRETRAIN) } }
        : {}),
      surrogate: {
        ...(env.FIELDCAL_BENCH_SURROGATE_EPOCHS
          ? { epochs: Number(env.FIELDCAL_BENCH_SURROGATE_EPOCHS) }
          : {}),
        ...(env.FIELDCAL_BENCH_SURROGATE_HELDOUT
          ? { accuracyMembers: Number(env.FIELDCAL_BENCH_SURROGATE_HELDOUT) }
          : {}),
      },
    })),
  };
}
