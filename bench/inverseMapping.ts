import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jobSpecSchema, type GaugesJobSpec } from '../src-shared/ipc';
import {
  gaugeBounds,
  gaugeProblemFromDataset,
  gaugeScores,
  type GaugeProblem,
} from '../src-main/services/calibration/gauges/problem';
import { makeCnTwin } from '../src-main/services/calibration/inverse/twin';
import {
  buildSpace,
  evalSetup,
  evaluate,
  fieldsOf,
  type EvalSetup,
} from '../src-main/services/calibration/inverse/space';
import { CandidatePool } from '../src-main/services/calibration/inverse/pool';
import { mulberry32 } from '../src-main/services/common/random';
import { startWorker } from '../src-main/services/jobs/workerEntry';
import { filterOptionsSchema } from '../src-main/services/calibration/inverse/filters';
import { trainHdaPr } from '../src-main/services/calibration/methods/hda-pr/train';
import { methodOptions, runMethod } from '../src-main/services/calibration/registry';
import { sceUa } from '../src-main/services/calibration/optim/sceUa';
import type { MethodContext } from '../src-main/services/calibration/method';
import { computeHandle } from '../src-main/services/compute';
import { loadSmashDataset } from '../src-main/services/datasets/smashDataset';
import { runGaugesJob } from '../src-main/services/jobs/gaugesJob';
import { checkJobSpec } from '../src-main/services/jobs/specs';
import { cc, nse } from '../src-main/services/metrics/series';
import { runCnLr, type CnLrParams } from '../src-main/services/physics/cnlr';
import { runGr4Lr, type Gr4LrParams } from '../src-main/services/physics/gr4lr';
import { machine } from './stats';

const num = (v: string | undefined, d: number) => (v ? Number(v) : d);
const r3 = (v: number) => (Number.isFinite(v) ? +v.toFixed(3) : null);

/** NSE per gauge over steps [s0, s1) of a discharge run over every step. */
function nseOver(pb: GaugeProblem, q: Float64Array, s0: number, s1: number) {
  const n = pb.net.cells;
  return Object.fromEntries(
    pb.gauges.map((g) => [
      g.code,
      r3(
        nse(
          g.obs.subarray(s0, s1),
          Float64Array.from({ length: s1 - s0 }, (_, i) => q[(s0 + i) * n + g.cell]!),
        ).value,
      ),
    ]),
  );
}

/** The problem cut to its first `steps` steps (the train problem: spin-up, then scored steps). */
function cut(pb: GaugeProblem, steps: number, warmup: number): GaugeProblem {
  const n = pb.net.cells;
  return {
    ...pb,
    steps,
    warmup,
    P: pb.P.subarray(0, steps * n),
    E: pb.E.subarray(0, steps * n),
    gauges: pb.gauges.map((g) => ({ ...g, obs: g.obs.subarray(0, steps) })),
  };
}

/** SCE-UA (Duan et al. 1992) over a cn-lr search space, maximising the mean NSE of the train problem. */
function sceUaOver(train: GaugeProblem, mpr: string[], maxRuns: number, seed: number) {
  const space = buildSpace(train, mpr);
  const s = evalSetup(
    train,
    space,
    filterOptionsSchema.parse({ budyko: { enabled: false }, vegetation: { enabled: false } }),
  );
  const t = performance.now();
  const r = sceUa((x) => -evaluate(s, x).score, space.lower, space.upper, { maxRuns, complexes: 4, seed });
  return { fields: fieldsOf(space, r.best), runs: r.runs, seconds: (performance.now() - t) / 1000 };
}

/**
 * Candidates per second on the candidate pool (inverse/pool.ts) with `threads` workers (1: the
 * calling thread): a warm-up block first (JIT, worker start), then `xs` timed. Returns the rate and
 * the results (compared across thread counts by the caller).
 */
async function poolRate(setup: EvalSetup, mpr: string[], xs: number[][], threads: number) {
  const t0 = performance.now();
  const pool = await CandidatePool.create(setup, mpr, threads, startWorker);
  const startSeconds = (performance.now() - t0) / 1000;
  try {
    await pool.evaluate(xs.slice(0, 4 * threads));
    const t = performance.now();
    const r = await pool.evaluate(xs);
    const seconds = (performance.now() - t) / 1000;
    return { rate: xs.length / seconds, seconds, startSeconds, r };
  } finally {
    pool.close();
  }
}

