import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTwin } from '../src-main/services/calibration/twin/generate';
import { computeHandle } from '../src-main/services/compute';
import { runVic3l, VIC3L_PARAMS, type Vic3lParams } from '../src-main/services/physics/vic3l';
import {
  accuracyOf,
  ensembleAccuracy,
  type AccuracyCase,
  type AccuracyReport,
} from '../src-main/services/surrogate/accuracy';
import { ARNET_DEFAULTS, trainArnet, type ArnetSurrogate } from '../src-main/services/surrogate/arnet';
import { generateEnsemble } from '../src-main/services/surrogate/ensemble';
import { trainLstm } from '../src-main/services/surrogate/lstm';
import type { TrainResult } from '../src-main/services/surrogate/train';
import type { Ensemble, Surrogate, SurrogateProblem } from '../src-main/services/surrogate/types';
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
const maxRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

/**
 * The ARnet's accuracy and drift on held-out members: its rollout (each day from its own
 * previous day, `predict`) beside the same network teacher-forced (each day from the model's
 * previous-day field, `oneStep`), and the rollout's RMSE over the first and the last 30 days.
 * Each member's rollout is run once (a rollout costs one forward pass per day).
 */
function arnetAccuracy(a: ArnetSurrogate, ens: Ensemble, members: number[], t1: number) {
  const truth = new Map<Float64Array[], Float64Array>();
  const rolled: Array<{ pred: Float64Array; target: Float64Array }> = [];
  const rollout: Surrogate = {
    kind: 'arnet',
    predict: (f: Float64Array[], t0: number, t: number) => {
      const pred = a.predict(f, t0, t);
      rolled.push({ pred, target: truth.get(f)! });
      return pred;
    },
    dispose: () => undefined,
  } as Surrogate;
  const teacher: Surrogate = {
    kind: 'arnet',
    predict: (f: Float64Array[], t0: number, t: number) => a.oneStep(f, truth.get(f)!, t0, t),
    dispose: () => undefined,
  } as Surrogate;
  function* cases(): Generator<AccuracyCase> {
    for (const m of members) {
      const fields = ens.params(m);
      const target = ens.target(m, 0, t1);
      truth.set(fields, target);
      yield { fields, target };
    }
  }
  const cells = ens.manifest.cells;
  const t = performance.now();
  const roll = accuracyOf(rollout, cases(), cells, 0, t1, members);
  const predictSeconds = (performance.now() - t) / 1000;
  const one = accuracyOf(teacher, cases(), cells, 0, t1, members);
  const w = Math.min(30, Math.floor(t1 / 2));
  const windowRmse = (d0: number) => {
    let se = 0;
    for (const r of rolled)
      for (let i = d0 * cells; i < (d0 + w) * cells; i++) se += (r.pred[i]! - r.target[i]!) ** 2;
    return +Math.sqrt(se / (rolled.length * w * cells)).toFixed(4);
  };
  return {
    roll,
    predictSeconds,
    drift: {
      heldout_one_step: {
        nse_median: +one.nseMedian.toFixed(3),
        nse_worst_decile: +one.nseWorstDecile.toFixed(3),
        rmse_overall_mm_per_day: +one.rmseOverall.toFixed(4),
      },
      rollout_rmse_first_vs_last_days: { days: w, first: windowRmse(0), last: windowRmse(t1 - w) },
      rollout_minus_one_step_nse_median: +(roll.nseMedian - one.nseMedian).toFixed(3),
    },
  };
}

