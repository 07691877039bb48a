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
import { makeTwin, type Twin } from '../twin/generate';

/**
 * The runs of the GAN-PO paper's comparison (Sun, Pan & Duan 2024, section 3): default parameters,
 * SCE-UA over MPR (2000 runs), dPL with the paper's settings (LSTM hidden 128, batch 50, lr 1e-4,
 * 200 epochs), GAN-PO and its L1-only ablation (Table 1), all on the same twin and the same h().
 */
export const PAPER_RUNS: Array<{ name: string; method: string | null; options: Record<string, unknown> }> = [
  { name: 'default', method: null, options: {} },
  { name: 'gan-po', method: 'gan-po', options: {} },
  { name: 'gan-po-l1', method: 'gan-po', options: { ablation: 'l1-only' } },
  { name: 'sce-ua', method: 'sce-ua', options: { maxRuns: 2000 } },
  {
    name: 'dpl',
    method: 'dpl',
    options: { g: 'z', lstmHidden: 128, batchCells: 50, learningRate: 1e-4, epochs: 200 },
  },
];

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
): Omit<PaperRun, 'name' | 'method' | 'seed' | 'seconds' | 'secondsPerEpoch' | 'info'> {
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
  twinSeed?: number;
  log?: (line: string) => void;
}): Promise<{ twin: Twin; runs: PaperRun[] }> {
  const twin = makeTwin({ layout: 'paper', seed: o.twinSeed ?? 1 });
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
        // a shortened GAN-PO run keeps the defaults' share of pre-training (20 of the paper's 200 epochs)
        const pretrain =
          epochs && r.method === 'gan-po'
            ? {
                pretrainEpochs: Math.min(
                  ganPoDefaults.pretrainEpochs,
                  Math.floor((epochs * ganPoDefaults.pretrainEpochs) / ganPoDefaults.epochs),
                ),
              }
            : {};
        const options: Record<string, unknown> = { ...r.options, ...(epochs ? { epochs, ...pretrain } : {}) };
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
        const { history, ...rest } = info as { history?: unknown[]; secondsPerEpoch?: unknown };
        runs.push({
          name: r.name,
          method: r.method,
          seed,
          seconds,
          secondsPerEpoch:
            typeof rest.secondsPerEpoch === 'number'
              ? rest.secondsPerEpoch
              : r.name === 'dpl'
                ? seconds / Number(options.epochs ?? 200)
                : null,
          ...scoreRun(twin, sim, def, fields),
          ...(history ? { history } : {}),
          info: rest,
        });
        const t2 = runs.at(-1)!.test.summary;
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
