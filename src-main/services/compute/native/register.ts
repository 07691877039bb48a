import type * as TfModule from '@tensorflow/tfjs';
import { FieldcalError } from '../../../../src-shared/ipc';
import { pooledBackendClass } from '../bufferPool';
import { FUSED, registerFusedGradients } from '../fusedLayers';
import type { NativeAddon } from './addon';
import type { KernelFunc, NativeContext, NativeKernel, Tf } from './context';
import { conv2D, conv2DBackpropFilter, conv2DBackpropInput, fusedConv2D } from './convolution';
import { concat, slice, splitV, tile } from './copies';
import { binary, compare, leakyRelu, select } from './elementwise';
import {
  batchNormGrad,
  batchNormTrain,
  leakyReluGrad,
  lstm,
  lstmGrad,
  lstmGradRecompute,
  lstmInfer,
} from './fused';
import { batchMatMul, fusedMatMul } from './matmul';
import { reduce } from './reductions';

interface Entry {
  kernel: NativeKernel;
  /**
   * When tfjs's JavaScript kernel runs instead: 'refused' where the native kernel returns null or
   * the addon refuses the case (a FIELDCAL_NATIVE* error), 'null' only where it returns null, 'never'
   * for the fused kernels, whose JavaScript kernels (compute/jsLstm.ts) save other tensors for their
   * gradient than the native ones: a forward on one and its gradient on the other would not agree.
   */
  fallback: 'refused' | 'null' | 'never';
}

/** A native attempt; where it returns null or the addon refuses the case, tfjs's JavaScript kernel. */
const tryNative = (kernel: NativeKernel): Entry => ({ kernel, fallback: 'refused' });
/** A native kernel whose errors reach the caller (tfjs's JavaScript kernel only where it returns null). */
const nativeOnly = (kernel: NativeKernel): Entry => ({ kernel, fallback: 'null' });
/** A fused kernel: native always (its errors reach the caller). */
const fusedNative = (kernel: NativeKernel): Entry => ({ kernel, fallback: 'never' });

/**
 * Every kernel `cpu-native` runs natively, once: tfjs's kernels it replaces, then the fused kernels
 * that tfjs does not have. All other kernels are tfjs's CPU kernels, unchanged.
 */
const KERNELS: Record<string, Entry> = {
  // convolution.ts
  Conv2D: tryNative(conv2D),
  FusedConv2D: tryNative(fusedConv2D),
  Conv2DBackpropInput: tryNative(conv2DBackpropInput),
  Conv2DBackpropFilter: tryNative(conv2DBackpropFilter),
  // matmul.ts
  BatchMatMul: tryNative(batchMatMul),
  _FusedMatMul: tryNative(fusedMatMul),
  // elementwise.ts
  Add: tryNative(binary(0)),
  Sub: tryNative(binary(1)),
  Multiply: tryNative(binary(2)),
  RealDiv: tryNative(binary(3)),
  Greater: tryNative(compare(0)),
  GreaterEqual: tryNative(compare(1)),
  Less: tryNative(compare(2)),
  LessEqual: tryNative(compare(3)),
  Select: tryNative(select),
  LeakyRelu: tryNative(leakyRelu),
  // reductions.ts
  Sum: tryNative(reduce(false)),
  Mean: tryNative(reduce(true)),
  // copies.ts
  SplitV: nativeOnly(splitV),
  Concat: tryNative(concat),
  Tile: tryNative(tile),
  Slice: tryNative(slice),
  // fused.ts: no tfjs counterpart (compute/fusedLayers.ts runs them where the backend has them)
  [FUSED.batchNormTrain]: fusedNative(batchNormTrain),
  [FUSED.batchNormGrad]: fusedNative(batchNormGrad),
  [FUSED.leakyReluGrad]: fusedNative(leakyReluGrad),
  [FUSED.lstm]: fusedNative(lstm),
  [FUSED.lstmGrad]: fusedNative(lstmGrad),
  [FUSED.lstmInfer]: fusedNative(lstmInfer),
  [FUSED.lstmGradRecompute]: fusedNative(lstmGradRecompute),
};

/** Bytes of recycled tensor memory the backend keeps: FIELDCAL_POOL_MB, else 512 MB. */
export function poolBytes(env: NodeJS.ProcessEnv = process.env): number {
  const mb = Number(env.FIELDCAL_POOL_MB);
  return (Number.isFinite(mb) && mb >= 0 ? mb : 512) * 2 ** 20;
}

/** What tfjs runs for kernel `name`: the native kernel, else the JavaScript one with the same arguments. */
function kernelFunc(ctx: NativeContext, name: string, { kernel, fallback }: Entry): KernelFunc {
  if (fallback === 'never')
    return (args) => {
      const r = kernel(ctx, args);
      if (!r) throw new FieldcalError('INTERNAL', `native kernel ${name} gave no result`);
      return r;
    };
  if (fallback === 'null') return (args) => kernel(ctx, args) ?? ctx.js(name)(args);
  return (args) => {
    try {
      const r = kernel(ctx, args);
      if (r) return r;
    } catch (err) {
      // the addon refuses a case with a FIELDCAL_NATIVE* code; anything else is a real error
      if (!String((err as { code?: unknown }).code).startsWith('FIELDCAL_NATIVE')) throw err;
    }
    return ctx.js(name)(args);
  };
}

/**
 * Registers the `cpu-native` backend: tfjs's CPU backend (same tensors, same JavaScript kernels)
 * whose convolutions (forward, both backward passes, fused) and matrix products run on oneDNN
 * through the addon, on the backend's own Float32Arrays. Any case the addon refuses (a layout
 * or shape oneDNN does not take) goes back to the JavaScript kernel.
 */
export function registerCpuNative(tf: Tf, addon: NativeAddon, threads: number, priority = 0): void {
  const cpu = tf.findBackend('cpu') as unknown as { constructor: new () => TfModule.KernelBackend };
  const Backend = pooledBackendClass(cpu.constructor, poolBytes());
  tf.registerBackend('cpu-native', () => new Backend(), priority);
  addon.setThreads(threads);
  const ctx: NativeContext = { tf, addon, js: (name) => tf.getKernel(name, 'cpu')!.kernelFunc };
  for (const k of tf.getKernelsForBackend('cpu'))
    if (!Object.hasOwn(KERNELS, k.kernelName)) tf.registerKernel({ ...k, backendName: 'cpu-native' });
  for (const [name, entry] of Object.entries(KERNELS))
    tf.registerKernel({
      kernelName: name,
      backendName: 'cpu-native',
      kernelFunc: kernelFunc(ctx, name, entry),
    });
  registerFusedGradients(tf);
}
