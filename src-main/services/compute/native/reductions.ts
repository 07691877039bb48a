import { outputArray } from '../bufferPool';
import { f32, size, vals, type CpuBackend, type NativeKernel, type TensorInfo } from './context';

/**
 * tfjs's Sum (`mean` false) and Mean (`mean` true) over any axes: one native pass per run of
 * adjacent reduced axes, innermost first.
 */
export const reduce =
  (mean: boolean): NativeKernel =>
  ({ tf, addon }, { inputs, backend, attrs }) => {
    const b = backend as CpuBackend;
    const x = inputs.x as TensorInfo;
    if (!f32(x)) return null;
    const a = attrs as { axis: number | number[]; keepDims: boolean };
    const axes = tf.util.parseAxisParam(a.axis, x.shape);
    const shape = a.keepDims
      ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d))
      : x.shape.filter((_, i) => !axes.includes(i));
    // runs of dimensions, each all-reduced or all-kept: [extent, reduced]
    const runs: Array<[number, boolean]> = [];
    x.shape.forEach((d, i) => {
      const r = axes.includes(i);
      const last = runs[runs.length - 1];
      if (last && last[1] === r) last[0] *= d;
      else runs.push([d, r]);
    });
    let src = vals(b, x);
    let red = 1;
    for (let k = runs.length - 1; k >= 0; k--) {
      if (!runs[k]![1]) continue;
      const outer = size(runs.slice(0, k).map((r) => r[0]));
      const inner = size(runs.slice(k + 1).map((r) => r[0]));
      const out = outputArray(b, outer * inner);
      addon.reduceSum(src, outer, runs[k]![0], inner, out);
      red *= runs[k]![0];
      runs[k]![0] = 1;
      src = out;
    }
    const out = src === vals(b, x) ? src.slice() : src;
    if (mean && red > 0) for (let i = 0; i < out.length; i++) out[i]! /= red;
    return b.makeTensorInfo(shape, 'float32', out);
  };