/**
 * `npm run bench -- surrogate`: the LSTM and ARnet surrogates trained on a perturbed-parameter
 * ensemble of the GAN-PO paper twin (24 x 17, every cell active; vic3l ET), with their held-out
 * accuracy (NSE median over cells and worst decile, the paper's Fig. S2) and training time. The
 * paper's size (400 members 200 / 100 / 100, 1,095 days, 200 epochs at most) is out of reach of a
 * 2-core machine in minutes; the defaults are a stated smaller case, every size set by env:
 * FIELDCAL_BENCH_MEMBERS (24: 16 / 4 / 4), FIELDCAL_BENCH_STEPS (365 days from the twin's first),
 * FIELDCAL_BENCH_EPOCHS (8), FIELDCAL_BENCH_BATCHES (batches per epoch, 20),
 * FIELDCAL_BENCH_HELDOUT (held-out members evaluated, 2) and FIELDCAL_BENCH_EVAL_STEPS (first
 * steps evaluated, 180). FIELDCAL_BENCH_KINDS (`lstm,arnet`) picks the surrogates;
 * FIELDCAL_BENCH_ARNET_COMPARE=1 also trains the ARnet with teacher forcing alone (`rollout` 0),
 * the drift's before / after. `peak_rss_mb` is the process's peak resident memory after each phase.
 */
export async function surrogateBench(): Promise<Record<string, unknown>> {
  const env = process.env;
  const members = num(env.FIELDCAL_BENCH_MEMBERS, 24);
  const steps = num(env.FIELDCAL_BENCH_STEPS, 365);
  const epochs = num(env.FIELDCAL_BENCH_EPOCHS, 8);
  const batches = num(env.FIELDCAL_BENCH_BATCHES, 20);
  const heldout = num(env.FIELDCAL_BENCH_HELDOUT, 2);
  const evalSteps = Math.min(num(env.FIELDCAL_BENCH_EVAL_STEPS, 180), steps);
  const kinds = (env.FIELDCAL_BENCH_KINDS ?? 'lstm,arnet').split(',');
  const compare = env.FIELDCAL_BENCH_ARNET_COMPARE === '1';
  // the ARnet's antecedent time constants, days, comma-separated ('' or 'none': without them)
  const antecedentEnv = env.FIELDCAL_BENCH_ARNET_ANTECEDENT;
  const antecedent =
    antecedentEnv === undefined
      ? ARNET_DEFAULTS.antecedent
      : antecedentEnv === '' || antecedentEnv === 'none'
        ? []
        : antecedentEnv.split(',').map(Number);
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
    const rss: Record<string, number> = { ensemble: maxRssMb() };
    const out: Record<string, unknown> = {};
    if (kinds.includes('lstm')) {
      const lstm = await trainLstm(problem, ens, { settings: { ...settings, batchSize: 400 } });
      const t = performance.now();
      const la = ensembleAccuracy(lstm.surrogate, ens, { members: evalMembers, t0: 0, t1: evalSteps });
      out.lstm = {
        config: 'window 30, hidden 128, batch 400',
        ...summary(lstm.result, la, (performance.now() - t) / 1000),
      };
      lstm.surrogate.dispose();
      rss.lstm = maxRssMb();
    }
    const arnetRun = async (rollout: number) => {
      const arnet = await trainArnet(problem, ens, { settings, config: { rollout, antecedent } });
      const acc = arnetAccuracy(arnet.surrogate, ens, evalMembers, evalSteps);
      arnet.surrogate.dispose();
      const c = arnet.surrogate.config;
      return {
        config: `features ${c.features}, growth ${c.growth}, ${c.layers} layers, lags ${c.lags}, noise ${c.noise}, rollout ${c.rollout} of ${c.rolloutMembers} members x ${c.rolloutDays} days, antecedent P and PET ${c.antecedent.length ? c.antecedent.join(', ') + ' days' : 'none'}, batch 16`,
        ...summary(arnet.result, acc.roll, acc.predictSeconds),
        ...acc.drift,
      };
    };
    if (kinds.includes('arnet')) {
      out.arnet = await arnetRun(ARNET_DEFAULTS.rollout);
      rss.arnet = maxRssMb();
      if (compare) out.arnet_teacher_forcing_only = await arnetRun(0);
    }
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
      ...out,
      peak_rss_mb: rss,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
