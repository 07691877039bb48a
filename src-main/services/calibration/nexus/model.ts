import type * as TfModule from '@tensorflow/tfjs';
import { z } from 'zod';
import { FieldcalError } from '../../../../src-shared/ipc';
import { lstmWithHead } from '../../compute/fusedLayers';
import {
  BUCKET_K,
  bucketAdjoint,
  runBucket,
  type BucketOptions,
  type BucketRun,
  type OutletMode,
} from '../../physics/bucket';

type Tf = typeof TfModule;
type Tensor = TfModule.Tensor;

/**
 * The nexus of Liu & Hsu 2026 (EGU26-21276): an LSTM over the forcing sequence whose per-step
 * outputs drive a model. `bucket`: eight sigmoid outputs, the flux fractions of the generic bucket
 * model (physics/bucket), integrated in one pass after the LSTM has run over the whole sequence
 * (the fused kernel), with the bucket's exact adjoint as the gradient. `direct`: the plain LSTM of
 * the same size (one linear output, discharge standardised), the usual data-driven benchmark
 * (Kratzert et al. 2018).
 */
export type NexusHead = 'bucket' | 'direct';
export type NexusLoss = 'nse' | 'mse';

/** Standardisation of the inputs (training steps' mean and standard deviation) and of Q. */
export interface NexusStats {
  inputs: string[];
  mean: number[];
  std: number[];
  qMean: number;
  qStd: number;
}

/** A trained nexus as data: what `fieldcal simulate` needs to run it again on another period. */
export interface NexusModel {
  kind: 'bucket-nexus';
  head: NexusHead;
  hidden: number;
  outlet: OutletMode;
  qMax: number;
  stats: NexusStats;
  /** The network's weights in `model.getWeights()` order, with their shapes. */
  weights: Array<{ shape: number[]; values: number[] }>;
}

/** A saved model as read back (`fieldcal simulate`): strict, so a hand-edited file is refused naming the field. */
export const nexusModelSchema = z.strictObject({
  kind: z.literal('bucket-nexus'),
  head: z.enum(['bucket', 'direct']),
  hidden: z.number().int().min(1).max(4096),
  outlet: z.enum(['fractions', 'amounts']),
  qMax: z.number().positive(),
  stats: z.strictObject({
    inputs: z.array(z.enum(['P', 'PET', 'T'])).min(2),
    mean: z.array(z.number()),
    std: z.array(z.number().positive()),
    qMean: z.number(),
    qStd: z.number().positive(),
  }),
  weights: z.array(z.strictObject({ shape: z.array(z.number().int().min(1)), values: z.array(z.number()) })),
});

/** Forcing of one basin over consecutive steps (mm/step, °C). */
export interface NexusForcing {
  P: Float64Array;
  E: Float64Array;
  T?: Float64Array;
}

export function inputNames(f: NexusForcing): string[] {
  return f.T ? ['P', 'PET', 'T'] : ['P', 'PET'];
}

/** Mean and standard deviation of each input over steps [t0, t1) (std floor 1e-6), and of the observed Q. */
export function nexusStats(f: NexusForcing, obs: ArrayLike<number>, t0: number, t1: number): NexusStats {
  const names = inputNames(f);
  const cols = [f.P, f.E, ...(f.T ? [f.T] : [])];
  const ms = (a: ArrayLike<number>, i0: number, i1: number) => {
    let s = 0;
    let s2 = 0;
    let n = 0;
    for (let i = i0; i < i1; i++)
      if (Number.isFinite(a[i]!)) {
        s += a[i]!;
        s2 += a[i]! ** 2;
        n++;
      }
    const m = n ? s / n : 0;
    return [m, Math.max(1e-6, Math.sqrt(Math.max(0, n ? s2 / n - m * m : 1)))] as const;
  };
  const st = cols.map((c) => ms(c, t0, t1));
  const q = ms(obs, 0, obs.length);
  return { inputs: names, mean: st.map((v) => v[0]), std: st.map((v) => v[1]), qMean: q[0], qStd: q[1] };
}

