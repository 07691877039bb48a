import type * as TfModule from '@tensorflow/tfjs';
import { FieldcalError } from '../../../../src-shared/ipc';
import { nse } from '../../metrics/series';
import { mulberry32 } from '../random';
import type { BucketNexusOptions } from '../methods/bucket-nexus/options';
import {
  bucketLossOp,
  buildNet,
  directLoss,
  exportWeights,
  importWeights,
  nexusStats,
  simulateNet,
  standardInputs,
  type LossSettings,
  type LossTerms,
  type NexusForcing,
  type NexusModel,
  type WindowBatch,
} from './model';

type Tf = typeof TfModule;

/** One basin's series as the nexus trains on it: steps 0..T-1, observations from `warmup` on. */
export interface NexusSeries extends NexusForcing {
  /** Observed Q (mm/step) over steps warmup..T-1; NaN = missing. */
  obs: Float64Array;
  warmup: number;
}

export interface NexusHooks {
  progress?(p: {
    epoch: number;
    epochs: number;
    loss: number;
    data: number;
    mass: number;
    valid: number;
  }): void;
  cancelled?(): boolean;
  checkpoint?(state: NexusCheckpoint): void;
  resume?: unknown;
}

/** What is saved after each epoch: enough to continue bit-for-bit. */
export interface NexusCheckpoint {
  epoch: number;
  weights: NexusModel['weights'];
  adam: Array<{ name: string; shape: number[]; values: number[] }>;
  best: { epoch: number; score: number; weights: NexusModel['weights'] };
  history: EpochRecord[];
}

export interface EpochRecord {
  epoch: number;
  loss: number;
  data: number;
  mass: number;
  validNse: number;
  seconds: number;
}

/** Adam's state as data (its iteration count comes back as a fresh tensor, disposed here). */
async function adamState(opt: TfModule.Optimizer): Promise<NexusCheckpoint['adam']> {
  const ws = await opt.getWeights();
  const out = ws.map((nt) => ({
    name: nt.name,
    shape: nt.tensor.shape.slice(),
    values: Array.from(nt.tensor.dataSync()),
  }));
  for (const nt of ws) if (nt.name === 'iter') nt.tensor.dispose();
  return out;
}

/** The windows of the training steps [0, trainEnd): starts, length and which steps are scored. */
export function trainingWindows(s: NexusSeries, trainEnd: number, o: BucketNexusOptions) {
  const L = o.warmSteps + o.windowSteps;
  const starts: number[] = [];
  for (let t = 0; t + L <= trainEnd; t += o.strideSteps) starts.push(t);
  if (!starts.length) return { L: trainEnd, starts: [0], warm: 0 };
  return { L, starts, warm: o.warmSteps };
}

/** A batch of windows: inputs [b][L][nIn] and the WindowBatch the loss reads (obs NaN where not scored). */
function windowBatch(
  s: NexusSeries,
  x: Float32Array,
  nIn: number,
  starts: number[],
  L: number,
  warm: number,
  trainEnd: number,
): { xb: Float32Array; w: WindowBatch } {
  const b = starts.length;
  const xb = new Float32Array(b * L * nIn);
  const P = new Float64Array(b * L);
  const obs = new Float64Array(b * L).fill(Number.NaN);
  starts.forEach((t0, i) => {
    xb.set(x.subarray(t0 * nIn, (t0 + L) * nIn), i * L * nIn);
    for (let j = 0; j < L; j++) {
      const t = t0 + j;
      P[i * L + j] = s.P[t]!;
      if (j >= warm && t >= s.warmup && t < trainEnd) obs[i * L + j] = s.obs[t - s.warmup]!;
    }
  });
  return { xb, w: { batch: b, steps: L, P, obs } };
}

/** Variance of the observed Q over the training steps (the NSE denominator per step). */
function obsVariance(s: NexusSeries, trainEnd: number): number {
  let m = 0;
  let n = 0;
  for (let t = s.warmup; t < trainEnd; t++)
    if (Number.isFinite(s.obs[t - s.warmup]!)) {
      m += s.obs[t - s.warmup]!;
      n++;
    }
  if (n < 2)
    throw new FieldcalError('INCONSISTENT_DATA', `the training period has ${n} observed discharge values`, {
      field: 'period',
    });
  m /= n;
  let v = 0;
  for (let t = s.warmup; t < trainEnd; t++) {
    const o = s.obs[t - s.warmup]!;
    if (Number.isFinite(o)) v += (o - m) ** 2;
  }
  return v / n;
}

/**
 * Trains the nexus (or the plain LSTM, head `direct`) on one basin: seeded windows of the training
 * steps in shuffled batches, Adam, the validation NSE on the held-out last steps after each epoch
 * (the best epoch kept), a checkpoint per epoch and resume from one. Tensors are disposed per batch.
 */
