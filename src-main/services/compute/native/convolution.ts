import type * as TfModule from '@tensorflow/tfjs';
import { threadId } from 'node:worker_threads';
import { outputArray } from '../bufferPool';
import {
  epilogue,
  f32,
  size,
  vals,
  type CpuBackend,
  type NativeContext,
  type NativeKernel,
  type TensorInfo,
} from './context';

const convParams = (ci: TfModule.backend_util.Conv2DInfo) => [
  ci.strideHeight,
  ci.strideWidth,
  ci.dilationHeight,
  ci.dilationWidth,
  ci.padInfo.top,
  ci.padInfo.bottom,
  ci.padInfo.left,
  ci.padInfo.right,
];

const tokens = new WeakMap<object, number>();
let lastToken = 0;

/**
 * A process-unique number for the tensor `t` (the same while it lives): the addon keeps a weight
 * tensor's copy in its primitive's layout under it, so a layer run two or three times per step with
 * the same weights reorders them once. A tfjs tensor's data is not written after it is made: new
 * values make a new dataId (Variable.assign, the fused Adam, checkpoint restores). tfjs does not
 * forbid it (`tf.tensor(array)` keeps the array, `dataSync()` returns it on the CPU backend), and
 * nothing here writes a filter's values in place; the addon also checks the data's address. Worker
 * threads number their own (threadId above 2^32; exact in a double up to 2^21 threads).
 */
function weightToken(t: TensorInfo): number {
  let k = tokens.get(t.dataId);
  if (k === undefined) {
    k = threadId * 2 ** 32 + ++lastToken;
    tokens.set(t.dataId, k);
  }
  return k;
}

/** tfjs's convolution geometry for the kernel attributes, or null for layouts the addon does not take. */
function convInfo(
  { tf }: NativeContext,
  xShape: readonly number[],
  fShape: readonly number[],
  a: Record<string, unknown>,
) {
  const ci = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    fShape as [number, number, number, number],
    a.strides as number,
    (a.dilations as number) ?? 1,
    a.pad as 'same',
    a.dimRoundingMode as 'floor' | undefined,
    false,
    tf.backend_util.convertConv2DDataFormat((a.dataFormat as 'NHWC') ?? 'NHWC'),
  );
  return ci.dataFormat === 'channelsLast' ? ci : null;
}

function conv2d(
  ctx: NativeContext,
  b: CpuBackend,
  x: TensorInfo,
  filter: TensorInfo,
  attrs: Record<string, unknown>,
  bias?: Float32Array,
) {
  const ci = convInfo(ctx, x.shape, filter.shape, attrs);
  if (!ci || !f32(x) || !f32(filter)) return null;
  const outShape = [ci.batchSize, ci.outHeight, ci.outWidth, ci.outChannels];
  const out = outputArray(b, size(outShape));
  ctx.addon.conv(
    0,
    vals(b, x),
    [...x.shape],
    vals(b, filter),
    [...filter.shape],
    out,
    outShape,
    convParams(ci),
    weightToken(filter),
    bias,
  );
  return b.makeTensorInfo(outShape, 'float32', out);
}

/** tfjs's Conv2D (NHWC, HWIO filters) on oneDNN. */
export const conv2D: NativeKernel = (ctx, { inputs, backend, attrs }) =>
  conv2d(
    ctx,
    backend as CpuBackend,
    inputs.x as TensorInfo,
    inputs.filter as TensorInfo,
    attrs as Record<string, unknown>,
  );

/** tfjs's FusedConv2D: the convolution on oneDNN, then bias and activation. */
export const fusedConv2D: NativeKernel = (ctx, { inputs, backend, attrs }) => {
  const b = backend as CpuBackend;
  const bias = inputs.bias as TensorInfo | undefined;
  const filter = inputs.filter as TensorInfo;
  // a bias of one value per output channel is added by the convolution itself (oneDNN's bias
  // operand); any other broadcast by the element-wise Add
  const inConv =
    ctx.addon.convBias === true &&
    bias !== undefined &&
    f32(bias) &&
    size(bias.shape) === filter.shape[3] &&
    bias.shape.length === 1;
  const y = conv2d(
    ctx,
    b,
    inputs.x as TensorInfo,
    filter,
    attrs as Record<string, unknown>,
    inConv ? vals(b, bias) : undefined,
  );
  if (!y) return null;
  return epilogue(
    ctx,
    b,
    y,
    attrs as Record<string, unknown>,
    inConv ? undefined : bias,
    inputs.preluActivationWeights as TensorInfo | undefined,
  );
};

/** tfjs's Conv2DBackpropInput: the gradient of a convolution with respect to its input. */
export const conv2DBackpropInput: NativeKernel = (ctx, { inputs, backend, attrs }) => {
  const b = backend as CpuBackend;
  const a = attrs as Record<string, unknown>;
  const dy = inputs.dy as TensorInfo;
  const filter = inputs.filter as TensorInfo;
  const inShape = a.inputShape as [number, number, number, number];
  // tfjs's backprop kernels have no dilation attribute: their convolution is undilated
  const ci = convInfo(ctx, inShape, filter.shape, { ...a, dilations: 1 });
  if (!ci || !f32(dy) || !f32(filter)) return null;
  const dx = outputArray(b, size(inShape));
  ctx.addon.conv(
    1,
    dx,
    [...inShape],
    vals(b, filter),
    [...filter.shape],
    vals(b, dy),
    [...dy.shape],
    convParams(ci),
    weightToken(filter),
  );
  return b.makeTensorInfo([...inShape], 'float32', dx);
};

/** tfjs's Conv2DBackpropFilter: the gradient of a convolution with respect to its filter. */
export const conv2DBackpropFilter: NativeKernel = (ctx, { inputs, backend, attrs }) => {
  const b = backend as CpuBackend;
  const a = attrs as Record<string, unknown>;
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const fShape = a.filterShape as [number, number, number, number];
  const ci = convInfo(ctx, x.shape, fShape, { ...a, dilations: 1 });
  if (!ci || !f32(x) || !f32(dy)) return null;
  const dw = outputArray(b, size(fShape));
  ctx.addon.conv(2, vals(b, x), [...x.shape], dw, [...fShape], vals(b, dy), [...dy.shape], convParams(ci));
  return b.makeTensorInfo([...fShape], 'float32', dw);
};
