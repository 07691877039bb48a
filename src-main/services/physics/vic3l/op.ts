import type { GradSaveFunc, Tensor, Tensor2D } from '@tensorflow/tfjs';
import { FieldcalError } from '../../../../src-shared/ipc';
import { getTf } from '../../compute';
import {
  runVic3l,
  vic3lWithGradient,
  VIC3L_PARAMS,
  type Vic3lForcing,
  type Vic3lOptions,
  type Vic3lParams,
} from './index';

/** What the op returns per cell and step: one output, or total runoff R + Qb. */
export type Vic3lOpOutput = 'ET' | 'R' | 'Qb' | 'W1' | 'W2' | 'W3' | 'SWE' | 'runoff';

function paramsOf(v: Float32Array | Int32Array | Uint8Array, cells: number): Vic3lParams {
  const out = {} as Record<(typeof VIC3L_PARAMS)[number], Float64Array>;
  VIC3L_PARAMS.forEach((name, k) => {
    out[name] = Float64Array.from({ length: cells }, (_, c) => v[c * VIC3L_PARAMS.length + k]!);
  });
  return out;
}

/**
 * vic3l as a tfjs operation: parameters [cells, 7] (b, Ds, Dsmax, Ws, d2, d3, expt per cell, e.g.
 * a network's output) in, one output [steps - warmup, cells] out (step-major, like the forcing, so
 * a step reshapes to a field). The gradient is the model's exact adjoint (tf.customGrad), so a
 * network trains end to end through vic3l; `warmup` leading steps are run but not returned.
 */
export function vic3lOp(
  params: Tensor2D,
  forcing: Vic3lForcing,
  steps: number,
  output: Vic3lOpOutput,
  opts: Vic3lOptions & {
    warmup?: number;
    /** The forward's output [steps - warmup, cells] already computed with these very parameters: not run again. */
    value?: Float32Array;
  } = {},
): Tensor2D {
  const tf = getTf();
  const [cells, k] = params.shape;
  if (k !== VIC3L_PARAMS.length)
    throw new FieldcalError('VALIDATION', `vic3lOp needs [cells, 7] parameters, got [${cells}, ${k}]`, {
      field: 'params',
    });
  const warmup = opts.warmup ?? 0;
  if (!(Number.isInteger(warmup) && warmup >= 0 && warmup < steps))
    throw new FieldcalError('VALIDATION', `warm-up must be 0 .. ${steps - 1} steps (got ${warmup})`, {
      field: 'warmup',
    });
  const out = steps - warmup;
  if (opts.value && opts.value.length !== out * cells)
    throw new FieldcalError(
      'VALIDATION',
      `value must hold ${out * cells} numbers (got ${opts.value.length})`,
      {
        field: 'value',
      },
    );
  const op = tf.customGrad((...args: Array<Tensor | GradSaveFunc>) => {
    const x = args[0] as Tensor;
    (args[1] as GradSaveFunc)([x]);
    const names = output === 'runoff' ? (['R', 'Qb'] as const) : ([output] as const);
    let y = opts.value;
    if (!y) {
      const { outputs } = runVic3l(paramsOf(x.dataSync(), cells), forcing, steps, {
        ...opts,
        outputs: names,
      });
      y = new Float32Array(out * cells);
      for (const name of names) {
        const o = outputs[name]!;
        for (let i = 0; i < y.length; i++) y[i]! += o[warmup * cells + i]!;
      }
    }
    return {
      value: tf.tensor2d(y, [out, cells]),
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const pv = paramsOf(saved[0]!.dataSync(), cells);
        const dyv = dy.dataSync();
        const { gradient } = vic3lWithGradient(
          pv,
          forcing,
          steps,
          {
            // the cotangents come from dy alone: no flux on the tape
            reads: [],
            backward(t, _o, g) {
              if (t < warmup) return;
              const base = (t - warmup) * cells;
              for (const name of names) {
                const gi = g[name];
                for (let c = 0; c < cells; c++) gi[c] = dyv[base + c]!;
              }
            },
          },
          opts,
        );
        const gp = new Float32Array(cells * VIC3L_PARAMS.length);
        VIC3L_PARAMS.forEach((name, j) => {
          const gv = gradient[name];
          for (let c = 0; c < cells; c++) gp[c * VIC3L_PARAMS.length + j] = gv[c]!;
        });
        return [tf.tensor2d(gp, [cells, VIC3L_PARAMS.length])];
      },
    };
  });
  return op(params) as Tensor2D;
}
