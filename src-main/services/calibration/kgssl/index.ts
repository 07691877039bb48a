import { mulberry32 } from '../../common/random';
import { cc, nse } from '../../metrics/series';
import type { BasinsResult, MethodContext } from '../method';
import { sceUaLumped } from '../methods/sce-ua/index';
import { sceUaLumpedOptions } from '../methods/sce-ua/options';
import type { KgsslOptions } from '../methods/kgssl/options';
import { KgsslData, type BasinsProblem } from './data';
import { KgsslNets, type KgsslConfig } from './model';
import {
  attributeDistances,
  basinFolds,
  embeddingDistances,
  gr4Nse,
  gr4Problem,
  matrixCorrelation,
  meanGr4,
  median,
  nearest,
  ridgeLoo,
} from './uses';

export type { BasinsProblem } from './data';

/** A checkpoint: the main networks after `iteration` epochs, and the stages already done. */
interface KgsslState {
  iteration: number;
  nets: ReturnType<KgsslNets['save']>;
  history: Array<{ epoch: number; total: number; L1: number; L2: number; L3: number; numTensors: number }>;
  stages: Record<string, unknown>;
}

const configOf = (o: KgsslOptions): KgsslConfig => ({
  zDim: o.zDim,
  hidden: o.hidden,
  window: o.window,
  spinup: Math.min(o.spinup, o.window - 1),
  epochs: o.epochs,
  batchesPerEpoch: o.batchesPerEpoch,
  batchBasins: o.batchBasins,
  learningRate: o.learningRate,
  contrastive: o.contrastive,
  temperature: o.temperature,
  margin: o.margin,
  weights: o.weights,
  windowsPerBasin: o.windowsPerBasin,
});

const round = (v: number, d = 4) => (Number.isFinite(v) ? Number(v.toFixed(d)) : null);

/** A copy of the data whose attributes of `hidden` basins are masked (missing to L3). */
function masked(d: KgsslData, hidden: Set<number>): KgsslData {
  const mask = d.mask.slice();
  for (const k of hidden) mask.fill(0, k * d.A, (k + 1) * d.A);
  return Object.assign(Object.create(Object.getPrototypeOf(d) as object) as KgsslData, d, { mask });
}

/** Test-period NSE per basin of a trained forward model under the given conditioning vectors. */
function testNse(nets: KgsslNets, d: KgsslData, cond: ArrayLike<number>[]): number[] {
  return cond.map((c, k) => {
    const { i0, i1 } = d.test[k]!;
    return nse(d.problem.set.basins[k]!.series.Q.subarray(i0, i1), nets.predict(k, c, i0, i1)).value;
  });
}

/** Trains networks for `epochs` from `from`, reporting progress; checkpoints through `save` after each epoch. */
function train(
  nets: KgsslNets,
  from: number,
  ctx: MethodContext,
  phase: string,
  onEpoch?: (e: number, l: ReturnType<KgsslNets['epoch']>) => void,
): void {
  const { tf } = nets;
  for (let e = from; e < nets.cfg.epochs && !ctx.cancelled(); e++) {
    const l = nets.epoch(e);
    ctx.progress({
      phase,
      iteration: e + 1,
      total: nets.cfg.epochs,
      objective: l.total,
      losses: { L1: l.L1, L2: l.L2, L3: l.L3, numTensors: tf.memory().numTensors },
    });
    onEpoch?.(e, l);
  }
}

/**
 * KGSSL on a basins problem, then its uses: embeddings per basin; test-period reconstruction NSE
 * per basin; attribute imputation leave-basins-out (L3 > 0: the networks retrained per fold with the
 * fold's attributes masked, the head's prediction; L3 = 0: ridge regression from the embeddings);
 * distance matrices in embedding and attribute space and their correlation; the forward model
 * conditioned on attributes corrupted by noise beside the one conditioned on embeddings; GR4J
 * parameter transfer to each left-out basin from its nearest neighbours in embedding space, in
 * attribute space, and the regional mean, judged by the basin's test-period NSE.
 */
