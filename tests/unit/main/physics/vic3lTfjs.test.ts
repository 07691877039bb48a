import { beforeAll, describe, expect, it } from 'vitest';
import type { Tensor, Tensor2D } from '@tensorflow/tfjs';
import { getTf, initCompute } from '../../../../src-main/services/compute';
import { vic3lOp } from '../../../../src-main/services/physics/vic3l/op';
import { vic3lReference } from '../../../reference/vic3lTfjs';

const STEPS = 50;
const CELLS = 4;
// b, Ds, Dsmax, Ws, d2, d3, expt per cell: wet and dry, shallow and deep soils
const PARAMS = [
  0.2, 0.05, 12, 0.7, 0.3, 0.4, 11, 0.05, 0.3, 25, 0.5, 0.2, 0.2, 6, 0.35, 0.01, 4, 0.9, 1.2, 1.4, 20, 0.12,
  0.5, 18, 0.3, 0.15, 0.3, 8,
];

function lcg(seed: number) {
  let s = seed;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}
const rand = lcg(5);
// step-major for the kernel, cell-major for the reference; float32 values so both see the same numbers
const P = Float32Array.from({ length: CELLS * STEPS }, () =>
  rand() < 0.5 ? 0 : Math.fround(60 * rand() ** 2),
);
const PET = Float32Array.from({ length: CELLS * STEPS }, () => Math.fround(1 + 4 * rand()));
const T = Float32Array.from({ length: CELLS * STEPS }, (_, i) =>
  Math.fround(-4 + 8 * rand() + (i > 100 ? 8 : 0)),
);
const cellMajor = (v: Float32Array) =>
  Float32Array.from({ length: CELLS * STEPS }, (_, i) => v[(i % STEPS) * CELLS + Math.floor(i / STEPS)]!);

beforeAll(async () => {
  await initCompute();
});

describe('vic3l as a tfjs op against an independent tfjs-autodiff reference', () => {
  for (const output of ['ET', 'runoff'] as const) {
    it(`gives the same ${output} and the same parameter gradients`, () => {
      const tf = getTf();
      const before = tf.memory().numTensors;
      const forcing = { P, PET, T };
      const params = tf.tensor2d(PARAMS, [CELLS, 7]);
      const Pt = tf.tensor2d(cellMajor(P), [CELLS, STEPS]);
      const Et = tf.tensor2d(cellMajor(PET), [CELLS, STEPS]);
      const Tt = tf.tensor2d(cellMajor(T), [CELLS, STEPS]);
      const w = tf.tidy(() => tf.randomUniform([STEPS, CELLS], -1, 1, 'float32', 11));
      const refOut = (x: Tensor2D) => {
        const r = vic3lReference(tf, x, Pt, Et, Tt);
        return tf.transpose(output === 'ET' ? r.ET : tf.add(r.R, r.Qb)) as Tensor2D;
      };
      const fast = tf.tidy(() => vic3lOp(params, forcing, STEPS, output).arraySync());
      const ref = tf.tidy(() => refOut(params).arraySync());
      let max = 0;
      for (const row of ref) for (const v of row) max = Math.max(max, Math.abs(v));
      let worst = 0;
      fast.forEach((row, t) =>
        row.forEach((v, c) => (worst = Math.max(worst, Math.abs(v - ref[t]![c]!) / max))),
      );
      // tfjs computes in float32 only: the reference cannot resolve differences below a few float32 ulps
      expect(worst).toBeLessThan(5e-6);
      expect(max).toBeGreaterThan(1);

      const gFast = tf.tidy(() =>
        tf
          .grad((x: Tensor) => tf.sum(tf.mul(vic3lOp(x as Tensor2D, forcing, STEPS, output), w)))(params)
          .arraySync(),
      ) as number[][];
      const gRef = tf.tidy(() =>
        tf
          .grad((x: Tensor) => tf.sum(tf.mul(refOut(x as Tensor2D), w)))(params)
          .arraySync(),
      ) as number[][];
      for (let k = 0; k < 7; k++) {
        const scale = Math.max(...gRef.map((row) => Math.abs(row[k]!)));
        gFast.forEach((row, c) => {
          const r = gRef[c]![k]!;
          const v = row[k]!;
          // relative to the entry, floored at 1e-3 of the parameter's largest gradient (float32 cancellation)
          expect(
            Math.abs(v - r) / Math.max(Math.abs(r), 1e-3 * scale),
            `cell ${c} param ${k}: ${v} vs ${r}`,
          ).toBeLessThan(1e-4);
        });
      }
      tf.dispose([w, params, Pt, Et, Tt]);
      expect(tf.memory().numTensors).toBe(before);
    }, 120_000);
  }
});
