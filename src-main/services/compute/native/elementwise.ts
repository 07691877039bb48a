import { outputArray } from '../bufferPool';
import { f32, size, vals, type CpuBackend, type NativeKernel, type TensorInfo } from './context';

// element-wise arithmetic with broadcasting (the bulk of batch-norm, LSTM-cell and loss work)
const broadcastStrides = (shape: readonly number[], out: number[]) => {
  const nd = out.length;
  const padded = [...Array<number>(nd - shape.length).fill(1), ...shape];
  const strides = new Array<number>(nd).fill(0);
  let st = 1;
  for (let d = nd - 1; d >= 0; d--) {
    strides[d] = padded[d] === 1 && out[d] !== 1 ? 0 : st;
    st *= padded[d]!;
  }
  return strides;
};

/**
 * Merges adjacent dimensions that both operands walk contiguously (or both broadcast), so the
 * native loop runs over long rows instead of one row per element.
 */
const collapse = (shape: number[], sa: number[], sb: number[]): [number[], number[], number[]] => {
  const cs: number[] = [];
  const ca: number[] = [];
  const cb: number[] = [];
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const k = cs.length - 1;
    const merge = k >= 0 && ca[k] === sa[d]! * shape[d]! && cb[k] === sb[d]! * shape[d]!;
    if (merge) {
      cs[k]! *= shape[d]!;
      ca[k] = sa[d]!;
      cb[k] = sb[d]!;
    } else {
      cs.push(shape[d]!);
      ca.push(sa[d]!);
      cb.push(sb[d]!);
    }
  }
  return cs.length ? [cs, ca, cb] : [[1], [0], [0]];
};

/** tfjs's Add, Sub, Multiply and RealDiv (op 0 to 3) with broadcasting, on float32 operands. */
export const binary =
  (op: 0 | 1 | 2 | 3): NativeKernel =>
  ({ tf, addon }, { inputs, backend }) => {
    const b = backend as CpuBackend;
    const A = inputs.a as TensorInfo;
    const B = inputs.b as TensorInfo;
    if (!f32(A) || !f32(B)) return null;
    const shape = tf.backend_util.assertAndGetBroadcastShape(A.shape, B.shape);
    if (shape.length > 8) return null;
    const out = outputArray(b, size(shape));
    if (out.length === 0) return b.makeTensorInfo(shape, 'float32', out);
    const [cs, ca, cb] = collapse(shape, broadcastStrides(A.shape, shape), broadcastStrides(B.shape, shape));
    addon.binary(op, vals(b, A), ca, vals(b, B), cb, out, cs);
    return b.makeTensorInfo(shape, 'float32', out);
  };

/**
 * tfjs's Greater, GreaterEqual, Less and LessEqual (op 0 to 3) against a same-shape tensor or a
 * scalar (activation gradients), bool out.
 */
export const compare =
  (op: 0 | 1 | 2 | 3): NativeKernel =>
  (_ctx, { inputs, backend }) => {
    const b = backend as CpuBackend;
    const A = inputs.a as TensorInfo;
    const B = inputs.b as TensorInfo;
    const sa = size(A.shape);
    const sb = size(B.shape);
    if (!(sa === sb && A.shape.length === B.shape.length) && sb !== 1) return null;
    const av = b.data.get(A.dataId).values as Float32Array;
    const bv = b.data.get(B.dataId).values as Float32Array;
    const out = new Uint8Array(sa);
    const scalar = sb === 1 && sa !== 1;
    // one monomorphic loop per comparison
    if (op === 0) for (let i = 0; i < sa; i++) out[i] = av[i]! > bv[scalar ? 0 : i]! ? 1 : 0;
    else if (op === 1) for (let i = 0; i < sa; i++) out[i] = av[i]! >= bv[scalar ? 0 : i]! ? 1 : 0;
    else if (op === 2) for (let i = 0; i < sa; i++) out[i] = av[i]! < bv[scalar ? 0 : i]! ? 1 : 0;
    else for (let i = 0; i < sa; i++) out[i] = av[i]! <= bv[scalar ? 0 : i]! ? 1 : 0;
    return b.makeTensorInfo([...A.shape], 'bool', out as unknown as Float32Array);
  };

/** tfjs's Select (where) on same-size float32 branches. */
export const select: NativeKernel = (_ctx, { inputs, backend }) => {
  const b = backend as CpuBackend;
  const c = inputs.condition as TensorInfo;
  const t = inputs.t as TensorInfo;
  const e = inputs.e as TensorInfo;
  if (!f32(t) || !f32(e) || size(c.shape) !== size(t.shape) || size(t.shape) !== size(e.shape)) return null;
  const cv = b.data.get(c.dataId).values as ArrayLike<number>;
  const tv = vals(b, t);
  const ev = vals(b, e);
  const out = outputArray(b, tv.length);
  for (let i = 0; i < out.length; i++) out[i] = cv[i] ? tv[i]! : ev[i]!;
  return b.makeTensorInfo([...t.shape], 'float32', out);
};

/** tfjs's LeakyRelu as one native pass. */
export const leakyRelu: NativeKernel = ({ addon }, { inputs, backend, attrs }) => {
  const b = backend as CpuBackend;
  const x = inputs.x as TensorInfo;
  if (!f32(x)) return null;
  const out = outputArray(b, size(x.shape));
  addon.leakyRelu(vals(b, x), (attrs as { alpha: number }).alpha, out);
  return b.makeTensorInfo([...x.shape], 'float32', out);
};
