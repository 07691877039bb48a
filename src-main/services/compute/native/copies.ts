import type * as TfModule from '@tensorflow/tfjs';
import { outputArray } from '../bufferPool';
import { f32, size, vals, type CpuBackend, type NativeKernel, type TensorInfo } from './context';

// SplitV and Concat as native block copies (tfjs's JavaScript kernels copy element by element)

/** tfjs's SplitV on float32 tensors, one block copy per part. */
export const splitV: NativeKernel = ({ tf, addon }, { inputs, backend, attrs }) => {
  const b = backend as CpuBackend;
  const x = inputs.x as TensorInfo;
  const a = attrs as { numOrSizeSplits: number | number[]; axis: number };
  if (x.dtype !== 'float32') return null;
  const axis = tf.util.parseAxisParam(a.axis, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(x as unknown as TfModule.Tensor, a.numOrSizeSplits, axis);
  const outer = size(x.shape.slice(0, axis));
  const inner = size(x.shape.slice(axis + 1));
  const row = x.shape[axis]! * inner;
  const src = vals(b, x);
  let off = 0;
  return sizes.map((n) => {
    const shape = [...x.shape];
    shape[axis] = n;
    const len = n * inner;
    const out = outputArray(b, outer * len);
    if (out.length) addon.copyRows(src, row, off, out, len, 0, outer, len);
    off += len;
    return b.makeTensorInfo(shape, 'float32', out);
  });
};

/** tfjs's Concat on float32 tensors of one rank, one block copy per input. */
export const concat: NativeKernel = ({ tf, addon }, { inputs, backend, attrs }) => {
  const b = backend as CpuBackend;
  const xs = Object.values(inputs) as TensorInfo[];
  if (xs.length === 0 || !xs.every(f32)) return null;
  const rank = xs[0]!.shape.length;
  const axis = tf.util.parseAxisParam((attrs as { axis: number }).axis, xs[0]!.shape)[0]!;
  const shape = [...xs[0]!.shape];
  shape[axis] = 0;
  for (const x of xs) {
    if (x.shape.length !== rank || x.shape.some((d, i) => i !== axis && d !== shape[i])) return null;
    shape[axis] += x.shape[axis]!;
  }
  const outer = size(shape.slice(0, axis));
  const row = size(shape.slice(axis));
  const out = outputArray(b, outer * row);
  let off = 0;
  for (const x of xs) {
    const w = size(x.shape.slice(axis));
    if (w > 0) addon.copyRows(vals(b, x), w, 0, out, row, off, outer, w);
    off += w;
  }
  return b.makeTensorInfo(shape, 'float32', out);
};

/**
 * tfjs's Slice on float32 tensors as block copies: the axes after the last sliced one are one
 * contiguous run, the whole axes before it one strided copy, and only sliced leading axes are
 * walked here (tfjs's JavaScript kernel copies a strided slice element by element: ~1 ms for a
 * 1 x 32 x 32 x 7 field's first band).
 */
export const slice: NativeKernel = ({ tf, addon }, { inputs, backend, attrs }) => {
  const b = backend as CpuBackend;
  const x = inputs.x as TensorInfo;
  if (!f32(x)) return null;
  const a = attrs as { begin: number | number[]; size: number | number[] };
  const parsed = tf.slice_util.parseSliceParams(x as unknown as TfModule.Tensor, a.begin, a.size);
  const begin = parsed[0]!;
  const sz = parsed[1]!;
  // out-of-range begin or size throws as tfjs's own kernel does (a block copy would read on)
  tf.slice_util.assertParamsValid(x as unknown as TfModule.Tensor, begin, sz);
  const shape = x.shape;
  const rank = shape.length;
  const partial = (d: number) => begin[d] !== 0 || sz[d] !== shape[d];
  let j = rank - 1;
  while (j >= 0 && !partial(j)) j--;
  // the whole axes between the last sliced leading axis m and j make one strided copy
  let m = j - 1;
  while (m >= 0 && !partial(m)) m--;
  const walked = size(sz.slice(0, m + 1));
  if (walked > 4096) return null; // many small copies: tfjs's kernel
  const src = vals(b, x);
  const out = outputArray(b, size(sz));
  if (out.length === 0) return b.makeTensorInfo(sz, 'float32', out);
  if (j < 0) {
    out.set(src);
    return b.makeTensorInfo(sz, 'float32', out);
  }
  const inner = size(shape.slice(j + 1));
  const width = sz[j]! * inner;
  const srcRow = shape[j]! * inner;
  const rows = size(shape.slice(m + 1, j));
  const srcStrides = new Array<number>(rank).fill(1);
  for (let d = rank - 2; d >= 0; d--) srcStrides[d] = srcStrides[d + 1]! * shape[d + 1]!;
  const idx = new Array<number>(m + 1).fill(0);
  for (let n = 0; n < walked; n++) {
    let base = begin[j]! * inner;
    for (let d = 0; d <= m; d++) base += (begin[d]! + idx[d]!) * srcStrides[d]!;
    addon.copyRows(src, srcRow, base, out, width, n * rows * width, rows, width);
    for (let d = m; d >= 0; d--) {
      if (++idx[d]! < sz[d]!) break;
      idx[d] = 0;
    }
  }
  return b.makeTensorInfo(sz, 'float32', out);
};

/** tfjs's Tile on float32 tensors, by block copies of the innermost dimension. */
export const tile: NativeKernel = (_ctx, { inputs, backend, attrs }) => {
  const b = backend as CpuBackend;
  const x = inputs.x as TensorInfo;
  if (x.dtype !== 'float32') return null;
  const reps = (attrs as { reps: number[] }).reps;
  const shape = x.shape.map((d, i) => d * reps[i]!);
  const src = vals(b, x);
  const out = outputArray(b, size(shape));
  const nd = x.shape.length;
  if (nd === 0) {
    out.set(src);
    return b.makeTensorInfo(shape, 'float32', out);
  }
  // out index along each dim d: (rep, i) -> rep * x.shape[d] + i; copy rows of the last dim
  const inner = x.shape[nd - 1]!;
  const outStrides = new Array<number>(nd).fill(1);
  for (let d = nd - 2; d >= 0; d--) outStrides[d] = outStrides[d + 1]! * shape[d + 1]!;
  const recurse = (d: number, srcRow: number, outOff: number) => {
    if (d === nd - 1) {
      const row = src.subarray(srcRow * inner, srcRow * inner + inner);
      for (let r = 0; r < reps[nd - 1]!; r++) out.set(row, outOff + r * inner);
      return;
    }
    for (let r = 0; r < reps[d]!; r++)
      for (let i = 0; i < x.shape[d]!; i++) {
        recurse(d + 1, srcRow * x.shape[d]! + i, outOff + (r * x.shape[d]! + i) * outStrides[d]!);
      }
  };
  recurse(0, 0, 0);
  return b.makeTensorInfo(shape, 'float32', out);
};
