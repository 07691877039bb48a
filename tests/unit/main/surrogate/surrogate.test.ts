import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as TfModule from '@tensorflow/tfjs';
import { computeHandle } from '../../../../src-main/services/compute';
import { ensembleAccuracy } from '../../../../src-main/services/surrogate/accuracy';
import { forcingNames } from '../../../../src-main/services/surrogate/data';
import {
  antecedentForcing,
  loadArnet,
  trainArnet,
  type ArnetSurrogate,
} from '../../../../src-main/services/surrogate/arnet';
import { loadLstm, trainLstm, type LstmSurrogate } from '../../../../src-main/services/surrogate/lstm';
import {
  readWeights,
  updateSurrogate,
  type TrainResult,
} from '../../../../src-main/services/surrogate/train';
import { smallCase } from './memEnsemble';

// small sizes: a 6 x 7 basin-layout grid (38 active cells), 150 days, 10 / 3 / 3 members
// measured on this case (cpu-native, 2 threads): LSTM held-out median NSE 0.78, ARnet rollout 0.70
// with its antecedent P and PET channels (0.54 without them, trained on its own rollouts; 0.34 with
// teacher forcing alone, before issue 17's drift fix)
const ARNET_NSE = 0.6;
const c = smallCase({ steps: 150 });
const lstmOpts = {
  config: { hidden: 16 },
  settings: {
    epochs: 8,
    batchesPerEpoch: 12,
    batchSize: 128,
    validBatches: 3,
    patience: 4,
    learningRate: 5e-3,
    seed: 3,
  },
};
const arnetOpts = {
  // trained on its own rollouts (the default), of 4 members over 15 days per epoch here
  config: { features: 12, growth: 8, layers: 2, rolloutMembers: 4, rolloutDays: 15 },
  settings: {
    epochs: 8,
    batchesPerEpoch: 12,
    batchSize: 8,
    validBatches: 3,
    patience: 4,
    learningRate: 3e-3,
    seed: 3,
  },
};
let dir: string;
let lstm: { surrogate: LstmSurrogate; result: TrainResult };
let arnet: { surrogate: ArnetSurrogate; result: TrainResult };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fieldcal-surrogate-'));
  lstm = await trainLstm(c.problem, c.ensemble, lstmOpts);
  arnet = await trainArnet(c.problem, c.ensemble, arnetOpts);
}, 900_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('surrogates learn a small vic3l ensemble', () => {
  it('LSTM: validation loss well below the training-mean predictor, held-out NSE', () => {
    const r = lstm.result;
    expect(r.baselineValid).toBeGreaterThan(0.5);
    expect(r.bestValid).toBeLessThan(0.4 * r.baselineValid);
    const a = ensembleAccuracy(lstm.surrogate, c.ensemble);
    console.info('LSTM held-out', {
      valid: r.bestValid,
      baseline: r.baselineValid,
      nse: a.nseMedian,
      worst: a.nseWorstDecile,
    });
    expect(a.members).toEqual(c.ensemble.members('test'));
    expect(a.nse.length).toBe(c.problem.cells);
    expect(a.nseMedian).toBeGreaterThan(0.6);
    expect(a.nseWorstDecile).toBeLessThanOrEqual(a.nseMedian);
  }, 300_000);

  it('ARnet: validation loss well below the training-mean predictor, held-out NSE of the rollout', () => {
    const r = arnet.result;
    expect(r.bestValid).toBeLessThan(0.4 * r.baselineValid);
    const a = ensembleAccuracy(arnet.surrogate, c.ensemble);
    console.info('ARnet held-out', {
      valid: r.bestValid,
      baseline: r.baselineValid,
      nse: a.nseMedian,
      worst: a.nseWorstDecile,
    });
    expect(a.nseMedian).toBeGreaterThan(ARNET_NSE);
  }, 300_000);

  it('ARnet antecedent channels: exponentially weighted means of P and PET per cell, standardised', () => {
    const taus = [3, 20];
    const chans = antecedentForcing(c.problem, taus);
    expect(chans.length).toBe(4); // P and PET, each time constant
    const { steps, cells } = c.problem;
    ['P', 'PET'].forEach((name, i) => {
      const x = c.problem.forcing[name as 'P' | 'PET'];
      taus.forEach((tau, j) => {
        // the recursion written out per cell, then standardised over all steps and cells
        const a = new Float64Array(steps * cells);
        for (let k = 0; k < cells; k++) {
          let v = x[k]!;
          for (let t = 0; t < steps; t++) {
            if (t > 0) v += (x[t * cells + k]! - v) / tau;
            a[t * cells + k] = v;
          }
        }
        const mean = a.reduce((s, v) => s + v, 0) / a.length;
        const sd = Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
        const got = chans[i * taus.length + j]!;
        let worst = 0;
        for (let q = 0; q < a.length; q++) worst = Math.max(worst, Math.abs(got[q]! - (a[q]! - mean) / sd));
        expect(worst, `${name} tau ${tau}`).toBeLessThan(1e-5);
      });
    });
    // the network's input channels: parameters, forcing, the antecedent channels, the lag fields
    const s = arnet.surrogate;
    expect(s.channels).toBe(
      c.problem.parameters.length +
        forcingNames(c.problem).length +
        2 * s.config.antecedent.length +
        s.config.lags,
    );
  });

  it('ARnet: the rollouts it trains on are the rollouts predict makes (batched members)', () => {
    const s = arnet.surrogate;
    const ms = c.ensemble.members('test').slice(0, 2);
    const z = s.rollouts(ms, [0, 0], 40);
    const { mean, std } = s.stats.target;
    ms.forEach((m, i) => {
      const p = s.predict(c.ensemble.params(m), 0, 40);
      let worst = 0;
      for (let j = 0; j < p.length; j++) worst = Math.max(worst, Math.abs(z[i]![j]! * std + mean - p[j]!));
      expect(worst).toBeLessThan(1e-4);
    });
  }, 300_000);

  it("LSTM forward on a subset of cells: the whole grid's columns, and the same gradient (zero elsewhere)", async () => {
    const { tf } = await computeHandle();
    const s = lstm.surrogate;
    const n = c.problem.cells;
    const k = c.problem.parameters.length;
    const p0 = new Float32Array(n * k);
    c.problem.lower.forEach((lo, j) => {
      for (let cell = 0; cell < n; cell++)
        p0[cell * k + j] = lo + ((c.problem.upper[j]! - lo) * ((cell * 7 + j * 3) % 10)) / 10;
    });
    const only = [5, 0, n - 1, 12];
    const [t0, t1] = [40, 52];
    const w = tf.randomNormal([t1 - t0, only.length], 0, 1, 'float32', 9);
    const wFull = tf.tidy(() => {
      const z = tf.zeros([t1 - t0, n]).arraySync() as number[][];
      const wv = w.arraySync() as number[][];
      for (let t = 0; t < t1 - t0; t++) only.forEach((cell, i) => (z[t]![cell] = wv[t]![i]!));
      return tf.tensor2d(z);
    });
    const [ySub, yFull, gSub, gFull] = tf.tidy(() => {
      const p = tf.tensor2d(p0, [n, k]);
      const sub = (q: TfModule.Tensor) =>
        tf.sum(tf.mul(s.forward(q as TfModule.Tensor2D, t0, t1, undefined, only), w));
      const full = (q: TfModule.Tensor) => tf.sum(tf.mul(s.forward(q as TfModule.Tensor2D, t0, t1), wFull));
      return [
        s.forward(p, t0, t1, undefined, only).arraySync() as number[][],
        s.forward(p, t0, t1).arraySync() as number[][],
        tf.grad(sub)(p).arraySync() as number[][],
        tf.grad(full)(p).arraySync() as number[][],
      ];
    });
    tf.dispose([w, wFull]);
    for (let t = 0; t < t1 - t0; t++)
      only.forEach((cell, i) => expect(ySub[t]![i]!).toBeCloseTo(yFull[t]![cell]!, 5));
    let scale = 0;
    for (const row of gFull) for (const v of row) scale = Math.max(scale, Math.abs(v));
    expect(scale).toBeGreaterThan(0);
    for (let cell = 0; cell < n; cell++)
      for (let j = 0; j < k; j++) {
        if (!only.includes(cell)) expect(gSub[cell]![j]).toBe(0);
        expect(Math.abs(gSub[cell]![j]! - gFull[cell]![j]!)).toBeLessThan(1e-5 * scale);
      }
    expect(() => s.forward(tf.tensor2d(p0, [n, k]), t0, t1, undefined, [n])).toThrow(/cells to simulate/);
  });

  it('no tensor leak: numTensors is the same after every epoch', () => {
    for (const r of [lstm.result, arnet.result]) {
      const counts = new Set(r.history.map((h) => h.numTensors));
      expect(r.history.length).toBeGreaterThan(2);
      expect(counts.size).toBe(1);
    }
  });
});

