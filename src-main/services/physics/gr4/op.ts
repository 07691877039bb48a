import type { GradSaveFunc, Tensor, Tensor2D } from '@tensorflow/tfjs';
import { FieldcalError } from '../../../../src-shared/ipc';
import { getTf } from '../../compute';
import { gr4WithGradient } from './adjoint';
import { initialState } from './forward';

/**
 * GR4J as a tfjs operation: parameters [cells, 4] (X1..X4 per cell, e.g. a network's output) and
 * forcing [cells, steps] in, discharge [cells, steps] out. The gradient with respect to the
 * parameters is the exact adjoint (tf.customGrad), so networks train end to end through the model.
 * Each cell starts from airGR's default state; `warmup` leading steps are run but not returned.
 */
export function gr4Op(
  params: Tensor2D,
  P: Float64Array | Float32Array,
  E: Float64Array | Float32Array,
  steps: number,
  warmup = 0,
): Tensor2D {
  const tf = getTf();
  const [cells, k] = params.shape;
  if (k !== 4)
    throw new FieldcalError('VALIDATION', `gr4Op needs [cells, 4] parameters, got [${cells}, ${k}]`, {
      field: 'params',
    });
  if (P.length !== cells * steps || E.length !== cells * steps) {
    throw new FieldcalError('VALIDATION', `forcing must hold cells x steps = ${cells * steps} values`, {
      field: 'P',
    });
  }
  const out = steps - warmup;
  const op = tf.customGrad((...args: Array<Tensor | GradSaveFunc>) => {
    const x = args[0] as Tensor;
    (args[1] as GradSaveFunc)([x]);
    const pv = x.dataSync();
    const q = new Float32Array(cells * out);
    for (let c = 0; c < cells; c++) {
      const p = { X1: pv[c * 4]!, X2: pv[c * 4 + 1]!, X3: pv[c * 4 + 2]!, X4: pv[c * 4 + 3]! };
      const r = gr4WithGradient(
        p,
        P.subarray(c * steps, (c + 1) * steps),
        E.subarray(c * steps, (c + 1) * steps),
        initialState(p.X1, p.X3),
        new Float64Array(steps),
      );
      q.set(r.outputs.Q.subarray(warmup), c * out);
    }
    return {
      value: tf.tensor2d(q, [cells, out]),
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const xv = saved[0]!.dataSync();
        const dyv = dy.dataSync();
        const g = new Float32Array(cells * 4);
        for (let c = 0; c < cells; c++) {
          const p = { X1: xv[c * 4]!, X2: xv[c * 4 + 1]!, X3: xv[c * 4 + 2]!, X4: xv[c * 4 + 3]! };
          const gQ = new Float64Array(steps);
          for (let t = warmup; t < steps; t++) gQ[t] = dyv[c * out + t - warmup]!;
          const { gradient } = gr4WithGradient(
            p,
            P.subarray(c * steps, (c + 1) * steps),
            E.subarray(c * steps, (c + 1) * steps),
            initialState(p.X1, p.X3),
            gQ,
          );
          // the initial stores are 0.3 X1 and 0.5 X3 (airGR), so their adjoints flow into X1 and X3
          g.set(
            [gradient.X1 + 0.3 * gradient.S0, gradient.X2, gradient.X3 + 0.5 * gradient.R0, gradient.X4],
            c * 4,
          );
        }
        return [tf.tensor2d(g, [cells, 4])];
      },
    };
  });
  return op(params) as Tensor2D;
}
