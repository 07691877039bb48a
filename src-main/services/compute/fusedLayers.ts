import type * as TfModule from '@tensorflow/tfjs';
import { stackedWidth } from './native/fused';

type Tf = typeof TfModule;
type Tensor = TfModule.Tensor;
type Layer = TfModule.layers.Layer;
type BatchNormArgs = NonNullable<Parameters<Tf['layers']['batchNormalization']>[0]>;

/** The fused kernels' names (registered by cpuNative.ts on `cpu-native`). */
export const FUSED = {
  batchNormTrain: 'FieldcalBatchNormTrain',
  batchNormGrad: 'FieldcalBatchNormGrad',
  leakyReluGrad: 'FieldcalLeakyReluGrad',
  lstm: 'FieldcalLstm',
  lstmGrad: 'FieldcalLstmGrad',
  lstmInfer: 'FieldcalLstmInfer',
  lstmGradRecompute: 'FieldcalLstmGradRecompute',
} as const;

const hasKernel = (tf: Tf, name: string) => tf.getKernel(name, tf.getBackend()) !== undefined;

/**
 * Gradients of the fused kernels, and a LeakyReLU gradient that runs as one fused kernel where the
 * active backend has it (tfjs's own is greater + where + mul: three passes and a bool tensor) and
 * as tfjs's own elsewhere. Global, as tfjs's gradient registry; registered once.
 */
export function registerFusedGradients(tf: Tf): void {
  if (tf.getGradient(FUSED.batchNormTrain)) return;
  tf.registerGradient({
    kernelName: FUSED.batchNormTrain,
    inputsToSave: ['x', 'gamma'],
    outputsToSave: [false, true, true],
    gradFunc: (dys, saved, attrs) => {
      const dy = (dys as Tensor[])[0]!;
      const [x, gamma, mean, variance] = saved as Tensor[];
      // one backward pass gives all three gradients; computed here, not lazily in the closures,
      // since tfjs runs each closure in its own tidy
      const [dx, dgamma, dbeta] = tf
        .engine()
        .runKernel(
          FUSED.batchNormGrad,
          { x: x!, dy, gamma: gamma!, mean: mean!, variance: variance! },
          attrs as unknown as TfModule.NamedAttrMap,
        ) as Tensor[];
      return { x: () => dx!, gamma: () => dgamma!, beta: () => dbeta! };
    },
  });
  tf.registerGradient({
    kernelName: 'FusedConv2D',
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter] = saved as Tensor[];
      const a = attrs as unknown as {
        strides: number | [number, number];
        pad: 'same' | 'valid' | number;
        dimRoundingMode?: 'floor' | 'round' | 'ceil';
        activation?: string;
      };
      // only conv2d() below runs this kernel directly, with a linear activation and a 1-D bias
      if ((a.activation ?? 'linear') !== 'linear') throw new Error('FusedConv2D gradient: linear only');
      const g = dy as Tensor;
      const conv = { strides: a.strides, pad: a.pad, dataFormat: 'NHWC', dimRoundingMode: a.dimRoundingMode };
      // each gradient as tfjs's fused conv2d computes it (conv2DBackpropInput / Filter, the bias's
      // sum over batch and space), but lazily: tfjs's own computes the input's gradient always
      return {
        x: () =>
          tf.engine().runKernel('Conv2DBackpropInput', { dy: g, filter: filter! }, {
            ...conv,
            inputShape: x!.shape,
          } as unknown as TfModule.NamedAttrMap) as Tensor,
        filter: () =>
          tf.engine().runKernel('Conv2DBackpropFilter', { x: x!, dy: g }, {
            ...conv,
            filterShape: filter!.shape,
          } as unknown as TfModule.NamedAttrMap) as Tensor,
        bias: () => tf.sum(g, [0, 1, 2]),
      };
    },
  });
  const leaky = tf.getGradient('LeakyRelu');
  tf.registerGradient({
    ...leaky,
    gradFunc: (dy, saved, attrs) => {
      if (!hasKernel(tf, FUSED.leakyReluGrad)) return leaky.gradFunc(dy, saved, attrs);
      const [x] = saved as Tensor[];
      return {
        x: () =>
          tf
            .engine()
            .runKernel(
              FUSED.leakyReluGrad,
              { x: x!, dy: dy as Tensor },
              attrs as unknown as TfModule.NamedAttrMap,
            ) as Tensor,
      };
    },
  });
}

