import { beforeAll, describe, expect, it } from 'vitest';
import { computeHandle, type ComputeHandle } from '../../../../src-main/services/compute';
import { InverseNet, type InversePairs } from '../../../../src-main/services/calibration/inverse/network';
import { mulberry32 } from '../../../../src-main/services/common/random';

let compute: ComputeHandle;
beforeAll(async () => {
  compute = await computeHandle();
});

/**
 * The inverse network on constructed pairs whose answer is known: the series of pair i is
 * s_i times a fixed positive pattern (log-uniform s_i), and the target of cell c is
 * 0.15 + 0.5 u_i + 0.3 d_c, u_i the position of log s_i in its range and d_c the cell's
 * descriptor. Learnable only from the series (u) and, across cells, only from the descriptors (d).
 */
function pairs(n: number, cells: number, desc: Float64Array, seed: number): InversePairs {
  const G = 2;
  const T = 32;
  const r = mulberry32(seed);
  const pattern = Float32Array.from({ length: G * T }, (_, j) => 1 + Math.sin(j / 3) ** 2 + (j % T) / T);
  const flows: Float32Array[] = [];
  const targets: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    const u = r();
    const s = Math.exp(-2 + 4 * u);
    flows.push(Float32Array.from(pattern, (p) => s * p));
    targets.push(Float32Array.from({ length: cells }, (_, c) => 0.15 + 0.5 * u + 0.3 * desc[c]!));
  }
  return { gauges: G, steps: T, cells, parameters: 1, flows, targets };
}

const cfg = {
  filters: 4,
  latent: 8,
  hidden: 8,
  epochs: 30,
  batch: 24,
  learningRate: 1e-2,
  patience: 30,
  validFraction: 0.25,
  noise: 0,
  seed: 3,
};

/** RMSE of the network's predictions on the held-out pairs, and the targets' sd over them. */
function heldOut(net: InverseNet, p: InversePairs, valid: number[]) {
  const pred = net.predict(valid.map((i) => p.flows[i]!));
  let s = 0;
  let m = 0;
  let m2 = 0;
  let n = 0;
  valid.forEach((i, b) => {
    p.targets[i]!.forEach((y, c) => {
      s += (pred[b]![c]! - y) ** 2;
      m += y;
      m2 += y * y;
      n++;
    });
  });
  return { rmse: Math.sqrt(s / n), sd: Math.sqrt(m2 / n - (m / n) ** 2) };
}

describe('inverse network on pairs with a known answer', () => {
  it('one output row, no descriptors: reads the series scale from the flows', () => {
    const p = pairs(64, 1, new Float64Array([0]), 11);
    const net = new InverseNet(compute.tf, p, new Float64Array(0), 0, cfg);
    try {
      const { valid } = net.train(p);
      const { rmse, sd } = heldOut(net, p, valid);
      // the targets' spread is 0.5 sd(u) = 0.14; a network blind to the series stays near it
      expect(sd).toBeGreaterThan(0.1);
      expect(rmse).toBeLessThan(0.3 * sd);
      expect(net.bestEpoch).toBeGreaterThan(1);
    } finally {
      net.dispose();
    }
  }, 60_000);

  it('per-cell output with descriptors: the descriptor branch carries the differences between cells', () => {
    const cells = 6;
    const d = Float64Array.from({ length: cells }, (_, c) => c / (cells - 1));
    const p = pairs(64, cells, d, 12);
    const withD = new InverseNet(compute.tf, p, d, 1, cfg);
    // the same pairs without descriptors: every cell gets the same value, off by 0.3 |d_c - mean d|
    const blind = new InverseNet(compute.tf, p, new Float64Array(0), 0, cfg);
    try {
      const a = heldOut(withD, p, withD.train(p).valid);
      const b = heldOut(blind, p, blind.train(p).valid);
      expect(a.rmse).toBeLessThan(0.03);
      // sd over cells of 0.3 d_c: 0.3 * sqrt(7/60) = 0.102
      expect(b.rmse).toBeGreaterThan(0.09);
    } finally {
      withD.dispose();
      blind.dispose();
    }
  }, 60_000);
});
