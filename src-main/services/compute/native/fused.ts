// Kernels with no tfjs counterpart, used by compute/fusedLayers.ts where the active backend has them:
// batch normalisation in training mode as one forward and one backward pass (FieldcalBatchNormTrain,
// FieldcalBatchNormGrad), the LeakyReLU gradient as one pass (FieldcalLeakyReluGrad), and a whole LSTM
// layer over a sequence with its back-propagation through time (FieldcalLstm, FieldcalLstmGrad).
import { outputArray } from '../bufferPool';
import { vals, type CpuBackend, type NativeContext, type NativeKernel, type TensorInfo } from './context';

/** A fused kernel over the backend, its named inputs and its numeric attributes. */
const fused =
  (
    fn: (
      ctx: NativeContext,
      b: CpuBackend,
      inputs: Record<string, TensorInfo>,
      attrs: Record<string, number>,
    ) => TensorInfo | TensorInfo[],
  ): NativeKernel =>
  (ctx, { inputs, backend, attrs }) =>
    fn(ctx, backend as CpuBackend, inputs as Record<string, TensorInfo>, attrs as Record<string, number>);

/** FieldcalBatchNormTrain: y, batch mean and (biased) batch variance of channels-last x. */
export const batchNormTrain = fused(({ addon }, b, { x, gamma, beta }, { epsilon }) => {
  const c = x!.shape[x!.shape.length - 1]!;
  const y = outputArray(b, vals(b, x!).length);
  const mean = outputArray(b, c);
  const variance = outputArray(b, c);
  addon.batchNormTrain(vals(b, x!), c, vals(b, gamma!), vals(b, beta!), epsilon!, y, mean, variance);
  return [
    b.makeTensorInfo([...x!.shape], 'float32', y),
    b.makeTensorInfo([c], 'float32', mean),
    b.makeTensorInfo([c], 'float32', variance),
  ];
});

/** FieldcalBatchNormGrad: dx, dgamma and dbeta of FieldcalBatchNormTrain, through the batch statistics. */
export const batchNormGrad = fused(({ addon }, b, { x, dy, gamma, mean, variance }, { epsilon }) => {
  const c = x!.shape[x!.shape.length - 1]!;
  const dx = outputArray(b, vals(b, x!).length);
  const dgamma = outputArray(b, c);
  const dbeta = outputArray(b, c);
  addon.batchNormGrad(
    vals(b, x!),
    vals(b, dy!),
    c,
    vals(b, gamma!),
    vals(b, mean!),
    vals(b, variance!),
    epsilon!,
    dx,
    dgamma,
    dbeta,
  );
  return [
    b.makeTensorInfo([...x!.shape], 'float32', dx),
    b.makeTensorInfo([c], 'float32', dgamma),
    b.makeTensorInfo([c], 'float32', dbeta),
  ];
});

/** FieldcalLeakyReluGrad: the LeakyReLU gradient as one pass. */
export const leakyReluGrad = fused(({ addon }, b, { x, dy }, { alpha }) => {
  const dx = outputArray(b, vals(b, x!).length);
  addon.leakyRelu(vals(b, x!), vals(b, dy!), alpha!, dx);
  return b.makeTensorInfo([...x!.shape], 'float32', dx);
});

/** [B, T, I, H] of an LSTM kernel's input x [B, T, I] and recurrent kernel [H, 4H] (the JavaScript kernels' too). */
export const lstmDims = (x: TensorInfo, recurrentKernel: TensorInfo) =>
  [x.shape[0]!, x.shape[1]!, x.shape[2]!, recurrentKernel.shape[0]!] as [number, number, number, number];

/** The width of one step's operand row [h | x | 1] that lstm.cc keeps, padded to 16 floats (its stackedWidth). */
export const stackedWidth = (I: number, H: number) => Math.ceil((H + I + 1) / 16) * 16;

/**
 * FieldcalLstm: the layer's output, and what its gradient needs, step-major: each step's operand
 * [h(t-1) | x(t) | 1] ([T, B, K]), the cell states [T, B, H] and the gates i, f, g, o, tanh(c) [T, B, 5H].
 */