interface BatchNormFields {
  axis: number;
  epsilon: number;
  momentum: number;
  center: boolean;
  scale: boolean;
  gamma: TfModule.LayerVariable;
  beta: TfModule.LayerVariable;
  movingMean: TfModule.LayerVariable;
  movingVariance: TfModule.LayerVariable;
}

type LayerClass = new (config: BatchNormArgs) => Layer;
const classes = new WeakMap<Tf, Map<string, unknown>>();
/** One subclass per tf instance and layer (made on first use: it derives from the instance's own class). */
function classFor<C>(tf: Tf, layer: string, make: () => C): C {
  let m = classes.get(tf);
  if (!m) classes.set(tf, (m = new Map()));
  if (!m.has(layer)) m.set(layer, make());
  return m.get(layer) as C;
}

function fusedBatchNormClass(tf: Tf): LayerClass {
  const Base = tf.layers.batchNormalization({}).constructor as LayerClass;
  /**
   * tfjs's BatchNormalization (same weights, config and class name, so saved models load as the
   * standard layer) whose training pass over the channels axis is one fused kernel with its own
   * one-pass gradient, where the active backend has it; tfjs's composite (moments, batchNorm, and
   * their gradients: ~30 kernels) otherwise.
   */
  class FusedBatchNormalization extends Base {
    static className = 'BatchNormalization';

    override call(inputs: Tensor | Tensor[], kwargs: TfModule.serialization.ConfigDict): Tensor | Tensor[] {
      const me = this as unknown as BatchNormFields;
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const axis = me.axis < 0 ? me.axis + x.rank : me.axis;
      const fused =
        kwargs.training === true &&
        axis === x.rank - 1 &&
        me.center &&
        me.scale &&
        x.dtype === 'float32' &&
        hasKernel(tf, FUSED.batchNormTrain);
      if (!fused) return super.call(inputs, kwargs);
      return tf.tidy(() => {
        const [y, mean, variance] = tf
          .engine()
          .runKernel(
            FUSED.batchNormTrain,
            { x, gamma: me.gamma.read(), beta: me.beta.read() },
            { epsilon: me.epsilon },
          ) as Tensor[];
        // moving statistics exactly as tfjs's layer: v <- v - (v - value) (1 - momentum)
        for (const [v, value] of [
          [me.movingMean, mean!],
          [me.movingVariance, variance!],
        ] as const)
          tf.tidy(() => {
            const orig = v.read();
            v.write(tf.sub(orig, tf.mul(tf.sub(orig, value), 1 - me.momentum)) as TfModule.Variable);
          });
        return y!;
      });
    }
  }
  return FusedBatchNormalization;
}

/** `tf.layers.batchNormalization` whose training pass is fused on backends that have the kernels. */
export function batchNormalization(tf: Tf, config: BatchNormArgs): Layer {
  return new (classFor(tf, 'BatchNormalization', () => fusedBatchNormClass(tf)))(config);
}

interface ConvFields {
  rank: number;
  kernel: TfModule.LayerVariable;
  bias: TfModule.LayerVariable | null;
  useBias: boolean;
  strides: number[];
  padding: 'same' | 'valid';
  dataFormat: string;
  dilationRate: number[];
  activation: { getClassName(): string; apply(x: Tensor): Tensor };
}

