import type * as TfModule from '@tensorflow/tfjs';

type Tf = typeof TfModule;
type Tensor = TfModule.Tensor;
type Layer = TfModule.layers.Layer;
type BatchNormArgs = NonNullable<Parameters<Tf['layers']['batchNormalization']>[0]>;

/** The fused kernels' names (registered by cpuNative.ts on `cpu-native`). */
export const FUSED = {
  batchNormTrain: 'FieldcalBatchNormTrain',
  batchNormGrad: 'FieldcalBatchNormGrad',
  leakyReluGrad: 'FieldcalLeakyReluGrad',
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
const classes = new WeakMap<Tf, LayerClass>();

function fusedBatchNormClass(tf: Tf): LayerClass {
  const known = classes.get(tf);
  if (known) return known;
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
  classes.set(tf, FusedBatchNormalization);
  return FusedBatchNormalization;
}

/** `tf.layers.batchNormalization` whose training pass is fused on backends that have the kernels. */
export function batchNormalization(tf: Tf, config: BatchNormArgs): Layer {
  return new (fusedBatchNormClass(tf))(config);
}
