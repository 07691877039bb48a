import { beforeAll, describe, expect, it } from 'vitest';
import type { Tensor, Tensor2D } from '@tensorflow/tfjs';
import { getTf, initCompute } from '../../../../src-main/services/compute';
import { gr4Op } from '../../../../src-main/services/physics/gr4/op';
import { gr4Reference } from '../../../reference/gr4Tfjs';
import { readBasinObs } from '../../../helpers/airgr';

const STEPS = 60;
const CELLS = 3;
const d = readBasinObs();
const i0 = d.dates.indexOf('1990-10-01');
// three cells with shifted forcing windows so they differ
const P = new Float32Array(CELLS * STEPS);
const E = new Float32Array(CELLS * STEPS);
for (let c = 0; c < CELLS; c++) {
  P.set(d.P.subarray(i0 + 40 * c, i0 + 40 * c + STEPS), c * STEPS);
  E.set(d.E.subarray(i0 + 40 * c, i0 + 40 * c + STEPS), c * STEPS);
}
const PARAMS = [257.2, 1.01, 88.2, 2.21, 600, -1.5, 40, 1.6, 150, 0.4, 250, 3.3];

beforeAll(async () => {
  await initCompute();
});

describe('GR4J as a tfjs op against an independent tfjs-autodiff reference', () => {
  it('gives the same discharge and the same parameter gradients', () => {
    const tf = getTf();
    const before = tf.memory().numTensors;
    const w = tf.tidy(() => tf.randomUniform([CELLS, STEPS], -1, 1, 'float32', 11));
    const params = tf.tensor2d(PARAMS, [CELLS, 4]);
    const Pt = tf.tensor2d(P, [CELLS, STEPS]);
    const Et = tf.tensor2d(E, [CELLS, STEPS]);
    const fast = tf.tidy(() => gr4Op(params, P, E, STEPS).arraySync());
    const ref = tf.tidy(() => gr4Reference(tf, params, Pt, Et).arraySync());
    let maxQ = 0;
    for (const row of ref) for (const v of row) maxQ = Math.max(maxQ, Math.abs(v));
    let worstQ = 0;
    fast.forEach((row, c) =>
      row.forEach((v, t) => (worstQ = Math.max(worstQ, Math.abs(v - ref[c]![t]!) / maxQ))),
    );
    // tfjs computes in float32 only: the reference cannot resolve differences below a few float32 ulps
    expect(worstQ).toBeLessThan(5e-6);

    const gFast = tf.tidy(() =>
      tf
        .grad((x: Tensor) => tf.sum(tf.mul(gr4Op(x as Tensor2D, P, E, STEPS), w)))(params)
        .arraySync(),
    ) as number[][];
    const gRef = tf.tidy(() =>
      tf
        .grad((x: Tensor) => tf.sum(tf.mul(gr4Reference(tf, x as Tensor2D, Pt, Et), w)))(params)
        .arraySync(),
    ) as number[][];
    gFast.forEach((row, c) =>
      row.forEach((v, k) => {
        const r = gRef[c]![k]!;
        expect(Math.abs(v - r) / Math.abs(r), `cell ${c} X${k + 1}: ${v} vs ${r}`).toBeLessThan(1e-4);
      }),
    );
    tf.dispose([w, params, Pt, Et]);
    expect(tf.memory().numTensors).toBe(before);
  }, 120_000);
});
