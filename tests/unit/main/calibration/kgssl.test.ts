import { describe, expect, it } from 'vitest';
import { computeHandle, type ComputeHandle } from '../../../../src-main/services/compute';
import { mulberry32 } from '../../../../src-main/services/common/random';
import { runKgssl } from '../../../../src-main/services/calibration/kgssl';
import { KgsslData, type BasinsProblem } from '../../../../src-main/services/calibration/kgssl/data';
import { KgsslNets, type KgsslConfig } from '../../../../src-main/services/calibration/kgssl/model';
import {
  basinFolds,
  matrixCorrelation,
  meanGr4,
  ridgeLoo,
  ridgePredict,
} from '../../../../src-main/services/calibration/kgssl/uses';
import { kgsslOptions } from '../../../../src-main/services/calibration/methods/kgssl/options';
import { methodOptions, methodNames } from '../../../../src-main/services/calibration/registry';
import { deriveAttributes, DERIVED_NAMES } from '../../../../src-main/services/datasets/basins/attributes';
import type { BasinSet } from '../../../../src-main/services/datasets/basins';

/**
 * Synthetic basins: seeded rain, seasonal PET, discharge from a linear reservoir whose recession
 * constant k differs per basin (dS/dt = P − E/2 − kS, Q = kS): the basin characteristic the
 * embeddings should carry. Attributes: the derived climate indices and k itself.
 */
function synthetic(n: number, days: number, seed = 3): BasinSet {
  const rand = mulberry32(seed);
  const dates = Array.from({ length: days }, (_, i) => new Date(Date.UTC(2000, 0, 1 + i)));
  const basins = Array.from({ length: n }, (_, b) => {
    const k = 0.1 + (0.5 * b) / (n - 1);
    const wet = 0.3 + 0.3 * rand();
    const P = Float64Array.from(dates, () => (rand() < wet ? -8 * Math.log(1 - rand()) : 0));
    const E = Float64Array.from(dates, (_, t) => 2 + 1.5 * Math.sin((2 * Math.PI * t) / 365.25));
    const Q = new Float64Array(days);
    let S = 50;
    for (let t = 0; t < days; t++) {
      S = Math.max(S + P[t]! - E[t]! / 2, 0);
      Q[t] = k * S;
      S -= Q[t]!;
    }
    return { code: `B${b}`, file: `B${b}.csv`, k, series: { dates, P, E, Q, stepSeconds: 86400 } };
  });
  const names = [...DERIVED_NAMES, 'k'];
  const values = basins.map((b) => {
    const d = deriveAttributes({ dates, P: b.series.P, E: b.series.E });
    return [...DERIVED_NAMES.map((x) => d[x]), { value: b.k, source: 'test' }];
  });
  return {
    dir: 'synthetic',
    basins: basins.map(({ k: _k, ...b }) => b),
    attributes: { names, units: {}, values },
  };
}

const problem = (set: BasinSet): BasinsProblem => ({
  set,
  train: { start: '2000-01-01', end: '2001-12-31' },
  test: { start: '2002-01-01', end: '2002-12-31' },
});
const cfg: KgsslConfig = {
  zDim: 4,
  hidden: 12,
  window: 40,
  spinup: 20,
  epochs: 20,
  batchesPerEpoch: 5,
  batchBasins: 6,
  learningRate: 0.01,
  contrastive: 'infonce',
  temperature: 0.1,
  margin: 0.2,
  weights: { reconstruction: 1, contrastive: 0.1, regression: 0.1 },
};
const quiet = (compute: ComputeHandle, states?: unknown[]) => ({
  compute,
  progress: () => {},
  cancelled: () => false,
  ...(states ? { checkpoint: (s: unknown) => states.push(JSON.parse(JSON.stringify(s))) } : {}),
});