/** Standardised inputs [steps][inputs] of steps [t0, t1) as float32 (the network's dtype). */
export function standardInputs(f: NexusForcing, s: NexusStats, t0 = 0, t1 = f.P.length): Float32Array {
  const cols = [f.P, f.E, ...(f.T ? [f.T] : [])];
  if (cols.length !== s.inputs.length)
    throw new FieldcalError(
      'VALIDATION',
      `the model was trained on ${s.inputs.join(', ')}; the series has ${inputNames(f).join(', ')}`,
      { field: 'columns' },
    );
  const n = cols.length;
  const x = new Float32Array((t1 - t0) * n);
  for (let t = t0; t < t1; t++)
    for (let k = 0; k < n; k++) x[(t - t0) * n + k] = (cols[k]![t]! - s.mean[k]!) / s.std[k]!;
  return x;
}

/** The network: one fused LSTM layer over the sequence and a per-step dense head, seeded. */
export function buildNet(tf: Tf, nIn: number, hidden: number, head: NexusHead, seed: number) {
  return lstmWithHead(
    tf,
    {
      steps: null,
      features: nIn,
      hidden,
      out: head === 'bucket' ? BUCKET_K : 1,
      returnSequences: true,
      activation: head === 'bucket' ? 'sigmoid' : 'linear',
    },
    seed,
  );
}

/** What the loss of one batch of windows needs besides the network's output. */
export interface WindowBatch {
  batch: number;
  steps: number;
  /** Precipitation [batch][steps] (mm/step). */
  P: Float64Array;
  /** Observed Q [batch][steps] (mm/step); NaN where missing or not scored (warm-up). */
  obs: Float64Array;
}

export interface LossSettings {
  loss: NexusLoss;
  lambda: number;
  /** Σ(o - ō)² over the training steps divided by their count: the NSE denominator per step. */
  obsVar: number;
  bucket: BucketOptions;
}

/** Terms of the loss of one batch, and the run they came from. */
export interface LossTerms {
  data: number;
  mass: number;
  total: number;
  run: BucketRun;
}

/**
 * The nexus loss of one batch from the fractions (Liu & Hsu 2026's residual-style regulation):
 * data = Σ(Q - o)² / (n·var(o)) ('nse': 1 - NSE with the training variance, as Kratzert et al.
 * 2019's NSE* per basin) or Σ(Q - o)² / n ('mse') over scored steps; mass = Σ r² / (N·var(o)) or
 * Σ r² / N over all N steps, r = P - ET - Q - ΔS; total = data + λ·mass. Returns dL/dfractions by
 * the bucket's adjoint.
 */
export function bucketLoss(
  fr: ArrayLike<number>,
  w: WindowBatch,
  s: LossSettings,
): LossTerms & { grad: Float64Array } {
  const run = runBucket(w.P, fr, w.batch, w.steps, s.bucket);
  const N = w.batch * w.steps;
  let n = 0;
  for (let i = 0; i < N; i++) if (Number.isFinite(w.obs[i]!)) n++;
  const dDen = Math.max(1, n) * (s.loss === 'nse' ? s.obsVar : 1);
  const mDen = N * (s.loss === 'nse' ? s.obsVar : 1);
  const gQ = new Float64Array(N);
  const gR = new Float64Array(N);
  let data = 0;
  let mass = 0;
  for (let i = 0; i < N; i++) {
    const o = w.obs[i]!;
    if (Number.isFinite(o)) {
      const e = run.Q[i]! - o;
      data += (e * e) / dDen;
      gQ[i] = (2 * e) / dDen;
    }
    const r = run.residual[i]!;
    mass += (r * r) / mDen;
    gR[i] = (2 * s.lambda * r) / mDen;
  }
  const grad = bucketAdjoint(w.P, fr, w.batch, w.steps, { Q: gQ, residual: gR }, s.bucket, run);
  return { data, mass, total: data + s.lambda * mass, run, grad };
}

/**
 * The bucket loss as a tfjs op (tf.customGrad, the pattern of physics/vic3l/op.ts): fractions
 * [batch, steps, 8] in, the scalar loss out, its gradient the bucket's exact adjoint. `terms`
 * receives the loss terms of the forward pass.
 */
