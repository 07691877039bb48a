import type * as TfModule from '@tensorflow/tfjs';
import type { NativeAddon } from './addon';

export type Tf = typeof TfModule;
export type TensorInfo = TfModule.TensorInfo;
export type KernelFunc = TfModule.KernelFunc;
/** What tfjs passes a kernel: its inputs, backend and attributes. */
export type KernelArgs = Parameters<KernelFunc>[0];

/** tfjs's CPU backend, as the native kernels use it. */
export type CpuBackend = TfModule.KernelBackend & {
  data: { get(id: object): { values: TfModule.TypedArray } };
  makeTensorInfo(shape: number[], dtype: string, values: Float32Array): TensorInfo;
  disposeIntermediateTensorInfo(t: TensorInfo): void;
};

/** What every native kernel runs with: tfjs, the addon, and tfjs's own JavaScript kernels. */
export interface NativeContext {
  tf: Tf;
  addon: NativeAddon;
  /** tfjs's JavaScript kernel `name` (on `cpu`). */
  js(name: string): KernelFunc;
}

/**
 * A kernel of `cpu-native`: its outputs, or null for a case it does not take (tfjs's JavaScript
 * kernel then runs with the same arguments).
 */
export type NativeKernel = (ctx: NativeContext, args: KernelArgs) => TensorInfo | TensorInfo[] | null;

/** The Float32Array a tensor's data is stored in on the CPU backend. */
export const vals = (b: CpuBackend, t: TensorInfo) => b.data.get(t.dataId).values as Float32Array;

/** The number of elements of a shape. */
export const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Whether a tensor is float32 (the only dtype the addon takes). */
export const f32 = (t: TensorInfo) => t.dtype === 'float32';

/** Bias and activation of the fused kernels, by the JavaScript kernels (cheap element-wise work). */
export function epilogue(
  { tf, js }: NativeContext,
  b: CpuBackend,
  y: TensorInfo,
  attrs: Record<string, unknown>,
  bias?: TensorInfo,
  prelu?: TensorInfo,
): TensorInfo {
  let r = y;
  const step = (next: TensorInfo) => {
    if (next !== r) b.disposeIntermediateTensorInfo(r);
    r = next;
  };
  if (bias)
    step(
      tf
        .getKernel('Add', 'cpu-native')!
        .kernelFunc({ inputs: { a: r, b: bias }, backend: b, attrs: {} }) as TensorInfo,
    );
  const act = attrs.activation as string | undefined;
  if (act && act !== 'linear') {
    const kernel = {
      relu: 'Relu',
      relu6: 'Relu6',
      elu: 'Elu',
      sigmoid: 'Sigmoid',
      leakyrelu: 'LeakyRelu',
      prelu: 'Prelu',
    }[act];
    if (!kernel) throw new Error(`activation ${act} is not supported`);
    const inputs = kernel === 'Prelu' ? { x: r, alpha: prelu! } : { x: r };
    step(
      js(kernel)({
        inputs,
        backend: b,
        attrs: { alpha: (attrs.leakyreluAlpha as number | undefined) ?? 0.2 },
      }) as TensorInfo,
    );
  }
  return r;
}
