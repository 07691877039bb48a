import { readFileSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../common/atomicFile';
import { cc } from '../../metrics/series';
import { cellMaps, rmseChange } from '../../metrics/maps';
import { eofScores } from '../../metrics/eof';
import { stepSsim, summaryTable, type SummaryTable } from '../../metrics/summary';
import { percentileSorted, sortedFinite, fssPercentile } from '../../metrics/spatial';
import type { ComputeHandle } from '../../compute';
import { defaultSimulation, toGrid } from '../gridded/evaluate';
import { defaultFields, fullParams, type GriddedProblem } from '../gridded/problem';
import type { Simulator } from '../gridded/simulator';
import { methodOptions, runMethod } from '../registry';
import { makeTwin, type Twin, type TwinOptions } from '../twin/generate';
import { shortPretrain } from '../methods/gan-po/options';

/**
 * The runs of the GAN-PO paper's comparison (Sun, Pan & Duan 2024, section 3): default parameters,
 * SCE-UA over MPR (2000 runs), dPL with the paper's settings (LSTM hidden 128, batch 50, lr 1e-4,
 * 200 epochs), GAN-PO and its L1-only ablation (Table 1), all on the same twin and the same h().
 */
/** dPL with the paper's settings: g_z, LSTM hidden 128, batch 50 cells, lr 1e-4, 200 epochs. */
const DPL_PAPER = { g: 'z', lstmHidden: 128, batchCells: 50, learningRate: 1e-4, epochs: 200 };

export const PAPER_RUNS: Array<{ name: string; method: string | null; options: Record<string, unknown> }> = [
  { name: 'default', method: null, options: {} },
  { name: 'gan-po', method: 'gan-po', options: {} },
  { name: 'gan-po-l1', method: 'gan-po', options: { ablation: 'l1-only' } },
  { name: 'sce-ua', method: 'sce-ua', options: { maxRuns: 2000 } },
  { name: 'dpl', method: 'dpl', options: DPL_PAPER },
  // h() through a surrogate of vic3l, as the paper (section 3.2; 400-member ensemble, 200 / 100 / 100),
  // updated during calibration (Tsai et al. 2021; the paper gives no period: every 20 epochs, 10 updates)
  { name: 'gan-po-lstm', method: 'gan-po', options: { physics: 'lstm', updateEvery: 20 } },
  { name: 'gan-po-arnet', method: 'gan-po', options: { physics: 'arnet', updateEvery: 20 } },
  { name: 'dpl-lstm', method: 'dpl', options: { ...DPL_PAPER, physics: 'lstm', updateEvery: 20 } },
  // not in the paper: the L1-only ablation through the LSTM, to tell whether the discriminator (judging
  // the surrogate's fields) or the generator is what keeps GAN-PO behind dPL through the same surrogate
  {
    name: 'gan-po-l1-lstm',
    method: 'gan-po',
    options: { ablation: 'l1-only', physics: 'lstm', updateEvery: 20 },
  },
];

/** The paper's epochs of GAN-PO and dPL (the updates' period above is for these). */
const PAPER_EPOCHS = 200;

/** Runs whose h() is a surrogate: scored on the surrogate's simulation too (the paper's Figs. 4-10). */
export const surrogateRun = (name: string) => name.endsWith('-lstm') || name.endsWith('-arnet');

/** The paper's table for one period, and the EOF / SSIM of every day. */
export interface PeriodScores {
  summary: SummaryTable;
  eof: number[];
  ssim: number[];
  /** FSS of the period-mean field at the paper's percentile thresholds (window sizes 1..15). */
  fssMean: Record<string, Array<{ scale: number; fss: number }>>;
}

export interface PaperRun {
  name: string;
  method: string | null;
  seed: number;
  seconds: number;
  secondsPerEpoch: number | null;
  train: PeriodScores;
  test: PeriodScores;
  /** Recovery of each parameter field: correlation with the truth and RMSE / truth's range. */
  recovery: Record<string, { cc: number; nrmse: number }>;
  /** Test-period maps over the full grid: per-cell RMSE, CC, KGE and relative RMSE change vs default. */
  maps: { rmse: Float64Array; cc: Float64Array; kge: Float64Array; delta: Float64Array };
  /** GAN-PO's per-epoch history (losses, validation, h() error), when the method has one. */
  history?: unknown[];
  info: Record<string, unknown>;
  /** With a surrogate h(): the scores of its own simulation of the final fields (and of the defaults). */
  onSurrogate?: { train: PeriodScores; test: PeriodScores };
  /**
   * Seconds of the whole method, its surrogate's making counted in full wherever it was made
   * (the ensemble's generation and the training: the manifest's and key.json's seconds); without
   * the evaluations a run may make for the report (the surrogate's held-out accuracy, measured
   * once where it was made, and the experiment's scoring through the surrogate).
   */
  totalSeconds: number;
  /** The runs folder it was taken from (a kept run, not made in this call). */
  keptFrom?: string;
}

const slice = (a: Float64Array, [t0, t1]: [number, number], n: number) => a.subarray(t0 * n, t1 * n);

/** Scores of a simulation on one period against the observations and the default run. */
function periodScores(
  pr: GriddedProblem,
  et: Float64Array,
  def: Float64Array,
  period: [number, number],
): PeriodScores {
  const n = pr.cells;
  const steps = period[1] - period[0];
  const grid = { rows: pr.rows, cols: pr.cols, mask: pr.mask };
  const obs = toGrid(pr, slice(pr.target.obs, period, n), steps);
  const sim = toGrid(pr, slice(et, period, n), steps);
  const summary = summaryTable({
    obs,
    sim,
    simDefault: toGrid(pr, slice(def, period, n), steps),
    steps,
    grid,
  });
  const eof = Array.from(eofScores(slice(pr.target.obs, period, n), slice(et, period, n), steps, n));
  const ssim = Array.from(stepSsim(obs, sim, steps, grid));
  // the period-mean fields (inactive cells at the observed mean, as the summary table's FSS)
  const cells = pr.rows * pr.cols;
  const meanField = (a: Float64Array) => {
    const m = new Float64Array(cells);
    for (let t = 0; t < steps; t++) for (let c = 0; c < cells; c++) m[c]! += a[t * cells + c]! / steps;
    return m;
  };
  const mo = meanField(obs);
  const ms = meanField(sim);
  const fill = sortedFinite(mo);
  const mid = percentileSorted(fill, 50);
  for (let c = 0; c < cells; c++)
    if (!pr.mask[c] || !Number.isFinite(mo[c]!)) {
      mo[c] = mid;
      ms[c] = mid;
    }
  const fssMean = Object.fromEntries(
    [50, 75, 90, 95].map((p) => [
      String(p),
      [1, 3, 5, 9, 15].map((scale) => ({ scale, fss: fssPercentile(mo, ms, pr.rows, pr.cols, p, scale) })),
    ]),
  );
  return { summary, eof, ssim, fssMean };
}

/** Evaluates one run's fields on the twin: both periods, maps, recovery. */
export function scoreRun(
  twin: Twin,
  sim: Simulator,
  def: Float64Array,
  fields: Float64Array[],
): Omit<PaperRun, 'name' | 'method' | 'seed' | 'seconds' | 'secondsPerEpoch' | 'info' | 'totalSeconds'> {
  const pr = twin.problem;
  const n = pr.cells;
  const et = sim.run(fullParams(pr, fields), pr.steps);
  const test = pr.periods.test;
  const steps = test[1] - test[0];
  const cal = cellMaps(slice(pr.target.obs, test, n), slice(et, test, n), steps, n);
  const dm = cellMaps(slice(pr.target.obs, test, n), slice(def, test, n), steps, n);
  const onGrid = (a: Float64Array) => toGrid(pr, a, 1);
  const recovery = Object.fromEntries(
    pr.calibrated.map((name, k) => {
      const t = twin.truth[k]!;
      const f = fields[k]!;
      let se = 0;
      let lo = Infinity;
      let hi = -Infinity;
      for (let c = 0; c < n; c++) {
        se += (f[c]! - t[c]!) ** 2;
        lo = Math.min(lo, t[c]!);
        hi = Math.max(hi, t[c]!);
      }
      return [name, { cc: cc(t, f).value, nrmse: Math.sqrt(se / n) / (hi - lo || 1) }];
    }),
  );
  return {
    train: periodScores(pr, et, def, pr.periods.train),
    test: periodScores(pr, et, def, test),
    recovery,
    maps: {
      rmse: onGrid(cal.rmse),
      cc: onGrid(cal.cc),
      kge: onGrid(cal.kge),
      delta: onGrid(rmseChange(dm.rmse, cal.rmse)),
    },
  };
}

// a kept run's JSON: Float64Arrays and non-finite numbers as tagged objects, read back as they were
const RESULT = 'result.json';
const replacer = (_k: string, v: unknown) =>
  v instanceof Float64Array
    ? { $f64: Array.from(v) }
    : typeof v === 'number' && !Number.isFinite(v)
      ? { $num: String(v) }
      : v;
const tagged = (v: unknown, tag: string): v is Record<string, unknown> =>
  !!v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1 && tag in v;
const reviver = (_k: string, v: unknown) =>
  tagged(v, '$num')
    ? Number(v.$num)
    : tagged(v, '$f64') && Array.isArray(v.$f64)
      ? Float64Array.from(v.$f64 as number[])
      : v;

/** A run kept in `dir` for the same key, or null (none, another key, or unreadable: made again). */
function readKept(dir: string, key: string): PaperRun | null {
  try {
    const k = JSON.parse(readFileSync(join(dir, RESULT), 'utf8'), reviver) as { key: string; run: PaperRun };
    return k.key === key ? k.run : null;
  } catch {
    return null;
  }
}

async function keep(dir: string, key: string, run: PaperRun) {
  await mkdir(dir, { recursive: true });
  const text = `${JSON.stringify({ key, run }, replacer)}\n`;
  await writeFileAtomic(join(dir, RESULT), (tmp) => writeFile(tmp, text));
}

/**
 * Runs the paper's comparison on its twin (24 x 17 cells, all active, six soil descriptors, seven
 * parameters; train 2009-10, test 2011, valid 2013-14): every run of `runs` for each of its seeds
 * (GAN-PO runs for `seeds`, the others for `baselineSeeds`), with the same h() (vic3l on `sim`).
 */
export async function ganPoPaperExperiment(o: {
  compute: ComputeHandle;
  sim: (pr: GriddedProblem) => Promise<Simulator>;
  seeds: number[];
  /** Seeds of the L1-only ablation (default: `seeds`). */
  ablationSeeds?: number[];
  baselineSeeds: number[];
  /** Epochs of GAN-PO (paper: 200). */
  epochs?: number;
  /** Epochs of dPL (paper: 200). */
  dplEpochs?: number;
  runs?: string[];
  /** Surrogate settings over the defaults of the surrogate runs (e.g. `epochs`, `accuracyMembers`). */
  surrogate?: Record<string, unknown>;
  /** GAN-PO options over the paper's in every GAN-PO run (e.g. a narrower network: `filters`). */
  ganPo?: Record<string, unknown>;
  /**
   * The experiment's runs folder: each finished run is kept there (`<name>-s<seed>/result.json`) and
   * taken from there when asked again with the same options, so an interrupted experiment continues
   * and runs made by separate processes meet in one report; surrogate runs keep their surrogate
   * there, and share the ensemble (`ensembles/`) and a surrogate of the same key. Absent: nothing
   * is kept.
   */
  dir?: string;
  twinSeed?: number;
  /** Another twin than the paper's (tests: a small one); default the paper layout. */
  twin?: Partial<TwinOptions>;
  /** Make every run again, not taking kept ones (a changed build; kept runs carry no code version). */
  fresh?: boolean;
  log?: (line: string) => void;
}): Promise<{ twin: Twin; runs: PaperRun[] }> {
  const twinSeed = o.twinSeed ?? 1;
  const twinOptions = o.twin ?? { layout: 'paper' as const };
  const twin = makeTwin({ ...twinOptions, seed: twinSeed });
  const pr = twin.problem;
  const sim = await o.sim(pr);
  try {
    const def = defaultSimulation(pr, sim);
    const runs: PaperRun[] = [];
    const wanted = PAPER_RUNS.filter((r) => !o.runs || o.runs.includes(r.name));
    const ganPoDefaults = methodOptions('gan-po', 'gridded', {}) as {
      epochs: number;
      pretrainEpochs: number;
    };
    for (const r of wanted) {
      const seeds =
        r.name === 'gan-po-l1'
          ? (o.ablationSeeds ?? o.seeds)
          : r.method === 'gan-po'
            ? o.seeds
            : r.method
              ? o.baselineSeeds
              : [0];
      for (const seed of seeds) {
        const epochs = r.method === 'dpl' ? o.dplEpochs : r.method === 'gan-po' ? o.epochs : undefined;
        // a shortened GAN-PO run keeps the defaults' share of pre-training (20 of the paper's 200
        // epochs), rounded, and at least one epoch: without any, the discriminator of some seeds wins
        // at once (options.ts, pretrainEpochs); pretrainEpochs given in `ganPo` is taken as given
        const pretrain =
          epochs && r.method === 'gan-po' && o.ganPo?.pretrainEpochs === undefined
            ? { pretrainEpochs: shortPretrain(epochs, ganPoDefaults) }
            : {};
        // and a shortened surrogate run its ten updates (every 20 of 200 epochs), at least one epoch apart
        const every = r.options.updateEvery;
        const updates =
          epochs && typeof every === 'number' && every > 0
            ? { updateEvery: Math.max(1, Math.floor((epochs * every) / PAPER_EPOCHS)) }
            : {};
        const options: Record<string, unknown> = {
          ...(r.method === 'gan-po' ? o.ganPo : {}),
          ...r.options,
          ...(epochs ? { epochs, ...pretrain, ...updates } : {}),
          ...(surrogateRun(r.name) && o.surrogate ? { surrogate: o.surrogate } : {}),
        };
        const runDir = o.dir ? join(o.dir, `${r.name}-s${seed}`) : null;
        // the options as the method reads them (defaults filled in), so equal settings give one key
        // version: raised when the same options give other results (3: GAN-PO's zero output layer)
        const key = JSON.stringify({
          version: 3,
          name: r.name,
          method: r.method,
          seed,
          options: r.method ? methodOptions(r.method, 'gridded', options) : {},
          twin: { ...twinOptions, seed: twinSeed },
        });
        const kept = runDir && !o.fresh ? readKept(runDir, key) : null;
        if (kept) {
          runs.push({ ...kept, keptFrom: runDir! });
          o.log?.(`${r.name} seed ${seed}: taken from ${runDir}`);
          continue;
        }
        // a surrogate run works in <run>/checkpoints (its surrogate stays there); older checkpoints go
        const workDir = runDir && surrogateRun(r.name) ? join(runDir, 'checkpoints') : undefined;
        if (workDir)
          for (const f of await readdir(workDir).catch(() => [] as string[]))
            if (f !== 'surrogate' && f !== 'surrogate-training')
              await rm(join(workDir, f), { recursive: true, force: true });
        let onSurrogate: PaperRun['onSurrogate'];
        // the experiment's scoring through the surrogate, not the method's time
        let scoringSeconds = 0;
        const t = performance.now();
        let fields = defaultFields(pr);
        let info: Record<string, unknown> = {};
        if (r.method) {
          const res = await runMethod(
            'gridded',
            r.method,
            pr,
            methodOptions(r.method, 'gridded', options),
            seed,
            {
              sim,
              compute: o.compute,
              cancelled: () => false,
              ...(workDir ? { workDir } : {}),
              surrogateSimulator: (simulate, final) => {
                const h0 = performance.now();
                const simS = simulate(final);
                const defS = simulate(defaultFields(pr));
                onSurrogate = {
                  train: periodScores(pr, simS, defS, pr.periods.train),
                  test: periodScores(pr, simS, defS, pr.periods.test),
                };
                scoringSeconds += (performance.now() - h0) / 1000;
              },
              progress: (p) =>
                o.log?.(
                  `${r.name} seed ${seed}: ${p.iteration}/${p.total} objective ${p.objective.toPrecision(4)}`,
                ),
            },
          );
          fields = res.fields;
          info = res.info;
        }
        const seconds = (performance.now() - t) / 1000;
        const { history, ...rest } = info as {
          history?: unknown[];
          secondsPerEpoch?: unknown;
          seconds?: unknown;
          surrogate?: unknown;
        };
        // the surrogate's making counts in full in this method's time, wherever it was made: this run's
        // own ensemble and training seconds are replaced by what the ensemble and the training cost
        const sur = rest.surrogate as
          | {
              ensembleSeconds: number;
              trainSeconds: number;
              accuracySeconds: number;
              madeSeconds: { ensemble: number | null; training: number | null };
            }
          | undefined;
        // this run's own ensemble, training and accuracy seconds
        const ownMaking = sur ? sur.ensembleSeconds + sur.trainSeconds + sur.accuracySeconds : 0;
        // the making counted in full, wherever it was made, in place of this run's own share of it
        const surrogateSeconds = sur
          ? (sur.madeSeconds.ensemble ?? sur.ensembleSeconds) +
            (sur.madeSeconds.training ?? sur.trainSeconds) -
            ownMaking
          : 0;
        // GAN-PO reports its own; dPL's: its training time less the surrogate's making, per epoch
        const methodSeconds = typeof rest.seconds === 'number' ? rest.seconds : seconds;
        const secondsPerEpoch =
          typeof rest.secondsPerEpoch === 'number'
            ? rest.secondsPerEpoch
            : r.method === 'dpl'
              ? (methodSeconds - ownMaking) / Number(options.epochs ?? PAPER_EPOCHS)
              : null;
        const run: PaperRun = {
          name: r.name,
          method: r.method,
          seed,
          seconds,
          secondsPerEpoch,
          ...scoreRun(twin, sim, def, fields),
          ...(history ? { history } : {}),
          info: rest,
          ...(onSurrogate ? { onSurrogate } : {}),
          totalSeconds: seconds + surrogateSeconds - scoringSeconds,
        };
        runs.push(run);
        if (runDir) await keep(runDir, key, run);
        const t2 = run.test.summary;
        o.log?.(
          `${r.name} seed ${seed}: done in ${seconds.toFixed(1)} s; test ${JSON.stringify({ rmseReduced: t2.pctRmseReduced, cc: t2.pctCcAbove075, kge: t2.pctKgeAbove06, eof: t2.meanEof, ssim: t2.meanSsim })}`,
        );
      }
    }
    return { twin, runs };
  } finally {
    sim.close();
  }
}
