import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runKgssl } from '../src-main/services/calibration/kgssl';
import { KgsslData } from '../src-main/services/calibration/kgssl/data';
import { KgsslNets } from '../src-main/services/calibration/kgssl/model';
import { basinFolds, ridgePredict } from '../src-main/services/calibration/kgssl/uses';
import { cc } from '../src-main/services/metrics/series';
import { kgsslOptions } from '../src-main/services/calibration/methods/kgssl/options';
import { mulberry32 } from '../src-main/services/common/random';
import { computeHandle } from '../src-main/services/compute';
import { readBasinFolder, type BasinSet } from '../src-main/services/datasets/basins';

const HERE = dirname(fileURLToPath(import.meta.url));
const DATA = resolve(HERE, '../../shared/data/camels-fr-19');
const env = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d);

/** The poster's CAMELS numbers (Ghosh et al. 2022 poster, ../shared/seeds/001_28a1365b2578bd3a.txt). */
const POSTER = {
  basins: 531,
  attributes: 27,
  imputation: '20 of 27 attributes with r > 0.8, 14 with r > 0.9 (area_gages2 r = 0.3, geol_perm r = 0.56)',
  train: '1999-2009',
  test: '1989-1999',
  distances: 'embedding distances "very similar" to attribute distances (figure, no number)',
  noisy:
    'forward model with noisy attributes drops significantly; with KGSSL embeddings it stays better (figure, no number)',
  transfer: 'not in the poster',
};

/** n synthetic basins of `days` days, CAMELS-FR's dates: seeded rain, seasonal PET and T, a linear reservoir per basin. */
function synthetic(n: number, like: BasinSet): BasinSet {
  const dates = like.basins[0]!.series.dates;
  const rand = mulberry32(7);
  const basins = Array.from({ length: n }, (_, b) => {
    const k = 0.05 + 0.5 * rand();
    const wet = 0.2 + 0.5 * rand();
    const P = Float64Array.from(dates, () => (rand() < wet ? -6 * Math.log(1 - rand()) : 0));
    const E = Float64Array.from(dates, (_, t) => 2 + 1.5 * Math.sin((2 * Math.PI * t) / 365.25));
    const T = Float64Array.from(dates, (_, t) => 10 + 8 * Math.sin((2 * Math.PI * (t - 100)) / 365.25));
    const Q = new Float64Array(dates.length);
    let S = 50;
    for (let t = 0; t < dates.length; t++) {
      S = Math.max(S + P[t]! - E[t]! / 2, 0);
      Q[t] = k * S;
      S -= Q[t]!;
    }
    return { code: `S${b}`, file: `S${b}.csv`, series: { dates, P, E, T, Q, stepSeconds: 86400 } };
  });
  return { dir: 'synthetic', basins, attributes: { names: [], units: {}, values: basins.map(() => []) } };
}

const mb = (b: number) => +(b / 2 ** 20).toFixed(1);

/**
 * KGSSL on camels-fr-19 (train 1999-2008, test 2009-2018; the poster's periods are before 1999,
 * which this extract does not hold): timing per epoch and total, and the must-show numbers
 * (reconstruction NSE per basin, leave-basins-out imputation correlations, distance-matrix
 * correlation, noisy-attribute comparison, ungauged GR4J transfer medians). Then 671 synthetic
 * basins of the same length: seconds per epoch, embedding pass and memory. Sizes from env:
 * KGSSL_EPOCHS, KGSSL_BATCHES, KGSSL_FOLDS, KGSSL_SYNTH (basins), KGSSL_SYNTH_EPOCHS; options from
 * KGSSL_ZDIM, KGSSL_WINDOWS (windows per basin), KGSSL_TEMPERATURE, KGSSL_W_CONTRASTIVE,
 * KGSSL_W_REGRESSION; KGSSL_IMPUTATION_ONLY=1 returns the imputation study alone (head vs ridge).
 */
