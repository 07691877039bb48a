// `npm run bench -- bucket-nexus` (issue 21): the nexus against GR4J and a plain LSTM on five basins,
// the water balance, λ, seconds per epoch parallel vs step-by-step coupling, response figures.
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lumpedProblemFromFiles, parseRunConfig } from '../src-main/services/calibration/lumped/config';
import { parameterVector, simulateLumped } from '../src-main/services/calibration/lumped/problem';
import type { MethodContext } from '../src-main/services/calibration/method';
import { sceUaLumped } from '../src-main/services/calibration/methods/sce-ua/index';
import { sceUaLumpedOptions } from '../src-main/services/calibration/methods/sce-ua/options';
import { bucketNexusOptions } from '../src-main/services/calibration/methods/bucket-nexus/options';
import { buildCoupled, coupledLoss } from '../src-main/services/calibration/nexus/coupled';
import {
  bucketLossOp,
  buildNet,
  nexusStats,
  simulateNet,
  standardInputs,
  type NexusModel,
} from '../src-main/services/calibration/nexus/model';
import { extractResponses, writeResponseFigures } from '../src-main/services/calibration/nexus/responses';
import { trainNexus, trainingWindows } from '../src-main/services/calibration/nexus/train';
import { computeHandle } from '../src-main/services/compute';
import { lumpedColumnsSchema } from '../src-shared/types/assemble';
import { readLumpedCsv, type LumpedSeries } from '../src-main/services/datasets/lumpedCsv';
import { kge, nse } from '../src-main/services/metrics/series';

const HERE = dirname(fileURLToPath(import.meta.url));
const SHARED = resolve(HERE, '../../shared/data');
const CAMELS = lumpedColumnsSchema.parse({ date: 'Date', P: 'Ptot', PET: 'Evap', Q: 'Qmmd', T: 'Temp' });

/** The fixed splits: warm-up year, train, valid, test (inclusive dates). */
const BASINS = [
  {
    code: 'L0123001',
    path: join(SHARED, 'airgr-L0123001/L0123001_BasinObs.csv'),
    columns: undefined,
    warm: '1989-01-01',
    train: '1990-01-01',
    valid: '2000-01-01',
    validEnd: '2004-12-31',
    test: '2005-01-01',
    end: '2012-12-31',
  },
  ...['J421191001', 'A273011002', 'K134181001', 'H622101001'].map((code) => ({
    code,
    path: join(SHARED, `camels-fr-19/ts/${code}.csv`),
    columns: CAMELS,
    warm: '1999-01-01',
    train: '2000-01-01',
    valid: '2010-01-01',
    validEnd: '2013-12-31',
    test: '2014-01-01',
    end: '2018-12-31',
  })),
];

const day = (d: Date) => d.toISOString().slice(0, 10);
const r4 = (v: number) => +v.toFixed(4);

function cut(d: LumpedSeries, from: string, to: string) {
  const i0 = d.dates.findIndex((x) => day(x) === from);
  const i1 = d.dates.findIndex((x) => day(x) === to) + 1;
  return {
    P: d.P.subarray(i0, i1),
    E: d.E.subarray(i0, i1),
    ...(d.T ? { T: d.T.subarray(i0, i1) } : {}),
    Q: d.Q.subarray(i0, i1),
    dates: d.dates.slice(i0, i1),
  };
}

/** Closure of the test steps [t0, end): |ΣP - ΣET - ΣQ - ΔS| / ΣP, and the largest per-step |residual| / mean P. */
function testClosure(
  P: Float64Array,
  run: NonNullable<ReturnType<typeof simulateNet>['run']>,
  t0: number,
): { closure: number; maxStep: number; residualShare: number } {
  const S = (t: number) => (t < 0 ? 0 : run.C[t]! + run.S[t]! + run.G[t]! + run.X[t]!);
  let p = 0;
  let out = 0;
  let maxStep = 0;
  let res = 0;
  for (let t = t0; t < P.length; t++) {
    p += P[t]!;
    out += run.ET[t]! + run.Q[t]!;
    maxStep = Math.max(maxStep, Math.abs(P[t]! - run.ET[t]! - run.Q[t]! - (S(t) - S(t - 1))));
    res += run.residual[t]!;
  }
  const dS = S(P.length - 1) - S(t0 - 1);
  return {
    closure: Math.abs(p - out - dS) / p,
    maxStep: maxStep / (p / (P.length - t0)),
    residualShare: Math.abs(res) / p,
  };
}