export const lstm = fused(({ addon }, b, { x, kernel: w, recurrentKernel: u, bias }, { returnSequences }) => {
  const [B, T, I, H] = lstmDims(x!, u!);
  const K = stackedWidth(I, H);
  const states = outputArray(b, T * B * K);
  const cs = outputArray(b, T * B * H);
  const gates = outputArray(b, T * B * 5 * H);
  const y = outputArray(b, returnSequences ? B * T * H : B * H);
  addon.lstmForward(
    vals(b, x!),
    [B, T, I, H, returnSequences ? 1 : 0],
    vals(b, w!),
    vals(b, u!),
    vals(b, bias!),
    states,
    cs,
    gates,
    y,
  );
  return [
    b.makeTensorInfo(returnSequences ? [B, T, H] : [B, H], 'float32', y),
    b.makeTensorInfo([T, B, K], 'float32', states),
    b.makeTensorInfo([T, B, H], 'float32', cs),
    b.makeTensorInfo([T, B, 5 * H], 'float32', gates),
  ];
});

/**
 * FieldcalLstmInfer: FieldcalLstm's output alone, nothing kept for a gradient (a prediction): the
 * same arithmetic without the step-major states, cell states and gates (1 GB at 13,000 sequences x
 * 30 days x 128 units, each a fresh allocation), which cost more than the products themselves.
 */
export const lstmInfer = fused(
  ({ addon }, b, { x, kernel: w, recurrentKernel: u, bias }, { returnSequences }) => {
    const [B, T, I, H] = lstmDims(x!, u!);
    const y = outputArray(b, returnSequences ? B * T * H : B * H);
    addon.lstmInfer(
      vals(b, x!),
      [B, T, I, H, returnSequences ? 1 : 0],
      vals(b, w!),
      vals(b, u!),
      vals(b, bias!),
      y,
    );
    return b.makeTensorInfo(returnSequences ? [B, T, H] : [B, H], 'float32', y);
  },
);

/**
 * The four gradients of an LSTM kernel (dx [B, T, I], dKernel [I, 4H], dRecurrentKernel [H, 4H],
 * dBias [4H]) as output arrays that `run` fills, then as the kernel's outputs.
 */
function lstmGradients(
  b: CpuBackend,
  [B, T, I, H]: [number, number, number, number],
  run: (dx: Float32Array, dw: Float32Array, du: Float32Array, db: Float32Array) => void,
): TensorInfo[] {
  const shapes = [[B, T, I], [I, 4 * H], [H, 4 * H], [4 * H]];
  const out = shapes.map((shape) =>
    outputArray(
      b,
      shape.reduce((n, d) => n * d, 1),
    ),
  );
  run(out[0]!, out[1]!, out[2]!, out[3]!);
  return shapes.map((shape, k) => b.makeTensorInfo(shape, 'float32', out[k]!));
}

/**
 * FieldcalLstmGrad: dx, dKernel, dRecurrentKernel and dBias of FieldcalLstm, through time; with
 * `weightGrads` 0 the weights' gradients are zeros (only dx is wanted) and their product is skipped.
 */
export const lstmGrad = fused(
  (
    { addon },
    b,
    { x, kernel: w, recurrentKernel: u, states, cs, gates, dy },
    { returnSequences, weightGrads },
  ) => {
    const dims = lstmDims(x!, u!);
    return lstmGradients(b, dims, (dx, dw, du, db) =>
      addon.lstmBackward(
        [...dims, returnSequences ? 1 : 0, weightGrads === 0 ? 0 : 1],
        vals(b, w!),
        vals(b, u!),
        vals(b, states!),
        vals(b, cs!),
        vals(b, gates!),
        vals(b, dy!),
        dx,
        dw,
        du,
        db,
      ),
    );
  },
);

/**
 * FieldcalLstmGradRecompute: FieldcalLstmGrad's gradients from the forward's inputs alone, the
 * forward recomputed `chunk` sequences at a time in the addon's scratch (fusedLayers.ts uses it
 * where FieldcalLstm's kept states would be large).
 */
export const lstmGradRecompute = fused(
  ({ addon }, b, { x, kernel: w, recurrentKernel: u, bias, dy }, { returnSequences, weightGrads, chunk }) => {
    const dims = lstmDims(x!, u!);
    return lstmGradients(b, dims, (dx, dw, du, db) =>
      addon.lstmGradRecompute(
        vals(b, x!),
        [...dims, returnSequences ? 1 : 0, weightGrads === 0 ? 0 : 1, chunk!],
        vals(b, w!),
        vals(b, u!),
        vals(b, bias!),
        vals(b, dy!),
        dx,
        dw,
        du,
        db,
      ),
    );
  },
);