export function runKgssl(pr: BasinsProblem, o: KgsslOptions, seed: number, ctx: MethodContext): BasinsResult {
  const { tf } = ctx.compute;
  const cfg = configOf(o);
  const d = new KgsslData(pr, cfg.window);
  const codes = pr.set.basins.map((b) => b.code);
  const resume = ctx.resume as KgsslState | undefined;
  const state: KgsslState = { iteration: 0, nets: null as never, history: [], stages: {} };
  const nets = new KgsslNets(tf, d, cfg, seed);
  try {
    if (resume?.nets) {
      nets.load(resume.nets);
      Object.assign(state, { iteration: resume.iteration, history: resume.history, stages: resume.stages });
    }
    train(nets, state.iteration, ctx, 'calibrating', (e, l) => {
      state.iteration = e + 1;
      state.history.push({ epoch: e + 1, ...l, numTensors: tf.memory().numTensors });
      state.nets = nets.save();
      ctx.checkpoint?.(state);
    });
    const z = nets.embeddings();
    const info: Record<string, unknown> = {
      basins: codes,
      config: cfg,
      history: state.history,
      contrastiveForm:
        cfg.contrastive === 'infonce' ? 'InfoNCE (Oord et al. 2018)' : 'triplet margin (Schroff et al. 2015)',
    };
    if (ctx.cancelled())
      return { embeddings: { codes, z: z.map((r) => [...r]) }, info: { ...info, cancelled: true } };
    const stage = <V>(name: string, f: () => V): V => {
      if (name in state.stages) return state.stages[name] as V;
      const v = f();
      state.stages[name] = v;
      ctx.checkpoint?.(state);
      return v;
    };

    // 1. reconstruction on the test period, conditioned on each basin's embedding
    const recon = testNse(nets, d, z);
    info.reconstruction = {
      period: pr.test,
      nse: Object.fromEntries(codes.map((c, k) => [c, round(recon[k]!)])),
      median: round(median(recon)),
    };

    // 2. attribute imputation, leave basins out
    const names = pr.set.attributes.names;
    const known = (k: number, j: number) => pr.set.attributes.values[k]![j]!.value;
    if (d.A > 0) {
      const folds = basinFolds(d.n, Math.min(o.folds, d.n), seed);
      // per fold: networks trained with the fold's attributes masked (L3 on the other folds' only, when
      // L3 > 0) or the self-supervised networks (L3 = 0); the held-out basins' attributes imputed by a
      // ridge readout from z fitted on the other folds (λ by leave-one-out on them), and by the L3 head
      const imputed = stage('imputation-ridge', () => {
        const ridge: number[][] = codes.map(() => names.map(() => Number.NaN));
        const head: number[][] | null =
          cfg.weights.regression > 0 ? codes.map(() => names.map(() => Number.NaN)) : null;
        const lambdas: number[][] = [];
        for (let f = 0; f < Math.min(o.folds, d.n); f++) {
          const held = codes.map((_, k) => k).filter((k) => folds[k] === f);
          const rest = codes.map((_, k) => k).filter((k) => folds[k] !== f);
          const readout = (zf: Float64Array[]) =>
            lambdas.push(
              names.map((_, j) => {
                const r = ridgeLoo(
                  zf,
                  codes.map((_, k) => known(k, j)),
                  rest,
                  held,
                );
                r.values.forEach((v, i) => (ridge[held[i]!]![j] = v));
                return r.lambda;
              }),
            );
          if (head) {
            const fn = new KgsslNets(tf, masked(d, new Set(held)), cfg, seed + 1000 * (f + 1));
            try {
              train(fn, 0, ctx, `imputation fold ${f + 1}`);
              const zf = fn.embeddings();
              const a = fn.predictAttributes(zf)!;
              for (const k of held) head[k] = [...a[k]!];
              readout(zf);
            } finally {
              fn.dispose();
            }
          } else readout(z);
        }
        return { ridge, head, lambdas };
      });
      const correlations = (values: number[][]) =>
        Object.fromEntries(
          names.map((n, j) => {
            const obs = codes.map((_, k) => known(k, j) ?? Number.NaN);
            const r = cc(
              obs,
              values.map((row) => row[j]!),
            );
            return [
              n,
              { r: r.n >= 3 ? round(r.value) : null, n: r.n, ...(r.reason ? { reason: r.reason } : {}) },
            ];
          }),
        );
      info.imputation = {
        method:
          (cfg.weights.regression > 0
            ? 'networks retrained per fold with the fold basins’ attributes masked; '
            : 'the self-supervised networks; ') +
          'ridge readout from z fitted on the other folds, λ by leave-one-out on them (values, correlation)' +
          (cfg.weights.regression > 0 ? '; the L3 head beside it (head)' : ''),
        folds: Math.min(o.folds, d.n),
        correlation: correlations(imputed.ridge),
        values: Object.fromEntries(codes.map((c, k) => [c, imputed.ridge[k]!.map((v) => round(v, 6))])),
        ridgeLambda: imputed.lambdas,
        ...(imputed.head
          ? {
              head: {
                correlation: correlations(imputed.head),
                values: Object.fromEntries(
                  codes.map((c, k) => [c, imputed.head![k]!.map((v) => round(v, 6))]),
                ),
              },
            }
          : {}),
      };
    }

    // 3. distance matrices
    const de = embeddingDistances(z);
    const da = attributeDistances(d);
    info.distances = {
      embedding: de.map((r) => r.map((v) => round(v, 5))),
      attributes: da.map((r) => r.map((v) => round(v, 5))),
      correlation: round(matrixCorrelation(de, da)),
    };

    // 4. forward prediction with noisy attributes vs embeddings
    if (o.attributeBaseline && d.A > 0 && !ctx.cancelled()) {
      info.noisyAttributes = stage('noisyAttributes', () => {
        const base = new KgsslNets(tf, d, cfg, seed + 77, 'attributes');
        try {
          train(base, 0, ctx, 'attribute baseline');
          const rand = mulberry32(seed + 99);
          // Box–Muller normal deviates
          const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
          const rows = o.noise.map((sigma) => {
            const cond = codes.map((_, k) =>
              Float32Array.from({ length: d.A }, (_, j) =>
                d.mask[k * d.A + j] ? d.attrs[k * d.A + j]! + sigma * gauss() : 0,
              ),
            );
            const v = testNse(base, d, cond);
            return { sigma, medianNse: round(median(v)), nse: v.map((x) => round(x)) };
          });
          return { attributes: rows, embeddings: { medianNse: round(median(recon)) } };
        } finally {
          base.dispose();
        }
      });
    }

    // 5. GR4J parameter transfer to left-out basins
    if (o.transfer.enabled && !ctx.cancelled()) {
      info.transfer = stage('transfer', () => {
        const sce = sceUaLumpedOptions.parse({ restarts: o.transfer.restarts });
        const quiet: MethodContext = { ...ctx, progress: () => {}, checkpoint: undefined, resume: undefined };
        const params: Float64Array[] = [];
        const trainNse: number[] = [];
        pr.set.basins.forEach((b, k) => {
          const { i0, i1 } = d.train[k]!;
          const w = Math.min(o.transfer.warmup, Math.floor((i1 - i0) / 2));
          const p = gr4Problem(b.series, i0 + w, i1, w);
          const r = sceUaLumped(p, sce, seed + k, quiet);
          params.push(Float64Array.from(['X1', 'X2', 'X3', 'X4'], (n) => r.parameters[n]!));
          trainNse.push(gr4Nse(p, params[k]!));
          ctx.progress({ phase: 'transfer', iteration: k + 1, total: d.n, objective: 1 - trainNse[k]! });
        });
        const all = codes.map((_, k) => k);
        const rows = codes.map((c, b) => {
          const tp = gr4Problem(pr.set.basins[b]!.series, d.test[b]!.i0, d.test[b]!.i1, o.transfer.warmup);
          const ke = nearest(de, b, o.transfer.neighbours, all);
          const ka = nearest(da, b, o.transfer.neighbours, all);
          return {
            basin: c,
            own: round(gr4Nse(tp, params[b]!)),
            embedding: round(gr4Nse(tp, meanGr4(ke.map((j) => params[j]!)))),
            attributes: round(gr4Nse(tp, meanGr4(ka.map((j) => params[j]!)))),
            regionalMean: round(gr4Nse(tp, meanGr4(all.filter((j) => j !== b).map((j) => params[j]!)))),
            donorsEmbedding: ke.map((j) => codes[j]),
            donorsAttributes: ka.map((j) => codes[j]),
          };
        });
        const med = (key: 'own' | 'embedding' | 'attributes' | 'regionalMean') =>
          round(median(rows.map((r) => r[key] ?? Number.NaN)));
        return {
          period: pr.test,
          neighbours: o.transfer.neighbours,
          gr4: Object.fromEntries(
            codes.map((c, k) => [
              c,
              { parameters: [...params[k]!].map((v) => round(v, 4)), trainNse: round(trainNse[k]!) },
            ]),
          ),
          rows,
          median: {
            own: med('own'),
            embedding: med('embedding'),
            attributes: med('attributes'),
            regionalMean: med('regionalMean'),
          },
        };
      });
    }
    return { embeddings: { codes, z: z.map((r) => [...r]) }, info };
  } finally {
    nets.dispose();
  }
}