export async function bucketNexusBench(): Promise<Record<string, unknown>> {
  const { tf } = await computeHandle();
  const epochs = Number(process.env.BENCH_EPOCHS ?? 25);
  const hidden = Number(process.env.BENCH_HIDDEN ?? 32);
  const nBasins = Number(process.env.BENCH_BASINS ?? BASINS.length);
  const figDir = resolve(process.env.BENCH_OUT ?? 'bench-out/bucket-nexus');
  mkdirSync(figDir, { recursive: true });
  const ctx: MethodContext = {
    compute: { tf, backend: tf.getBackend(), threads: 0 },
    cancelled: () => false,
    progress: () => {},
  };
  const table: Array<Record<string, unknown>> = [];
  let timing: Record<string, unknown> = {};
  let responses: Record<string, unknown> = {};
  const t0 = performance.now();
  for (const b of BASINS.slice(0, nBasins)) {
    const series = await readLumpedCsv(b.path, b.columns);
    const full = cut(series, b.warm, b.end);
    const iTest = full.dates.findIndex((x) => day(x) === b.test);
    const iTrain = full.dates.findIndex((x) => day(x) === b.train);
    const iValid = full.dates.findIndex((x) => day(x) === b.valid);
    const iValidEnd = full.dates.findIndex((x) => day(x) === b.validEnd);
    const obsTest = full.Q.subarray(iTest);
    const score = (q: Float64Array) => ({
      nse: r4(nse(obsTest, q.subarray(iTest)).value),
      kge: r4(kge(obsTest, q.subarray(iTest)).value),
    });
    // the nexus' series: warm-up year, then train + valid (the last validSteps held out)
    const s = {
      P: full.P.subarray(0, iValidEnd + 1),
      E: full.E.subarray(0, iValidEnd + 1),
      ...(full.T ? { T: full.T.subarray(0, iValidEnd + 1) } : {}),
      obs: full.Q.subarray(iTrain, iValidEnd + 1),
      warmup: iTrain,
    };
    const fullForcing = { P: full.P, E: full.E, ...(full.T ? { T: full.T } : {}) };
    const row: Record<string, unknown> = { basin: b.code, test: `${b.test}..${b.end}` };
    const variants = [
      ['nexus', { head: 'bucket' }],
      ['nexus_lambda0', { head: 'bucket', lambda: 0 }],
      ['nexus_amounts', { head: 'bucket', outlet: 'amounts' }],
      ['nexus_amounts_lambda0', { head: 'bucket', outlet: 'amounts', lambda: 0 }],
      ['lstm', { head: 'direct' }],
    ] as const;
    for (const [name, extra] of variants) {
      // fractions mode: the residual is identically 0, so λ has no gradient and the λ = 0 run is the
      // same run bit for bit; it is trained on the first basin only, to show that
      if (name === 'nexus_lambda0' && b.code !== BASINS[0]!.code) continue;
      const o = bucketNexusOptions.parse({
        epochs,
        hidden,
        validSteps: iValidEnd + 1 - iValid,
        responses: false,
        ...extra,
      });
      const before = tf.memory().numTensors;
      const tr = await trainNexus(tf, s, o, 1);
      const m: NexusModel = tr.model;
      const sim = simulateNet(tf, tr.net, fullForcing, m.stats, m.head, tr.settings.bucket);
      const cell: Record<string, unknown> = {
        ...score(sim.Q),
        bestEpoch: tr.bestEpoch,
        secondsPerEpoch: r4(tr.history.reduce((a, h) => a + h.seconds, 0) / tr.history.length),
      };
      if (sim.run) cell.waterBalanceTest = testClosure(full.P, sim.run, iTest);
      if (name === 'nexus' && b.code === BASINS[0]!.code) {
        const r = extractResponses(tf, tr.net, fullForcing, m.stats, tr.settings.bucket, iTest);
        const files = await writeResponseFigures(figDir, r, b.code);
        responses = {
          basin: b.code,
          files,
          impulse: r.impulse.summary,
          rainfall: r.rainfall,
          storage: r.storage,
        };
      }
      tr.net.dispose();
      cell.tensorsLeaked = tf.memory().numTensors - before;
      row[name] = cell;
    }
    // GR4J calibrated by Fieldcal (SCE-UA + polish, airGR space) on the training years, scored on the test years
    const cfg = parseRunConfig({
      ...(b.columns ? { columns: b.columns } : {}),
      period: {
        warmupStart: b.warm,
        start: b.train,
        end: full.dates[iValid - 1]!.toISOString().slice(0, 10),
      },
    });
    const pr = await lumpedProblemFromFiles(b.path, cfg);
    const g = sceUaLumped(pr, sceUaLumpedOptions.parse({ restarts: 1 }), 1, ctx);
    const run = simulateLumped(
      { ...pr, P: full.P, E: full.E, warmup: 0, obs: full.Q },
      parameterVector(pr, g.parameters),
    );
    row.gr4 = { ...score(run), parameters: g.parameters };
    table.push(row);
    process.stderr.write(`${JSON.stringify(row)}\n`);
    // seconds per epoch: the parallel path (fused LSTM over the sequence + one bucket pass) against
    // the step-by-step recurrent coupling (LSTM cell fed the stores each step, autodiff unrolled),
    // on the same windows of the first basin
    if (b.code === BASINS[0]!.code) timing = await epochTiming(tf, s, hidden, iValidEnd + 1 - iValid);
  }
  return { epochs, hidden, seconds: r4((performance.now() - t0) / 1000), timing, table, responses };
}