describe('KGSSL networks (tfjs, fused LSTM)', () => {
  const set = synthetic(6, 1096); // 2000-01-01 .. 2002-12-31

  it('trains: reconstruction falls, the test year is predicted, no tensor leak across epochs', async () => {
    const { tf } = await computeHandle();
    const before = tf.memory().numTensors;
    const d = new KgsslData(problem(set), cfg.window);
    const nets = new KgsslNets(tf, d, cfg, 5);
    const counts: number[] = [];
    const losses = [];
    for (let e = 0; e < cfg.epochs; e++) {
      losses.push(nets.epoch(e));
      counts.push(tf.memory().numTensors);
    }
    // after the first epoch (Adam's moments created) the count never moves
    expect(new Set(counts.slice(1)).size).toBe(1);
    const first = losses.slice(0, 3).reduce((s, l) => s + l.L1, 0) / 3;
    const last = losses.slice(-3).reduce((s, l) => s + l.L1, 0) / 3;
    expect(last).toBeLessThan(0.6 * first);
    // forward model on the unseen test year, conditioned on the embeddings
    const z = nets.embeddings();
    const nse = z.map((zk, k) => {
      const { i0, i1 } = d.test[k]!;
      const q = nets.predict(k, zk, i0, i1);
      const o = set.basins[k]!.series.Q.subarray(i0, i1);
      const m = o.reduce((s, v) => s + v, 0) / o.length;
      return 1 - o.reduce((s, v, i) => s + (v - q[i]!) ** 2, 0) / o.reduce((s, v) => s + (v - m) ** 2, 0);
    });
    expect(nse.filter((v) => v > 0.5).length).toBeGreaterThanOrEqual(4);
    nets.dispose();
    expect(tf.memory().numTensors).toBe(before);
  }, 30_000);

  it('contrastive losses equal their formulas (InfoNCE, triplet margin)', async () => {
    const { tf } = await computeHandle();
    const d = new KgsslData(problem(set), cfg.window);
    const za = [
      [1, 0],
      [0, 2],
    ];
    const zp = [
      [3, 0],
      [1, 1],
    ];
    const value = (form: 'infonce' | 'triplet') => {
      const nets = new KgsslNets(tf, d, { ...cfg, contrastive: form, temperature: 0.5, margin: 0.2 }, 1);
      const v = tf.tidy(() => nets.contrastive(tf.tensor2d(za), tf.tensor2d(zp)).dataSync()[0]!);
      nets.dispose();
      return v;
    };
    // cosines: a0·p0 = 1, a0·p1 = 1/√2, a1·p0 = 0, a1·p1 = 1/√2; logits = cos / 0.5
    const s = [
      [2, Math.SQRT2],
      [0, Math.SQRT2],
    ];
    const ce = (row: number[], i: number) => Math.log(row.reduce((t, v) => t + Math.exp(v), 0)) - row[i]!;
    const rows = (ce(s[0]!, 0) + ce(s[1]!, 1)) / 2;
    const cols = (ce([s[0]![0]!, s[1]![0]!], 0) + ce([s[0]![1]!, s[1]![1]!], 1)) / 2;
    expect(value('infonce')).toBeCloseTo((rows + cols) / 2, 5);
    // negatives: the next basin's positive; ‖a0−p0‖² = 4, ‖a0−p1‖² = 1; ‖a1−p1‖² = 2, ‖a1−p0‖² = 13
    expect(value('triplet')).toBeCloseTo((Math.max(0, 4 - 1 + 0.2) + Math.max(0, 2 - 13 + 0.2)) / 2, 5);
  });

  it('is reproducible from its seed and resumes to the uninterrupted result', async () => {
    const compute = await computeHandle();
    const o = kgsslOptions.parse({
      zDim: 3,
      hidden: 8,
      window: 30,
      spinup: 10,
      epochs: 4,
      batchesPerEpoch: 3,
      batchBasins: 4,
      contrastive: 'triplet',
      weights: { regression: 0 },
      attributeBaseline: false,
      transfer: { enabled: false },
      folds: 3,
    });
    const states: unknown[] = [];
    const a = runKgssl(problem(set), o, 11, quiet(compute, states));
    const b = runKgssl(problem(set), o, 11, quiet(compute));
    expect(b.embeddings.z).toEqual(a.embeddings.z);
    const c = runKgssl(problem(set), o, 12, quiet(compute));
    expect(c.embeddings.z).not.toEqual(a.embeddings.z);
    const at2 = states.find((s) => (s as { iteration: number }).iteration === 2);
    const r = runKgssl(problem(set), o, 11, { ...quiet(compute), resume: at2 });
    expect(r.embeddings.z).toEqual(a.embeddings.z);
    expect(r.info.reconstruction).toEqual(a.info.reconstruction);
    // imputation with L3 = 0 is ridge from the embeddings, leave-basins-out; k is known for every basin
    const k = (a.info.imputation as { correlation: Record<string, { n: number }> }).correlation.k!;
    expect(k.n).toBe(6);
  }, 30_000);

  it('more windows per basin: the pairwise InfoNCE averaged over view pairs, reproducible, no leak', async () => {
    const { tf } = await computeHandle();
    const d = new KgsslData(problem(set), cfg.window);
    const c4 = { ...cfg, epochs: 2, batchesPerEpoch: 2, windowsPerBasin: 4 };
    const run = () => {
      const nets = new KgsslNets(tf, d, c4, 3);
      // Adam's moments are made in the first step: the count is stable from there on
      const l = [nets.epoch(0)];
      const before = tf.memory().numTensors;
      l.push(nets.epoch(1));
      const after = tf.memory().numTensors;
      const z = nets.embeddings();
      nets.dispose();
      return { l, z, leak: after - before };
    };
    const a = run();
    const b = run();
    expect(a.leak).toBe(0);
    expect(b.z).toEqual(a.z);
    for (const e of a.l) {
      expect(Number.isFinite(e.L2)).toBe(true);
      // InfoNCE over 6 basins is at most a little above log 6 early on, never negative
      expect(e.L2).toBeGreaterThan(0);
    }
  }, 30_000);

  it('is registered for the basins problem kind with strict options', () => {
    expect(methodNames('basins')).toEqual(['kgssl']);
    expect(methodOptions('kgssl', 'basins', {})).toMatchObject({ zDim: 8, contrastive: 'infonce' });
    expect(() => methodOptions('kgssl', 'basins', { zdim: 3 })).toThrow(/zdim/);
  });
});