describe('surrogate artifacts, resume and dynamic update', () => {
  it('save / load round trip gives identical predictions (both kinds)', async () => {
    const f = c.ensemble.params(c.ensemble.members('test')[0]!);
    await lstm.surrogate.save(join(dir, 'lstm'));
    await arnet.surrogate.save(join(dir, 'arnet'));
    const l2 = await loadLstm(join(dir, 'lstm'), c.problem);
    const a2 = await loadArnet(join(dir, 'arnet'), c.problem);
    expect(Array.from(l2.predict(f, 20, 60))).toEqual(Array.from(lstm.surrogate.predict(f, 20, 60)));
    expect(Array.from(a2.predict(f, 0, 40))).toEqual(Array.from(arnet.surrogate.predict(f, 0, 40)));
    // a surrogate of another kind, or for other data, is refused
    await expect(loadArnet(join(dir, 'lstm'), c.problem)).rejects.toThrow(/not an ARnet/);
    await expect(loadLstm(join(dir, 'lstm'), { ...c.problem, dataKey: 'other' })).rejects.toThrow(/dataKey/);
    l2.dispose();
    a2.dispose();
  }, 300_000);

  it('resume after a kill in epoch 3 gives the weights of an uninterrupted run', async () => {
    const settings = { ...lstmOpts.settings, epochs: 4, batchesPerEpoch: 5, patience: 10 };
    const full = await trainLstm(c.problem, c.ensemble, {
      ...lstmOpts,
      settings,
      checkpointDir: join(dir, 'ck-a'),
    });
    const killed = trainLstm(c.problem, c.ensemble, {
      ...lstmOpts,
      settings,
      checkpointDir: join(dir, 'ck-b'),
      beforeBatch: (epoch, batch) => {
        if (epoch === 3 && batch === 2) throw new Error('killed');
      },
    });
    await expect(killed).rejects.toThrow('killed');
    const resumed = await trainLstm(c.problem, c.ensemble, {
      ...lstmOpts,
      settings,
      checkpointDir: join(dir, 'ck-b'),
    });
    expect(resumed.result.resumedFrom).toBe(2);
    expect(resumed.result.history.map((h) => h.validLoss)).toEqual(
      full.result.history.map((h) => h.validLoss),
    );
    const wa = readWeights(full.surrogate.model);
    const wb = readWeights(resumed.surrogate.model);
    wa.forEach((w, i) => expect(Array.from(wb[i]!)).toEqual(Array.from(w)));
    // a checkpoint of another training is refused
    await expect(
      trainLstm(c.problem, c.ensemble, {
        ...lstmOpts,
        settings: { ...settings, seed: 9 },
        checkpointDir: join(dir, 'ck-b'),
      }),
    ).rejects.toThrow(/another surrogate training/);
    full.surrogate.dispose();
    resumed.surrogate.dispose();
  }, 300_000);

  it('the dynamic update (Tsai et al. 2021) lowers the error at the new member', async () => {
    // the twin's true fields: a member the ensemble does not hold
    const fields = c.truth;
    const target = c.run(fields);
    const err = () => {
      const p = lstm.surrogate.predict(fields, 0, c.problem.steps);
      let s = 0;
      for (let i = 0; i < p.length; i++) s += (p[i]! - target[i]!) ** 2;
      return Math.sqrt(s / p.length);
    };
    const before = err();
    const r = await updateSurrogate(lstm.surrogate, { fields, target }, 3);
    expect(r.history.length).toBe(3);
    const after = err();
    expect(after).toBeLessThan(0.85 * before);
    expect(lstm.surrogate.data.extra.length).toBe(1);
  }, 300_000);

  it('an ARnet saved before the antecedent channels loads without them, with identical predictions', async () => {
    const old = await trainArnet(c.problem, c.ensemble, {
      config: { ...arnetOpts.config, antecedent: [] },
      settings: { ...arnetOpts.settings, epochs: 1, batchesPerEpoch: 2, validBatches: 1 },
    });
    const at = join(dir, 'arnet-old');
    await old.surrogate.save(at);
    // the manifest as sessions before the option wrote it: no antecedent key
    const path = join(at, 'surrogate.json');
    const m = JSON.parse(await readFile(path, 'utf8')) as { config: Record<string, unknown> };
    delete m.config.antecedent;
    await writeFile(path, JSON.stringify(m));
    const back = await loadArnet(at, c.problem);
    expect(back.config.antecedent).toEqual([]);
    const f = c.ensemble.params(c.ensemble.members('test')[0]!);
    expect(Array.from(back.predict(f, 0, 20))).toEqual(Array.from(old.surrogate.predict(f, 0, 20)));
    // a hostile value is refused with a typed error naming the field
    m.config.antecedent = ['x'];
    await writeFile(path, JSON.stringify(m));
    await expect(loadArnet(at, c.problem)).rejects.toMatchObject({ details: { field: 'antecedent' } });
    back.dispose();
    old.surrogate.dispose();
  }, 300_000);

  it('a loaded surrogate releases every tensor it made on dispose', async () => {
    const { tf } = await computeHandle();
    const before = tf.memory().numTensors;
    const l2 = await loadLstm(join(dir, 'lstm'), c.problem);
    const a2 = await loadArnet(join(dir, 'arnet'), c.problem);
    const f = c.ensemble.params(0);
    l2.predict(f, 0, 10);
    a2.predict(f, 0, 10);
    expect(tf.memory().numTensors).toBeGreaterThan(before);
    l2.dispose();
    a2.dispose();
    expect(tf.memory().numTensors).toBe(before);
    lstm.surrogate.dispose();
    arnet.surrogate.dispose();
  }, 120_000);
});