export function bucketLossOp(
  tf: Tf,
  fractions: Tensor,
  w: WindowBatch,
  s: LossSettings,
  terms?: (t: LossTerms) => void,
): Tensor {
  const op = tf.customGrad((...args: Array<Tensor | TfModule.GradSaveFunc>) => {
    const x = args[0] as Tensor;
    const r = bucketLoss(x.dataSync(), w, s);
    terms?.(r);
    const g = Float32Array.from(r.grad);
    return {
      value: tf.scalar(r.total),
      gradFunc: (dy: Tensor) => tf.mul(dy, tf.tensor(g, x.shape)),
    };
  });
  return op(fractions);
}

/** The plain LSTM's loss in tfjs: the same data term on Q = y·σq + μq (no mass term: it has no stores). */
export function directLoss(tf: Tf, y: Tensor, w: WindowBatch, s: LossSettings, st: NexusStats): Tensor {
  const N = w.batch * w.steps;
  const o = new Float32Array(N);
  const m = new Float32Array(N);
  let n = 0;
  for (let i = 0; i < N; i++)
    if (Number.isFinite(w.obs[i]!)) {
      o[i] = w.obs[i]!;
      m[i] = 1;
      n++;
    }
  const den = Math.max(1, n) * (s.loss === 'nse' ? s.obsVar : 1);
  return tf.tidy(() => {
    const q = tf.add(tf.mul(tf.reshape(y, [N]), st.qStd), st.qMean);
    const e = tf.mul(tf.sub(q, tf.tensor1d(o)), tf.tensor1d(m));
    return tf.div(tf.sum(tf.square(e)), den);
  });
}

/** Runs a trained network over a whole forcing sequence: the bucket run (bucket head) and Q. */
export function simulateNet(
  tf: Tf,
  net: TfModule.LayersModel,
  f: NexusForcing,
  st: NexusStats,
  head: NexusHead,
  bucket: BucketOptions,
): { Q: Float64Array; fractions?: Float32Array; run?: BucketRun } {
  const T = f.P.length;
  const x = standardInputs(f, st);
  const y = tf.tidy(() => net.predict(tf.tensor3d(x, [1, T, st.inputs.length])) as Tensor);
  const v = y.dataSync() as Float32Array;
  y.dispose();
  if (head === 'direct') return { Q: Float64Array.from(v, (z) => Math.max(0, z * st.qStd + st.qMean)) };
  const run = runBucket(f.P, v, 1, T, bucket);
  return { Q: run.Q, fractions: v, run };
}

/** The model's weights as data (float32 values, so a reload gives identical outputs). */
export function exportWeights(net: TfModule.LayersModel): NexusModel['weights'] {
  return net.getWeights().map((w) => ({ shape: w.shape.slice(), values: Array.from(w.dataSync()) }));
}

/** Loads weights exported by {@link exportWeights}, refusing a mismatched shape. */
export function importWeights(tf: Tf, net: TfModule.LayersModel, ws: NexusModel['weights']): void {
  const cur = net.getWeights();
  if (cur.length !== ws.length)
    throw new FieldcalError(
      'VALIDATION',
      `model has ${ws.length} weight tensors, the network ${cur.length}`,
      {
        field: 'model.weights',
      },
    );
  cur.forEach((w, i) => {
    if (w.shape.join('x') !== ws[i]!.shape.join('x') || ws[i]!.values.length !== w.size)
      throw new FieldcalError(
        'VALIDATION',
        `model weight ${i} has shape ${ws[i]!.shape.join('x')}, the network ${w.shape.join('x')}`,
        { field: 'model.weights' },
      );
  });
  const ts = ws.map((w) => tf.tensor(Float32Array.from(w.values), w.shape));
  net.setWeights(ts);
  ts.forEach((t) => t.dispose());
}

/** Rebuilds a trained model (a `bucket-nexus` result's `model`) as a network ready to simulate. */
export function loadNexus(tf: Tf, m: NexusModel): TfModule.Sequential {
  const net = buildNet(tf, m.stats.inputs.length, m.hidden, m.head, 1);
  importWeights(tf, net, m.weights);
  return net;
}

/** The bucket options a model runs with. */
export const bucketOptionsOf = (m: Pick<NexusModel, 'outlet' | 'qMax'>): BucketOptions => ({
  mode: m.outlet,
  qMax: m.qMax,
});