export async function trainNexus(
  tf: Tf,
  s: NexusSeries,
  o: BucketNexusOptions,
  seed: number,
  hooks: NexusHooks = {},
): Promise<{
  model: NexusModel;
  net: TfModule.Sequential;
  history: EpochRecord[];
  bestEpoch: number;
  trainEnd: number;
  settings: LossSettings;
}> {
  const T = s.P.length;
  const nObs = s.obs.length;
  if (s.warmup + nObs !== T)
    throw new FieldcalError(
      'VALIDATION',
      `obs cover ${nObs} steps after a warm-up of ${s.warmup}, the forcing ${T}`,
      {
        field: 'obs',
      },
    );
  const validSteps = o.validSteps ?? Math.floor(0.2 * nObs);
  if (validSteps >= nObs - 30)
    throw new FieldcalError(
      'VALIDATION',
      `validSteps ${validSteps} leaves under 30 training steps of ${nObs}`,
      {
        field: 'options.validSteps',
      },
    );
  const trainEnd = T - validSteps;
  const stats = nexusStats(s, s.obs.subarray(0, trainEnd - s.warmup), 0, trainEnd);
  const obsVar = obsVariance(s, trainEnd);
  let qMax = 0;
  for (let t = s.warmup; t < trainEnd; t++) if (s.obs[t - s.warmup]! > qMax) qMax = s.obs[t - s.warmup]!;
  // amounts mode: the outlet can reach twice the largest training discharge (a headroom choice)
  qMax = Math.max(1e-3, 2 * qMax);
  const settings: LossSettings = {
    loss: o.loss,
    lambda: o.lambda,
    obsVar,
    bucket: { mode: o.outlet, qMax },
  };
  const nIn = stats.inputs.length;
  const x = standardInputs(s, stats);
  const net = buildNet(tf, nIn, o.hidden, o.head, seed);
  const opt = tf.train.adam(o.learningRate);
  const vars = net.trainableWeights.map((w) => (w as unknown as { val: TfModule.Variable }).val);
  if (o.head === 'bucket' && o.outlet === 'amounts') {
    // start the outlet amount at the mean training discharge (logit of qMean / qMax), not qMax / 2
    const ws = net.getWeights();
    const bias = ws.at(-1)!.arraySync() as number[];
    const p = Math.min(0.99, Math.max(1e-3, stats.qMean / qMax));
    bias[7] = Math.log(p / (1 - p));
    const nb = tf.tensor1d(bias);
    net.layers.at(-1)!.setWeights([ws.at(-2)!, nb]);
    nb.dispose();
  }
  const { L, starts, warm } = trainingWindows(s, trainEnd, o);
  const history: EpochRecord[] = [];
  let best = { epoch: -1, score: -Infinity, weights: exportWeights(net) };
  let first = 0;
  const r = hooks.resume as NexusCheckpoint | undefined;
  if (r && Array.isArray(r.weights) && Array.isArray(r.history)) {
    importWeights(tf, net, r.weights);
    // Adam's moments and step count, so the continued run equals the uninterrupted one
    // Adam's state: the iteration count, then first and second moments per trainable variable
    if (r.adam.length !== 1 + 2 * vars.length)
      throw new FieldcalError('INCONSISTENT_DATA', 'checkpoint optimizer state does not match the network', {
        field: 'resume',
      });
    const ts = r.adam.map((a) => ({ name: a.name, tensor: tf.tensor(Float32Array.from(a.values), a.shape) }));
    await opt.setWeights(ts);
    ts.forEach((t) => t.tensor.dispose());
    best = r.best;
    history.push(...r.history);
    first = r.epoch + 1;
  }
  const validObs = s.obs.subarray(trainEnd - s.warmup);
  for (let epoch = first; epoch < o.epochs; epoch++) {
    if (hooks.cancelled?.()) break;
    const t0 = performance.now();
    const rand = mulberry32((seed * 1_000_003 + epoch * 7919) >>> 0);
    const order = starts.slice();
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    let sum = { loss: 0, data: 0, mass: 0 };
    let nb = 0;
    for (let b0 = 0; b0 < order.length; b0 += o.batch) {
      const pick = order.slice(b0, b0 + o.batch);
      const { xb, w } = windowBatch(s, x, nIn, pick, L, warm, trainEnd);
      let terms: LossTerms | undefined;
      const xt = tf.tensor3d(xb, [pick.length, L, nIn]);
      const cost = opt.minimize(() => {
        const y = net.apply(xt, { training: true }) as TfModule.Tensor;
        return (
          o.head === 'bucket'
            ? bucketLossOp(tf, y, w, settings, (t) => (terms = t))
            : directLoss(tf, y, w, settings, stats)
        ) as TfModule.Scalar;
      }, true)!;
      const c = cost.dataSync()[0]!;
      cost.dispose();
      xt.dispose();
      sum = {
        loss: sum.loss + c,
        data: sum.data + (terms?.data ?? c),
        mass: sum.mass + (terms?.mass ?? 0),
      };
      nb++;
    }
    let validNse = Number.NaN;
    let score: number;
    if (validSteps > 0) {
      const q = simulateNet(tf, net, s, stats, o.head, settings.bucket).Q.subarray(trainEnd);
      validNse = nse(validObs, q).value;
      score = Number.isFinite(validNse) ? validNse : -Infinity;
    } else score = -sum.loss / nb;
    if (score > best.score || best.epoch < 0) best = { epoch, score, weights: exportWeights(net) };
    const rec: EpochRecord = {
      epoch,
      loss: sum.loss / nb,
      data: sum.data / nb,
      mass: sum.mass / nb,
      validNse,
      seconds: (performance.now() - t0) / 1000,
    };
    history.push(rec);
    hooks.progress?.({
      epoch,
      epochs: o.epochs,
      loss: rec.loss,
      data: rec.data,
      mass: rec.mass,
      valid: validNse,
    });
    if (hooks.checkpoint) {
      const adam = await adamState(opt);
      hooks.checkpoint({ epoch, weights: exportWeights(net), adam, best, history: history.slice() });
    }
  }
  opt.dispose();
  importWeights(tf, net, best.weights);
  return {
    model: {
      kind: 'bucket-nexus',
      head: o.head,
      hidden: o.hidden,
      outlet: o.outlet,
      qMax,
      stats,
      weights: best.weights,
    },
    net,
    history,
    bestEpoch: best.epoch,
    trainEnd,
    settings,
  };
}