describe('KGSSL uses', () => {
  it('ridge regression recovers a linear attribute of the embeddings (left-out basins)', () => {
    const rand = mulberry32(1);
    const z = Array.from({ length: 12 }, () => [rand(), rand(), rand()]);
    const y = z.map((v) => 2 * v[0]! - v[1]! + 3);
    const fit = [0, 1, 2, 3, 4, 5, 6, 7, 8];
    const p = ridgePredict(z, y, fit, [9, 10, 11], 1e-9);
    p.forEach((v, i) => expect(v).toBeCloseTo(y[9 + i]!, 6));
    // a basin with the attribute missing is left out of the fit
    const y2: (number | null)[] = [...y];
    y2[0] = null;
    expect(ridgePredict(z, y2, fit, [9], 1e-9)[0]).toBeCloseTo(y[9]!, 6);
  });

  it('ridge with λ by leave-one-out: a small λ for a clean signal, the largest for pure noise', () => {
    const rand = mulberry32(5);
    const z = Array.from({ length: 16 }, () => [rand(), 10 * rand(), rand(), rand()]);
    const fit = Array.from({ length: 13 }, (_, i) => i);
    const clean = z.map((v) => 2 * v[0]! - 0.1 * v[1]! + 3);
    const a = ridgeLoo(z, clean, fit, [13, 14, 15]);
    expect(a.lambda).toBe(1e-3);
    a.values.forEach((v, i) => expect(v).toBeCloseTo(clean[13 + i]!, 2));
    // attribute unrelated to z: the most shrunk fit wins and predicts near the fitting basins' mean
    const noise = z.map(() => rand());
    const b = ridgeLoo(z, noise, fit, [13]);
    expect(b.lambda).toBe(100);
    const mean = fit.reduce((s, k) => s + noise[k]!, 0) / fit.length;
    expect(Math.abs(b.values[0]! - mean)).toBeLessThan(0.05);
    // fewer than two fitting basins with the attribute: nothing to fit
    expect(
      ridgeLoo(
        z,
        z.map((_, k) => (k === 0 ? 1 : null)),
        fit,
        [13],
      ).values[0],
    ).toBeNaN();
  });

  it('distance-matrix correlation, folds, GR4J parameter means', () => {
    const m = [
      [0, 1, 2],
      [1, 0, 3],
      [2, 3, 0],
    ];
    expect(matrixCorrelation(m, m)).toBeCloseTo(1, 12);
    expect(
      matrixCorrelation(
        m,
        m.map((r) => r.map((v) => 10 - v)),
      ),
    ).toBeCloseTo(-1, 12);
    const f = basinFolds(19, 5, 1);
    expect([0, 1, 2, 3, 4].map((k) => f.filter((x) => x === k).length)).toEqual([4, 4, 4, 4, 3]);
    const g = meanGr4([Float64Array.of(100, -1, 10, 1), Float64Array.of(400, 1, 1000, 3)]);
    expect([...g]).toEqual([200, 0, 100, 2].map((v, i) => (i === 0 || i === 2 ? expect.closeTo(v, 9) : v)));
  });
});