/** The pool at 1 and 2 threads on a problem: candidates per second and whether the results are bit-identical. */
async function poolSection(setup: EvalSetup, mpr: string[], n: number) {
  const rand = mulberry32(23);
  const { lower, upper } = setup.space;
  const xs = Array.from({ length: n }, () => lower.map((lo, j) => lo + rand() * (upper[j]! - lo)));
  const one = await poolRate(setup, mpr, xs, 1);
  const two = await poolRate(setup, mpr, xs, 2);
  const same = one.r.every((a, i) => {
    const b = two.r[i]!;
    const fa = Buffer.from(a.flows.buffer, a.flows.byteOffset, a.flows.byteLength);
    const fb = Buffer.from(b.flows.buffer, b.flows.byteOffset, b.flows.byteLength);
    return fa.equals(fb) && Object.is(a.score, b.score) && Object.is(a.etOverP, b.etOverP);
  });
  return {
    candidates: n,
    candidates_per_second: { threads1: +one.rate.toFixed(1), threads2: +two.rate.toFixed(1) },
    speedup: +(two.rate / one.rate).toFixed(2),
    pool_start_seconds: +two.startSeconds.toFixed(2),
    bit_identical: same,
  };
}

/**
 * `npm run bench -- inverse-mapping` (issue 19). The CN twin (makeCnTwin; INV_ROWS x INV_COLS, two
 * years daily: spin-up 120 d, train to day 480, test after) calibrated by inverse mapping, SCE-UA +
 * MPR over the same search space (as many model runs) and HDA-PR ANN (on its own GR4J + lr, the
 * twin's discharge as observations): recovered CN and Ks fields' correlation with the truth, test
 * NSE per gauge. Candidates evaluated per second. The Lez (resources/sample-data/lez, three
 * gauges, warmup Aug-Sep 2012, train Oct 2012-Mar 2013, test Apr-Jul 2013): inverse mapping
 * (a cn-lr gauge job, vegetation = woodland), HDA-PR (a gr4-lr gauge job) and uniform calibration
 * (SCE-UA on one value per cn-lr parameter) with test NSE per gauge, acceptance rates and the CEM log.
 * Candidates run on the candidate pool (INV_THREADS, 0: one per core); the `pool` sections time
 * the pool at 1 and 2 threads on the twin's and the Lez's train problems (INV_POOL candidates).
 * INV_PARTS (default "twin,lez") picks the parts: "lez" alone for a larger Lez run. The network's
 * form: INV_OUTPUT, INV_PAIRS, INV_EXTRA, INV_NOISE, INV_ENSEMBLE, INV_EPOCHS, INV_PATIENCE,
 * INV_BATCH (options.network; unset: the option's default) and INV_SELECTION (options.selection);
 * on the Lez the form before session 6 (per-cell fields, plausible pairs only) runs too unless
 * INV_BEFORE=0, and the best CEM candidate's and the network's own fields are shown beside the
 * chosen ones. The network phase's time depends on the native backend's OpenMP waiting
 * (OMP_WAIT_POLICY, recorded in the settings): see inverse/network.ts.
 */