export async function kgsslBench(): Promise<Record<string, unknown>> {
  const compute = await computeHandle();
  const { tf } = compute;
  const set = await readBasinFolder(DATA, { period: { start: '1999-01-01', end: '2008-12-31' } });
  const pr = {
    set,
    train: { start: '1999-01-01', end: '2008-12-31' },
    test: { start: '2009-01-01', end: '2018-12-31' },
  };
  // KGSSL_IMPUTATION_ONLY=1: no attribute baseline, no GR4J transfer, no synthetic scaling (imputation studies)
  const only = process.env.KGSSL_IMPUTATION_ONLY === '1';
  const o = kgsslOptions.parse({
    epochs: env('KGSSL_EPOCHS', 30),
    batchesPerEpoch: env('KGSSL_BATCHES', 10),
    folds: env('KGSSL_FOLDS', 5),
    zDim: env('KGSSL_ZDIM', 8),
    windowsPerBasin: env('KGSSL_WINDOWS', 2),
    temperature: env('KGSSL_TEMPERATURE', 0.1),
    weights: {
      contrastive: env('KGSSL_W_CONTRASTIVE', 0.1),
      regression: env('KGSSL_W_REGRESSION', 0.1),
    },
    ...(only ? { attributeBaseline: false, transfer: { enabled: false } } : {}),
  });
  const phases: Record<string, number> = {};
  let last = performance.now();
  let phase = '';
  const t0 = performance.now();
  const r = runKgssl(pr, o, 1, {
    compute,
    cancelled: () => false,
    progress: (p) => {
      const ph = p.phase ?? 'calibrating';
      const now = performance.now();
      if (ph !== phase) {
        process.stderr.write(`${ph} ...\n`);
        phase = ph;
      }
      phases[ph] = (phases[ph] ?? 0) + (now - last) / 1000;
      last = now;
    },
  });
  const total = (performance.now() - t0) / 1000;
  const info = r.info as Record<string, unknown> & {
    imputation?: {
      correlation: Record<string, { r: number | null }>;
      head?: { correlation: Record<string, { r: number | null }> };
    };
    transfer?: { median: Record<string, number | null> };
  };
  const summary = (c: Record<string, { r: number | null }> | undefined) => {
    const rs = Object.values(c ?? {})
      .map((x) => x.r)
      .filter((v): v is number => v !== null);
    return {
      attributes: rs.length,
      above08: rs.filter((v) => v > 0.8).length,
      above09: rs.filter((v) => v > 0.9).length,
      negative: rs.filter((v) => v < 0).length,
      median: rs.length ? +[...rs].sort((a, b) => a - b)[rs.length >> 1]!.toFixed(3) : null,
    };
  };
  const lastEpoch = (info.history as Array<{ L1: number; L2: number; L3: number }> | undefined)?.at(-1);
  // the readout used before (ridge λ = 0.01 on the raw embeddings, no λ selection) on the same
  // embeddings and folds, when they come from the self-supervised networks (L3 = 0)
  const previousReadout = () => {
    const z = r.embeddings.z;
    const folds = basinFolds(z.length, Math.min(o.folds, z.length), 1);
    return Object.fromEntries(
      set.attributes.names.map((name, j) => {
        const y = set.basins.map((_, k) => set.attributes.values[k]![j]!.value);
        const p = new Array<number>(z.length).fill(Number.NaN);
        for (let f = 0; f < Math.min(o.folds, z.length); f++) {
          const held = z.map((_, k) => k).filter((k) => folds[k] === f);
          const rest = z.map((_, k) => k).filter((k) => folds[k] !== f);
          ridgePredict(z, y, rest, held).forEach((v, i) => (p[held[i]!] = v));
        }
        const c = cc(
          y.map((v) => v ?? Number.NaN),
          p,
        );
        return [name, { r: c.n >= 3 ? +c.value.toFixed(4) : null }];
      }),
    );
  };
  if (only)
    return {
      backend: compute.backend,
      options: o,
      secondsTotal: +((performance.now() - t0) / 1000).toFixed(1),
      secondsByPhase: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, +v.toFixed(1)])),
      lastEpochLosses: lastEpoch,
      // InfoNCE at chance: log(batch basins) (Oord et al. 2018)
      contrastiveChance: +Math.log(Math.min(o.batchBasins, set.basins.length)).toFixed(3),
      reconstruction: { median: (info.reconstruction as { median: number }).median },
      distanceMatrixCorrelation: (info.distances as { correlation: number }).correlation,
      imputation: {
        ridge: {
          summary: summary(info.imputation?.correlation),
          correlation: Object.fromEntries(
            Object.entries(info.imputation?.correlation ?? {}).map(([k, v]) => [k, v.r]),
          ),
        },
        ...(o.weights.regression === 0
          ? (() => {
              const prev = previousReadout();
              return {
                previousReadout: {
                  summary: summary(prev),
                  correlation: Object.fromEntries(Object.entries(prev).map(([k, v]) => [k, v.r])),
                },
              };
            })()
          : {}),
        ...(info.imputation?.head
          ? {
              head: {
                summary: summary(info.imputation.head.correlation),
                correlation: Object.fromEntries(
                  Object.entries(info.imputation.head.correlation).map(([k, v]) => [k, v.r]),
                ),
              },
            }
          : {}),
      },
      poster: POSTER.imputation,
    };
  const rs = Object.values(info.imputation?.correlation ?? {})
    .map((c) => c.r)
    .filter((v): v is number => v !== null);

  // 671 synthetic basins, CAMELS' size
  const nSyn = env('KGSSL_SYNTH', 671);
  const rss0 = process.memoryUsage().rss;
  const syn = synthetic(nSyn, set);
  const d = new KgsslData({ set: syn, train: pr.train, test: pr.test }, o.window);
  const rss1 = process.memoryUsage().rss;
  const cfg = { ...o, spinup: o.spinup, weights: { ...o.weights, regression: 0 } };
  const nets = new KgsslNets(tf, d, cfg, 1);
  const se = env('KGSSL_SYNTH_EPOCHS', 3);
  const e0 = performance.now();
  for (let e = 0; e < se; e++) nets.epoch(e);
  const perEpoch = (performance.now() - e0) / 1000 / se;
  const z0 = performance.now();
  nets.embeddings();
  const embed = (performance.now() - z0) / 1000;
  const rss2 = process.memoryUsage().rss;
  nets.dispose();
  const camelsEpoch = phases.calibrating! / o.epochs;
  return {
    backend: compute.backend,
    options: o,
    camelsFr19: {
      basins: set.basins.length,
      days: set.basins[0]!.series.dates.length,
      periods: { train: pr.train, test: pr.test },
      secondsPerEpoch: +camelsEpoch.toFixed(3),
      secondsByPhase: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, +v.toFixed(1)])),
      secondsTotal: +total.toFixed(1),
      reconstruction: info.reconstruction,
      imputation: {
        ...info.imputation,
        summary: {
          attributes: rs.length,
          above08: rs.filter((v) => v > 0.8).length,
          above09: rs.filter((v) => v > 0.9).length,
        },
      },
      distanceMatrixCorrelation: (info.distances as { correlation: number }).correlation,
      noisyAttributes: info.noisyAttributes,
      transfer: info.transfer,
    },
    synthetic: {
      basins: nSyn,
      days: syn.basins[0]!.series.dates.length,
      secondsPerEpoch: +perEpoch.toFixed(3),
      epochsTimed: se,
      note: 'an epoch is batchesPerEpoch × batchBasins windows whatever the basin count; the embedding pass and the data grow linearly',
      embeddingPassSeconds: +embed.toFixed(2),
      estimatedSecondsPerFullPass: +((perEpoch * nSyn) / Math.min(o.batchBasins, 19)).toFixed(1),
      memoryMB: { dataRss: mb(rss1 - rss0), afterTraining: mb(rss2), numTensors: tf.memory().numTensors },
      camelsFr19DataRssEstimateMB: mb(((rss1 - rss0) * 19) / nSyn),
    },
    poster: POSTER,
  };
}