type ConvArgs = Parameters<Tf['layers']['conv2d']>[0];
/** Layer activations (tfjs-layers class names) that FusedConv2D applies itself under the same kernel names. */
const FOLDABLE = new Set(['relu', 'relu6', 'elu', 'sigmoid']);
type ConvClass = new (config: ConvArgs) => Layer;
function lazyGradConvClass(tf: Tf): ConvClass {
  const Base = tf.layers.conv2d({ filters: 1, kernelSize: 1 }).constructor as ConvClass;
  /**
   * tfjs's Conv2D layer (same weights, config and class name) whose convolution and bias run as
   * one FusedConv2D kernel with the gradient registered above, each input's gradient computed only
   * when asked for. tfjs's own fused conv2d is a custom gradient that computes all three, so a
   * network's first layer (whose input is data) paid a backward-data convolution at every step:
   * in the GAN-PO step, the discriminator's first layer twice per step (2.1 ms of 94 on one thread).
   */
  class LazyGradConv2D extends Base {
    static className = 'Conv2D';

    override call(inputs: Tensor | Tensor[], kwargs: TfModule.serialization.ConfigDict): Tensor | Tensor[] {
      const me = this as unknown as ConvFields;
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const direct =
        (!Array.isArray(inputs) || inputs.length === 1) &&
        me.rank === 2 &&
        me.useBias &&
        me.bias !== null &&
        me.dataFormat === 'channelsLast' &&
        me.dilationRate.every((d) => d === 1) &&
        x.rank === 4 &&
        x.dtype === 'float32' &&
        tf.getGradient('FusedConv2D') !== undefined;
      if (!direct) return super.call(inputs, kwargs);
      const act = me.activation.getClassName();
      // outside a gradient the activation runs in the kernel, as tfjs's own layer does (the gradient
      // registered above is for the linear kernel)
      const folded =
        FOLDABLE.has(act) &&
        (tf.engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth === 0;
      return tf.tidy(() => {
        const y = tf
          .engine()
          .runKernel('FusedConv2D', { x, filter: me.kernel.read(), bias: me.bias!.read() }, {
            strides: me.strides,
            pad: me.padding,
            dataFormat: 'NHWC',
            dilations: [1, 1],
            activation: folded ? act : 'linear',
          } as unknown as TfModule.NamedAttrMap) as Tensor;
        return act === 'linear' || folded ? y : me.activation.apply(y);
      });
    }
  }
  return LazyGradConv2D;
}

/** `tf.layers.conv2d` whose gradients are each computed only where needed (see lazyGradConvClass). */
export function conv2d(tf: Tf, config: ConvArgs): Layer {
  return new (classFor(tf, 'Conv2D', () => lazyGradConvClass(tf)))(config);
}

interface LstmFields {
  stateful: boolean;
  goBackwards: boolean;
  returnState: boolean;
  returnSequences: boolean;
  cell: {
    units: number;
    useBias: boolean;
    dropout: number;
    recurrentDropout: number;
    activation: { getClassName(): string };
    recurrentActivation: { getClassName(): string };
    kernel: TfModule.LayerVariable;
    recurrentKernel: TfModule.LayerVariable;
    bias: TfModule.LayerVariable;
  };
}

/** An LSTM op on the layer's input and its three weights. */
type LstmOp = (x: Tensor, kernel: Tensor, recurrentKernel: Tensor, bias: Tensor) => Tensor;

/** `tf.customGrad` over an LSTM op's four inputs (tfjs types it without a fixed arity). */
function lstmCustomGrad(
  tf: Tf,
  f: (
    x: Tensor,
    kernel: Tensor,
    recurrentKernel: Tensor,
    bias: Tensor,
    save: TfModule.GradSaveFunc,
  ) => { value: Tensor; gradFunc: (dy: Tensor, saved: Tensor[]) => Tensor[] },
): LstmOp {
  return tf.customGrad(f as unknown as Parameters<Tf['customGrad']>[0]) as unknown as LstmOp;
}

/**
 * The fused LSTM as one differentiable op: FieldcalLstm forward, FieldcalLstmGrad backward, the
 * kernel's auxiliary outputs (each step's operand, cell states and gates: 40 MB at the surrogate's
 * batch 400 x 30 days x 128) kept as the gradient's saved tensors. A custom gradient rather than a
 * gradient registered for the kernel: tfjs back-propagates a kernel's outputs that have no gradient
 * as zero tensors of their full size (Engine.addTapeNode), 40 MB of zeros allocated at every step.
 * Where no gradient is being recorded (a prediction) and the backend has it, FieldcalLstmInfer runs
 * instead and keeps nothing. `weightGrads` false: the weights' gradients are zeros (the caller
 * differentiates with respect to x only, as GAN-PO and dPL through a surrogate), which saves the
 * backward pass's product for them. Where the kept states would exceed `lstmMemory.keepBytes` and the
 * backend has it, the forward keeps nothing (FieldcalLstmInfer) and the backward recomputes it in
 * chunks (FieldcalLstmGradRecompute): a second forward pass instead of fresh memory whose first-touch
 * page faults cost more than the arithmetic (GAN-PO's 13,000 sequences through the LSTM surrogate:
 * 1.4 GB per step; measured 5.6 s a step kept, 1.2 s with the kept arrays recycled).
 */
function fusedLstmOp(tf: Tf, returnSequences: boolean, weightGrads: boolean): LstmOp {
  const attrs = { returnSequences, weightGrads: weightGrads ? 1 : 0 } as unknown as TfModule.NamedAttrMap;
  const taped = lstmCustomGrad(tf, (x, kernel, recurrentKernel, bias, save) => {
    const [y, states, cs, gates] = tf
      .engine()
      .runKernel(FUSED.lstm, { x, kernel, recurrentKernel, bias }, attrs) as Tensor[];
    save([x, kernel, recurrentKernel, states!, cs!, gates!]);
    return {
      value: y!,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [sx, sk, srk, st, scs, sg] = saved;
        return tf
          .engine()
          .runKernel(
            FUSED.lstmGrad,
            { x: sx!, kernel: sk!, recurrentKernel: srk!, states: st!, cs: scs!, gates: sg!, dy },
            attrs,
          ) as Tensor[];
      },
    };
  });
  const infer: LstmOp = (x, kernel, recurrentKernel, bias) => {
    // one output: a tensor from the addon's kernel, a list of one from the JavaScript one
    const y = tf.engine().runKernel(FUSED.lstmInfer, { x, kernel, recurrentKernel, bias }, attrs);
    return Array.isArray(y) ? y[0]! : (y as Tensor);
  };
  const recomputed = lstmCustomGrad(tf, (x, kernel, recurrentKernel, bias, save) => {
    save([x, kernel, recurrentKernel, bias]);
    const [B, T, I] = x.shape as [number, number, number];
    const H = recurrentKernel.shape[0]!;
    // the addon's scratch per sequence: operands, cell states, gates, their gradients
    const perSequence = T * (stackedWidth(I, H) + 10 * H) * 4;
    const chunk = Math.max(1, Math.min(B, Math.floor(lstmMemory.chunkBytes / perSequence)));
    return {
      value: infer(x, kernel, recurrentKernel, bias),
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [sx, sk, srk, sb] = saved;
        return tf
          .engine()
          .runKernel(FUSED.lstmGradRecompute, { x: sx!, kernel: sk!, recurrentKernel: srk!, bias: sb!, dy }, {
            ...attrs,
            chunk,
          } as unknown as TfModule.NamedAttrMap) as Tensor[];
      },
    };
  });
  return (x, kernel, recurrentKernel, bias) => {
    const [B, T, I] = x.shape as [number, number, number];
    const H = recurrentKernel.shape[0]!;
    if (!hasKernel(tf, FUSED.lstmInfer)) return taped(x, kernel, recurrentKernel, bias);
    if (!tf.engine().isTapeOn()) return infer(x, kernel, recurrentKernel, bias);
    const kept = B * T * (stackedWidth(I, H) + 6 * H) * 4;
    return kept > lstmMemory.keepBytes && hasKernel(tf, FUSED.lstmGradRecompute)
      ? recomputed(x, kernel, recurrentKernel, bias)
      : taped(x, kernel, recurrentKernel, bias);
  };
}