export async function inverseMappingBench(): Promise<Record<string, unknown>> {
  const compute = await computeHandle();
  const threads = num(process.env.INV_THREADS, 0);
  const parts = (process.env.INV_PARTS ?? 'twin,lez').split(',');
  const nPool = num(process.env.INV_POOL, 256);
  const ctx = (log?: string[]): MethodContext => ({
    compute,
    threads,
    startWorker,
    cancelled: () => false,
    progress: (p) => {
      if (log && p.phase && log[log.length - 1] !== p.phase) log.push(p.phase);
    },
  });
  const candidates = num(process.env.INV_CANDIDATES, 512);
  const cemIt = num(process.env.INV_CEM, 6);
  const cemSamples = num(process.env.INV_CEM_SAMPLES, 128);
  const epochs = process.env.INV_EPOCHS ? Number(process.env.INV_EPOCHS) : null;
  const seed = 19;
  // the network's form (issue 19, session 6): output, pairs, extra pairs around the elite, noise, members
  const network = {
    ...(epochs ? { epochs } : {}),
    ...(process.env.INV_PATIENCE ? { patience: Number(process.env.INV_PATIENCE) } : {}),
    ...(process.env.INV_BATCH ? { batch: Number(process.env.INV_BATCH) } : {}),
    output: process.env.INV_OUTPUT ?? 'coefficients',
    pairs: process.env.INV_PAIRS ?? 'plausible',
    extraPairs: num(process.env.INV_EXTRA, 512),
    noise: num(process.env.INV_NOISE, 0.1),
    ensemble: num(process.env.INV_ENSEMBLE, 1),
  };
  // the form before session 6 (per-cell fields from the plausible Sobol and CEM pairs only), for the Lez's before/after
  const networkBefore = {
    ...(epochs ? { epochs } : {}),
    patience: 25,
    output: 'fields',
    pairs: 'plausible',
    extraPairs: 0,
    noise: 0,
  };
  const before = process.env.INV_BEFORE !== '0';
  const selection = process.env.INV_SELECTION ?? 'network';
  const imOptions = (vegetation: string) =>
    methodOptions('inverse-mapping', 'gauges', {
      candidates,
      selection,
      filters: { vegetation: { descriptor: vegetation } },
      cem: { iterations: cemIt, samples: cemSamples },
      network,
    });
  const runs = candidates + cemIt * cemSamples;

  // --- the twin
  const twinPart = async () => {
    const rows = num(process.env.INV_ROWS, 8);
    const cols = num(process.env.INV_COLS, 10);
    const twin = makeCnTwin({ rows, cols, steps: 730, warmup: 0, seed: 5 });
    const full = twin.pb;
    const [w, tEnd] = [120, 480];
    const train = cut(full, tEnd, w);
    const fieldCorr = (f: CnLrParams) => ({
      CN: r3(cc(twin.truth.CN, f.CN).value),
      Ks: r3(cc(twin.truth.Ks, f.Ks).value),
    });
    // candidates per second on the twin
    const space = buildSpace(train, ['CN', 'Ks']);
    const es = evalSetup(train, space, filterOptionsSchema.parse({ vegetation: { descriptor: 'ndvi' } }));
    let t = performance.now();
    for (let i = 0; i < 100; i++)
      evaluate(
        es,
        space.lower.map((lo, j) => lo + ((i * 0.37 + j * 0.11) % 1) * (space.upper[j]! - lo)),
      );
    const twinRate = 100 / ((performance.now() - t) / 1000);
    const twinPool = await poolSection(es, ['CN', 'Ks'], nPool);
    t = performance.now();
    const im = await runMethod('gauges', 'inverse-mapping', train, imOptions('ndvi'), seed, ctx());
    const imSeconds = (performance.now() - t) / 1000;
    const imF = im.parameters as unknown as CnLrParams;
    const imInfo = im.info as Record<string, unknown> & {
      bestCandidate: { x: number[] };
      selection?: { rule: string; chosen: string; network: { x: number[] | null } };
    };
    // the network's own fields beside the chosen ones (options.selection both ways)
    const twinNetX = imInfo.selection?.network.x;
    const cemBest = fieldsOf(space, imInfo.bestCandidate.x);
    const sce = sceUaOver(train, ['CN', 'Ks'], runs, seed);
    t = performance.now();
    const gr4Bounds = gaugeBounds(86400);
    const hda = trainHdaPr(
      { ...train, structure: undefined, lower: gr4Bounds.lower, upper: gr4Bounds.upper },
      {
        hidden: [16, 16],
        iterations: num(process.env.INV_HDA_IT, 200),
        learningRate: 0.003,
        seed,
        warmup: w,
      },
    );
    const hdaSeconds = (performance.now() - t) / 1000;
    const testOf = (q: Float64Array) => nseOver(full, q, tEnd, full.steps);
    const cnq = (f: CnLrParams) => runCnLr(full.net, f, full.P, full.E, full.steps, full.dt);
    const twinResult = {
      grid: [rows, cols],
      cells: full.net.cells,
      steps: { spinup: w, train: [w, tEnd], test: [tEnd, full.steps] },
      candidates_per_second: +twinRate.toFixed(1),
      pool: twinPool,
      model_runs_each: runs,
      'inverse-mapping': {
        field_correlation: fieldCorr(imF),
        test_nse: testOf(cnq(imF)),
        train_nse: Object.fromEntries(im.scores.map((s) => [s.code, r3(s.nse)])),
        seconds: +imSeconds.toFixed(1),
        phase_seconds: imInfo.seconds,
        acceptance: imInfo.acceptance,
        network: { ...(imInfo.network as Record<string, unknown>), history: undefined },
      },
      selection: imInfo.selection ? { rule: imInfo.selection.rule, chosen: imInfo.selection.chosen } : null,
      ...(twinNetX
        ? {
            "network's fields": {
              field_correlation: fieldCorr(fieldsOf(space, twinNetX)),
              test_nse: testOf(cnq(fieldsOf(space, twinNetX))),
            },
          }
        : {}),
      'cem-best-candidate': { field_correlation: fieldCorr(cemBest), test_nse: testOf(cnq(cemBest)) },
      'sce-ua+mpr': {
        field_correlation: fieldCorr(sce.fields),
        test_nse: testOf(cnq(sce.fields)),
        runs: sce.runs,
        seconds: +sce.seconds.toFixed(1),
      },
      'hda-pr': {
        structure: 'gr4-lr (its own; CN fields not comparable)',
        test_nse: testOf(runGr4Lr(full.net, hda.params as Gr4LrParams, full.P, full.E, full.steps, full.dt)),
        seconds: +hdaSeconds.toFixed(1),
      },
      cem: (imInfo.cem as Array<Record<string, number>>).map((c) => ({
        iteration: c.iteration,
        acceptance: r3(c.acceptance!),
        gamma: r3(c.gamma!),
        elite_mean: r3(c.eliteMean!),
        best: r3(c.best!),
        sigma_rel: r3(c.sigmaRelative!),
      })),
    };
    return twinResult;
  };
  const twinResult = parts.includes('twin') ? await twinPart() : null;
  // what every output of the bench starts with
  const head = {
    machine: machine(),
    backend: compute.backend,
    settings: {
      candidates,
      cem_iterations: cemIt,
      cem_samples: cemSamples,
      epochs,
      seed,
      threads,
      network,
      selection,
      omp_wait_policy: process.env.OMP_WAIT_POLICY ?? null,
    },
    twin: twinResult,
  };
  if (!parts.includes('lez')) return head;

  // --- the Lez
  let t = performance.now();
  const LEZ = 'resources/sample-data/lez';
  const dataset = { path: LEZ, start: '2012-08-01', end: '2013-07-31' };
  const periods = [
    { name: 'warmup', start: '2012-08-01', end: '2012-09-30' },
    { name: 'train', start: '2012-10-01', end: '2013-03-31' },
    { name: 'test', start: '2013-04-01', end: '2013-07-31' },
  ];
  const dir = await mkdtemp(join(tmpdir(), 'fieldcal-inverse-'));
  const testNse = (m: Array<{ period: string; target: string; metric: string; value: number | null }>) =>
    Object.fromEntries(
      m
        .filter((x) => x.period === 'test' && x.metric === 'nse')
        .map((x) => [x.target, r3(x.value ?? Number.NaN)]),
    );
  try {
    const phases: string[] = [];
    const spec = (method: string, structure: string, options: unknown) =>
      checkJobSpec(
        jobSpecSchema.parse({ kind: 'gauges', method, seed, dataset, periods, structure, options, threads }),
      ) as GaugesJobSpec;
    t = performance.now();
    const imSpec = (net: Record<string, unknown>, sel = selection) =>
      spec('inverse-mapping', 'cn-lr', {
        candidates,
        selection: sel,
        filters: { vegetation: { descriptor: 'woodland' } },
        cem: { iterations: cemIt, samples: cemSamples },
        network: net,
      });
    const lezIm = await runGaugesJob(imSpec(network), 1, join(dir, 'im'), ctx(phases), () => undefined);
    const lezImSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    const lezBefore = before
      ? await runGaugesJob(
          imSpec(networkBefore, 'network'),
          3,
          join(dir, 'im-before'),
          ctx(),
          () => undefined,
        )
      : null;
    const lezBeforeSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    const lezHda = await runGaugesJob(
      spec('hda-pr', 'gr4-lr', {}),
      2,
      join(dir, 'hda'),
      ctx(),
      () => undefined,
    );
    const lezHdaSeconds = (performance.now() - t) / 1000;
    // uniform calibration: SCE-UA on one value per cn-lr parameter over the basin, same model runs
    const ds = await loadSmashDataset({
      dir: LEZ,
      start: new Date('2012-08-01T00:00:00Z'),
      end: new Date('2013-07-31T00:00:00Z'),
    });
    const lez = gaugeProblemFromDataset(ds, undefined, 0, 'cn-lr');
    const s0 = 61; // 2012-10-01
    const s1 = 61 + 182; // 2013-04-01
    const lezTrain = cut(lez, s1, s0);
    t = performance.now();
    const uni = sceUaOver(lezTrain, [], runs, seed);
    const lezRateSpace = buildSpace(lezTrain, ['CN', 'Ks']);
    const lezEs = evalSetup(
      lezTrain,
      lezRateSpace,
      filterOptionsSchema.parse({ vegetation: { descriptor: 'woodland' } }),
    );
    const tr = performance.now();
    for (let i = 0; i < 50; i++)
      evaluate(
        lezEs,
        lezRateSpace.lower.map((lo, j) => lo + ((i * 0.37 + j * 0.11) % 1) * (lezRateSpace.upper[j]! - lo)),
      );
    const lezRate = 50 / ((performance.now() - tr) / 1000);
    const lezPool = await poolSection(lezEs, ['CN', 'Ks'], nPool);
    const uniQ = runCnLr(lez.net, uni.fields, lez.P, lez.E, lez.steps, lez.dt);
    const info = lezIm.info as Record<string, unknown>;
    // the best plausible candidate of the search (train NSE; its fields on the test period): what the pairs contain
    const bestX = (info.bestCandidate as { x: number[]; score: number }).x;
    const bestF = fieldsOf(lezRateSpace, bestX);
    const bestQ = runCnLr(lez.net, bestF, lez.P, lez.E, lez.steps, lez.dt);
    // the selection rule both ways: the network's own fields (its point of the space) beside the chosen ones
    const sel = info.selection as
      { rule: string; chosen: string; network: { x: number[] | null } } | undefined;
    const netX = sel?.network.x;
    const netQ = netX
      ? runCnLr(lez.net, fieldsOf(lezRateSpace, netX), lez.P, lez.E, lez.steps, lez.dt)
      : null;
    const lezResult = {
      cells: lez.net.cells,
      gauges: lez.gauges.map((g) => g.code),
      candidates_per_second: +lezRate.toFixed(1),
      pool: lezPool,
      test_nse: {
        'inverse-mapping': testNse(lezIm.metrics),
        ...(lezBefore
          ? { 'inverse-mapping (before: per-cell fields, plausible pairs)': testNse(lezBefore.metrics) }
          : {}),
        'cem best candidate': nseOver(lez, bestQ, s1, lez.steps),
        ...(netQ ? { "network's fields": nseOver(lez, netQ, s1, lez.steps) } : {}),
        'hda-pr': testNse(lezHda.metrics),
        'uniform (sce-ua, cn-lr)': nseOver(lez, uniQ, s1, lez.steps),
      },
      train_nse_uniform: gaugeScores(
        lezTrain,
        runCnLr(lez.net, uni.fields, lezTrain.P, lezTrain.E, lezTrain.steps, lez.dt),
        s0,
      ).map((s) => [s.code, r3(s.nse)]),
      train_nse: {
        'inverse-mapping': Object.fromEntries(
          lezIm.metrics
            .filter((m) => m.period === 'train' && m.metric === 'nse')
            .map((m) => [m.target, r3(m.value ?? NaN)]),
        ),
        'cem best candidate': nseOver(lez, bestQ, s0, s1),
        ...(netQ ? { "network's fields": nseOver(lez, netQ, s0, s1) } : {}),
      },
      selection: sel ? { rule: sel.rule, chosen: sel.chosen } : null,
      network_before: lezBefore
        ? {
            ...((lezBefore.info as Record<string, unknown>).network as Record<string, unknown>),
            history: undefined,
          }
        : null,
      acceptance: info.acceptance,
      cem: (info.cem as Array<Record<string, number>>).map((c) => ({
        iteration: c.iteration,
        acceptance: r3(c.acceptance!),
        elite_mean: r3(c.eliteMean!),
        best: r3(c.best!),
        sigma_rel: r3(c.sigmaRelative!),
      })),
      network: { ...(info.network as Record<string, unknown>), history: undefined },
      phase_seconds: info.seconds,
      job_phases: phases,
      artifacts: lezIm.artifacts.map((a) => a.path.slice(dir.length + 1)).filter((p) => p.endsWith('.tif')),
      seconds: {
        'inverse-mapping': +lezImSeconds.toFixed(1),
        'inverse-mapping (before)': +lezBeforeSeconds.toFixed(1),
        'hda-pr': +lezHdaSeconds.toFixed(1),
        uniform: +((performance.now() - t) / 1000).toFixed(1),
      },
    };
    return { ...head, lez: lezResult };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