async function epochTiming(
  tf: Awaited<ReturnType<typeof computeHandle>>['tf'],
  s: Parameters<typeof trainNexus>[1],
  hidden: number,
  validSteps: number,
): Promise<Record<string, unknown>> {
  const o = bucketNexusOptions.parse({ epochs: 1, hidden, validSteps, responses: false });
  const trainEnd = s.P.length - validSteps;
  const stats = nexusStats(s, s.obs, 0, trainEnd);
  const nIn = stats.inputs.length;
  const x = standardInputs(s, stats);
  const { L, starts, warm } = trainingWindows(s, trainEnd, o);
  const nb = Number(process.env.BENCH_TIMING_BATCHES ?? 2);
  const batches = Array.from({ length: nb }, (_, i) => starts.slice(i * o.batch, (i + 1) * o.batch)).filter(
    (a) => a.length,
  );
  const mk = (pick: number[]) => {
    const xb = new Float32Array(pick.length * L * nIn);
    const P = new Float64Array(pick.length * L);
    const obs = new Float64Array(pick.length * L).fill(Number.NaN);
    pick.forEach((t0, i) => {
      xb.set(x.subarray(t0 * nIn, (t0 + L) * nIn), i * L * nIn);
      for (let j = 0; j < L; j++) {
        P[i * L + j] = s.P[t0 + j]!;
        if (j >= warm && t0 + j >= s.warmup) obs[i * L + j] = s.obs[t0 + j - s.warmup]!;
      }
    });
    return { xb, w: { batch: pick.length, steps: L, P, obs } };
  };
  const settings = { loss: 'nse' as const, lambda: 1, obsVar: 1, bucket: {} };
  const net = buildNet(tf, nIn, hidden, 'bucket', 1);
  const opt = tf.train.adam(1e-3);
  let t = performance.now();
  for (const pick of batches) {
    const { xb, w } = mk(pick);
    const xt = tf.tensor3d(xb, [pick.length, L, nIn]);
    opt.minimize(
      () => bucketLossOp(tf, net.apply(xt, { training: true }) as never, w, settings) as never,
      false,
    );
    xt.dispose();
  }
  const parallel = (performance.now() - t) / 1000 / batches.length;
  net.dispose();
  opt.dispose();
  const cn = buildCoupled(tf, nIn, hidden, 1);
  const vars = [cn.wx, cn.wh, cn.b, cn.wo, cn.bo];
  const opt2 = tf.train.adam(1e-3);
  t = performance.now();
  for (const pick of batches) {
    const { xb, w } = mk(pick);
    tf.tidy(() => {
      opt2.minimize(() => coupledLoss(tf, cn, xb, nIn, w, settings), false, vars);
    });
  }
  const coupled = (performance.now() - t) / 1000 / batches.length;
  vars.forEach((v) => v.dispose());
  opt2.dispose();
  const perEpoch = Math.ceil(starts.length / o.batch);
  return {
    windows: starts.length,
    windowSteps: L,
    batch: o.batch,
    batchesTimed: batches.length,
    secondsPerEpochParallel: r4(parallel * perEpoch),
    secondsPerEpochCoupled: r4(coupled * perEpoch),
    speedup: r4(coupled / parallel),
  };
}