/**
 * The fused LSTM's memory rule: a recorded forward whose kept states would exceed `keepBytes` keeps
 * nothing and its gradient recomputes the forward in chunks of about `chunkBytes` of scratch.
 * Module-wide; tests lower it to reach the recomputing path at small sizes.
 */
export const lstmMemory = { keepBytes: 128 * 2 ** 20, chunkBytes: 64 * 2 ** 20 };

type LstmArgs = Parameters<Tf['layers']['lstm']>[0];
type LstmClass = new (config: LstmArgs) => Layer;
function fusedLstmClass(tf: Tf): LstmClass {
  const Base = tf.layers.lstm({ units: 1 }).constructor as LstmClass;
  /**
   * tfjs's LSTM layer (same weights, config and class name) whose whole sequence runs as one fused
   * kernel, with back-propagation through time as one more, where the active backend has them and
   * the layer is the plain case: sigmoid gates and tanh, bias, no dropout, masks, initial or returned
   * states, not stateful or backwards. tfjs's step-by-step RNN (~140 kernels per step) otherwise.
   */
  class FusedLstm extends Base {
    static className = 'LSTM';

    override call(inputs: Tensor | Tensor[], kwargs: TfModule.serialization.ConfigDict): Tensor | Tensor[] {
      const me = this as unknown as LstmFields;
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const c = me.cell;
      const fused =
        (!Array.isArray(inputs) || inputs.length === 1) &&
        !kwargs.mask &&
        !kwargs.initialState &&
        !me.stateful &&
        !me.goBackwards &&
        !me.returnState &&
        c.useBias &&
        !c.dropout &&
        !c.recurrentDropout &&
        c.activation.getClassName() === 'tanh' &&
        c.recurrentActivation.getClassName() === 'sigmoid' &&
        x.rank === 3 &&
        x.dtype === 'float32' &&
        hasKernel(tf, FUSED.lstm);
      if (!fused) return super.call(inputs, kwargs);
      // kwargs.weightGrads false (a caller's model.apply option): dx alone is differentiated
      const op = fusedLstmOp(tf, me.returnSequences, kwargs.weightGrads !== false);
      return tf.tidy(() => op(x, c.kernel.read(), c.recurrentKernel.read(), c.bias.read()));
    }
  }
  return FusedLstm;
}

