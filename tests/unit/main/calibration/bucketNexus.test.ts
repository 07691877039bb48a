import { beforeAll, describe, expect, it } from 'vitest';
import type * as TfModule from '@tensorflow/tfjs';
import { bucketNexusOptions } from '../../../../src-main/services/calibration/methods/bucket-nexus/options';
import { bucketStepTf, type TfStores } from '../../../../src-main/services/calibration/nexus/coupled';
import {
  bucketLoss,
  bucketLossOp,
  loadNexus,
  nexusModelSchema,
  simulateNet,
  type WindowBatch,
} from '../../../../src-main/services/calibration/nexus/model';
import { extractResponses } from '../../../../src-main/services/calibration/nexus/responses';
import { trainNexus, type NexusCheckpoint } from '../../../../src-main/services/calibration/nexus/train';
import { mulberry32 } from '../../../../src-main/services/common/random';
import { computeHandle } from '../../../../src-main/services/compute';
import {
  BUCKET_K,
  bucketAdjoint,
  runBucket,
  waterBalance,
} from '../../../../src-main/services/physics/bucket';

let tf: typeof TfModule;
beforeAll(async () => {
  tf = (await computeHandle()).tf;
});

/** A synthetic basin: random rain and PET, discharge from the bucket with smooth "true" fractions. */
function synthetic(T: number, seed: number) {
  const rand = mulberry32(seed);
  const P = Float64Array.from({ length: T }, () => (rand() < 0.55 ? 0 : -6 * Math.log(1 - rand())));
  const E = Float64Array.from({ length: T }, (_, t) => 2 + 1.5 * Math.sin((2 * Math.PI * t) / 365));
  const fr = new Float64Array(T * BUCKET_K);
  const base = [0.2, 0.6, 0.3, 0.7, 0.03, 0.05, 0.02, 0.4];
  for (let t = 0; t < T; t++)
    for (let k = 0; k < BUCKET_K; k++) fr[t * BUCKET_K + k] = base[k]! * (k === 4 ? E[t]! / 2 : 1);
  const q = runBucket(P, fr, 1, T, {}).Q;
  const warmup = 200;
  return { P, E, obs: q.slice(warmup), warmup };
}

const tiny = bucketNexusOptions.parse({
  hidden: 6,
  epochs: 4,
  warmSteps: 100,
  windowSteps: 150,
  strideSteps: 100,
  batch: 4,
  validSteps: 150,
  learningRate: 1e-2,
  responses: false,
});

