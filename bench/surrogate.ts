import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTwin } from '../src-main/services/calibration/twin/generate';
import { computeHandle } from '../src-main/services/compute';
import { runVic3l, VIC3L_PARAMS, type Vic3lParams } from '../src-main/services/physics/vic3l';
import { ensembleAccuracy, type AccuracyReport } from '../src-main/services/surrogate/accuracy';
import { trainArnet } from '../src-main/services/surrogate/arnet';
import { generateEnsemble } from '../src-main/services/surrogate/ensemble';
import { trainLstm } from '../src-main/services/surrogate/lstm';
import type { TrainResult } from '../src-main/services/surrogate/train';
import type { SurrogateProblem } from '../src-main/services/surrogate/types';
import { machine } from './stats';

const num = (v: string | undefined, d: number) => (v ? Number(v) : d);

const summary = (r: TrainResult, a: AccuracyReport, predictSeconds: number) => ({
  epochs: r.history.length,
  best_epoch: r.bestEpoch,
  stopped_early: r.stoppedEarly,
  valid_loss_best: +r.bestValid.toFixed(4),
  valid_loss_mean_predictor: +r.baselineValid.toFixed(4),
  train_seconds: +r.seconds.toFixed(1),
  heldout: {
    members: a.members,
    steps: [a.t0, a.t1],
    nse_median: +a.nseMedian.toFixed(3),
    nse_worst_decile: +a.nseWorstDecile.toFixed(3),
    rmse_overall_mm_per_day: +a.rmseOverall.toFixed(4),
    undefined_cells: a.undefinedCells,
    predict_seconds: +predictSeconds.toFixed(1),
  },
  tensors_per_epoch: [...new Set(r.history.map((h) => h.numTensors))],
});

/**
 * `npm run bench -- surrogate`: the LSTM and ARnet surrogates trained on a perturbed-parameter
 * ensemble of the GAN-PO paper twin (24 x 17, every cell active; vic3l ET), with their held-out
 * accuracy (NSE median over cells and worst decile, the paper's Fig. S2) and training time. The
 * paper's size (400 members 200 / 100 / 100, 1,095 days, 200 epochs at most) is out of reach of a
 * 2-core machine in minutes; the defaults are a stated smaller case, every size set by env:
 * FIELDCAL_BENCH_MEMBERS (24: 16 / 4 / 4), FIELDCAL_BENCH_STEPS (365 days from the twin's first),
 * FIELDCAL_BENCH_EPOCHS (8), FIELDCAL_BENCH_BATCHES (batches per epoch, 20),
 * FIELDCAL_BENCH_HELDOUT (held-out members evaluated, 2) and FIELDCAL_BENCH_EVAL_STEPS (first
 * steps evaluated, 180).
 */
export async function surrogateBench(): Promise<Record<string, unknown>> {
  const env = process.env;
  const members = num(env.FIELDCAL_BENCH_MEMBERS, 24);
  const steps = num(env.FIELDCAL_BENCH_STEPS, 365);
  const epochs = num(env.FIELDCAL_BENCH_EPOCHS, 8);
  const batches = num(env.FIELDCAL_BENCH_BATCHES, 20);
  const heldout = num(env.FIELDCAL_BENCH_HELDOUT, 2);
  const evalSteps = num(env.FIELDCAL_BENCH_EVAL_STEPS, 180);
  const compute = await computeHandle();
  const twin = makeTwin({ layout: 'paper' });
  const p = twin.problem;
  const cut = (x: ArrayLike<number>) => Float64Array.from({ length: steps * p.cells }, (_, i) => x[i]!);
  const forcing = {
    P: cut(p.forcing.P),
    PET: cut(p.forcing.PET),
    ...(p.forcing.T ? { T: cut(p.forcing.T) } : {}),
  };
  const problem: SurrogateProblem = {
    rows: p.rows,
    cols: p.cols,
    mask: p.mask,
    cells: p.cells,
    steps,
    forcing,
    parameters: [...p.calibrated],
    lower: p.lower,
    upper: p.upper,
    target: 'ET',
    modelKey: 'vic3l',
    dataKey: `gan-po-paper-twin-seed1-${steps}d`,
  };
  const run = (fields: Float64Array[]) => {
    const params = Object.fromEntries(
      VIC3L_PARAMS.map((n) => [n, fields[problem.parameters.indexOf(n)]!]),
    ) as unknown as Vic3lParams;
    return Float64Array.from(runVic3l(params, forcing, steps, { outputs: ['ET'] }).outputs.ET!);
  };
  const test = Math.max(heldout, Math.round(members / 6));
  const valid = test;
  const split = { train: members - valid - test, valid, test };
  const dir = await mkdtemp(join(tmpdir(), 'fieldcal-bench-surrogate-'));
  try {
    const g0 = performance.now();
    const ens = await generateEnsemble(problem, { members, sampler: 'uniform-cell', seed: 1, split }, run, {
      dir,
    });
    const genSeconds = (performance.now() - g0) / 1000;
    const evalMembers = ens.members('test').slice(0, heldout);
    const settings = { epochs, batchesPerEpoch: batches, validBatches: 4, patience: 4 };
    const lstm = await trainLstm(problem, ens, { settings: { ...settings, batchSize: 400 } });
    let t = performance.now();
    const la = ensembleAccuracy(lstm.surrogate, ens, { members: evalMembers, t0: 0, t1: evalSteps });
    const lstmOut = summary(lstm.result, la, (performance.now() - t) / 1000);
    lstm.surrogate.dispose();
    const arnet = await trainArnet(problem, ens, { settings });
    t = performance.now();
    const aa = ensembleAccuracy(arnet.surrogate, ens, { members: evalMembers, t0: 0, t1: evalSteps });
    const arnetOut = summary(arnet.result, aa, (performance.now() - t) / 1000);
    arnet.surrogate.dispose();
    return {
      machine: machine(),
      backend: compute.backend,
      threads: compute.threads,
      case: {
        twin: 'GAN-PO paper layout, 24 x 17, seed 1',
        cells: problem.cells,
        steps,
        members,
        split,
        sampler: 'uniform-cell',
        paper_size: {
          members: 400,
          split: '200 / 100 / 100',
          steps: 1095,
          note: 'not run: hours on 2 cores',
        },
      },
      ensemble_seconds: +genSeconds.toFixed(1),
      model_runs_per_second: +(members / genSeconds).toFixed(2),
      settings,
      lstm: { config: 'window 30, hidden 128, batch 400', ...lstmOut },
      arnet: { config: 'features 32, growth 16, 3 layers, lags 1, noise 0.5, batch 16', ...arnetOut },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