/** `tf.layers.lstm` whose sequence runs as one fused kernel on backends that have it. */
export function lstm(tf: Tf, config: LstmArgs): Layer {
  return new (classFor(tf, 'LSTM', () => fusedLstmClass(tf)))(config);
}

/**
 * One fused LSTM layer and a dense head, the networks of the surrogate, KGSSL and the bucket nexus:
 * the LSTM initialised as PyTorch's nn.LSTM, U(-1/√H, 1/√H), the head Glorot-uniform, each seeded
 * (`seed · 16 + i`) so a run is reproducible. `steps` null takes sequences of any length.
 */
export function lstmWithHead(
  tf: Tf,
  o: {
    steps: number | null;
    features: number;
    hidden: number;
    out: number;
    returnSequences?: boolean;
    activation?: 'linear' | 'sigmoid';
  },
  seed: number,
): TfModule.Sequential {
  const m = tf.sequential();
  const k = 1 / Math.sqrt(o.hidden);
  const init = (i: number) => tf.initializers.randomUniform({ minval: -k, maxval: k, seed: seed * 16 + i });
  m.add(
    lstm(tf, {
      units: o.hidden,
      inputShape: [o.steps, o.features],
      returnSequences: o.returnSequences ?? false,
      recurrentActivation: 'sigmoid',
      kernelInitializer: init(0),
      recurrentInitializer: init(1),
      biasInitializer: init(2),
    }),
  );
  m.add(
    tf.layers.dense({
      units: o.out,
      activation: o.activation ?? 'linear',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 16 + 3 }),
    }),
  );
  return m;
}