describe('calibration/nexus', () => {
  it("the hand adjoint equals tfjs autodiff through the bucket's tf-op step", () => {
    const B = 2;
    const T = 40;
    const rand = mulberry32(9);
    const P = Float64Array.from({ length: B * T }, () => (rand() < 0.5 ? 0 : 10 * rand()));
    const f = Float32Array.from({ length: B * T * BUCKET_K }, () => 0.05 + 0.9 * rand());
    const w = Float64Array.from({ length: B * T }, () => rand() - 0.5);
    const g = tf.tidy(() => {
      const grad = tf.grad((fr: TfModule.Tensor) => {
        let st: TfStores = [tf.zeros([B, 1]), tf.zeros([B, 1]), tf.zeros([B, 1]), tf.zeros([B, 1])];
        const Pt = tf.tensor2d(Float32Array.from(P), [B, T]);
        const frs = tf.unstack(fr, 1);
        const ws = tf.tensor2d(Float32Array.from(w), [B, T]);
        let L: TfModule.Tensor = tf.scalar(0);
        for (let t = 0; t < T; t++) {
          const r = bucketStepTf(tf, st, tf.slice(Pt, [0, t], [B, 1]), frs[t]!);
          L = tf.add(L, tf.sum(tf.mul(r.Q, tf.slice(ws, [0, t], [B, 1]))));
          st = r.next;
        }
        return L;
      });
      return grad(tf.tensor3d(f, [B, T, BUCKET_K])).dataSync();
    });
    const h = bucketAdjoint(P, f, B, T, { Q: w });
    let worst = 0;
    const scale = h.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    for (let i = 0; i < h.length; i++) worst = Math.max(worst, Math.abs(h[i]! - g[i]!) / scale);
    expect(scale).toBeGreaterThan(0.1);
    expect(worst).toBeLessThan(1e-4);
  });

  it('the loss op returns the bucket loss and its adjoint; λ weights the residual (amounts mode) as finite differences say', () => {
    const B = 2;
    const T = 60;
    const rand = mulberry32(4);
    const P = Float64Array.from({ length: B * T }, () => (rand() < 0.5 ? 0 : 12 * rand()));
    const obs = Float64Array.from({ length: B * T }, (_, i) => (i % T < 10 ? Number.NaN : 2 * rand()));
    const w: WindowBatch = { batch: B, steps: T, P, obs };
    const s = { loss: 'nse' as const, lambda: 3, obsVar: 0.4, bucket: { mode: 'amounts' as const, qMax: 5 } };
    const f = Float64Array.from({ length: B * T * BUCKET_K }, () => 0.05 + 0.9 * rand());
    const r = bucketLoss(f, w, s);
    expect(r.mass).toBeGreaterThan(0); // the outlet over-draws: a non-zero residual
    expect(Math.abs(r.total - (r.data + 3 * r.mass))).toBeLessThan(1e-12);
    for (const j of [7, 7 + 8 * 15, 4 + 8 * 30, 1 + 8 * 70]) {
      const fp = f.slice();
      const fm = f.slice();
      fp[j]! += 1e-6;
      fm[j]! -= 1e-6;
      const fd = (bucketLoss(fp, w, s).total - bucketLoss(fm, w, s).total) / 2e-6;
      expect(Math.abs(fd - r.grad[j]!)).toBeLessThan(1e-6 + 1e-5 * Math.abs(fd));
    }
    // λ = 0: the residual's gradient vanishes, the data gradient stays
    const r0 = bucketLoss(f, w, { ...s, lambda: 0 });
    expect(r0.total).toBeCloseTo(r.data, 12);
    // the tfjs op: same value, gradient = the adjoint (float32)
    const [val, grad] = tf.tidy(() => {
      const x = tf.tensor3d(Float32Array.from(f), [B, T, BUCKET_K]);
      const { value, grad } = tf.valueAndGrad((y: TfModule.Tensor) => bucketLossOp(tf, y, w, s))(x);
      return [value.dataSync()[0]!, Array.from(grad.dataSync())];
    });
    const r32 = bucketLoss(Float32Array.from(f), w, s);
    expect(val).toBeCloseTo(r32.total, 4);
    for (const j of [7, 100, 500]) expect(grad[j]!).toBeCloseTo(r32.grad[j]!, 4);
  });

  it('trains seeded and reproducibly, resumes bit-for-bit from a checkpoint, leaks no tensor, closes the balance', async () => {
    const s = synthetic(1200, 3);
    const n0 = tf.memory().numTensors;
    const cps: NexusCheckpoint[] = [];
    const a = await trainNexus(tf, s, tiny, 5, {
      checkpoint: (c) => cps.push(JSON.parse(JSON.stringify(c))),
    });
    a.net.dispose();
    expect(tf.memory().numTensors).toBe(n0);
    expect(cps).toHaveLength(4);
    expect(a.history.at(-1)!.loss).toBeLessThan(a.history[0]!.loss);
    const b = await trainNexus(tf, s, tiny, 5, { resume: cps[1] });
    b.net.dispose();
    expect(b.history.map((h) => h.loss)).toEqual(a.history.map((h) => h.loss));
    expect(b.model.weights).toEqual(a.model.weights);
    const c = await trainNexus(tf, s, { ...tiny, epochs: 2 }, 6);
    c.net.dispose();
    expect(c.history[0]!.loss).not.toBe(a.history[0]!.loss);
    // the saved model reloads (schema-checked) and simulates; the balance closes to round-off
    const m = nexusModelSchema.parse(JSON.parse(JSON.stringify(a.model)));
    expect(nexusModelSchema.safeParse({ ...m, stats: { ...m.stats, std: [0, 1] } }).success).toBe(false);
    const net = loadNexus(tf, m);
    const sim = simulateNet(tf, net, s, m.stats, 'bucket', { mode: 'fractions' });
    const wb = waterBalance(s.P, sim.run!, {});
    expect(wb.closure).toBeLessThan(1e-12);
    const r = extractResponses(tf, net, s, m.stats, { mode: 'fractions' }, 200, { horizon: 30 });
    net.dispose();
    expect(tf.memory().numTensors).toBe(n0);
    expect(r.rainfall.P).toHaveLength(11);
    expect(r.impulse.dry.soil).toBeLessThanOrEqual(r.impulse.wet.soil);
    // with the fractions frozen, the bucket's pulse response conserves the pulse: what does not
    // leave as Q stays stored or evaporates, so the response is non-negative and sums to under 1
    const sum = r.impulse.wet.fixedFractions.reduce((x, y) => x + y, 0);
    expect(Math.min(...r.impulse.wet.fixedFractions)).toBeGreaterThanOrEqual(-1e-9);
    expect(sum).toBeLessThanOrEqual(1 + 1e-9);
    expect(sum).toBeGreaterThan(0);
  });
});
