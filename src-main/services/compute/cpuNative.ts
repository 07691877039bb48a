import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as TfModule from '@tensorflow/tfjs';
import { outputArray, pooledBackendClass } from './bufferPool';
import { registerFusedGradients } from './fusedLayers';

type Tf = typeof TfModule;
type TensorInfo = TfModule.TensorInfo;
type KernelFunc = TfModule.KernelFunc;

/** The N-API addon built from native/ (oneDNN kernels). */
export interface NativeAddon {
  conv(
    mode: 0 | 1 | 2,
    x: Float32Array,
    xShape: number[],
    w: Float32Array,
    wShape: number[],
    y: Float32Array,
    yShape: number[],
    params: number[],
  ): void;
  matmul(
    a: Float32Array,
    aShape: number[],
    b: Float32Array,
    bShape: number[],
    transposeA: boolean,
    transposeB: boolean,
    out: Float32Array,
  ): void;
  binary(
    op: 0 | 1 | 2 | 3,
    a: Float32Array,
    aStrides: number[],
    b: Float32Array,
    bStrides: number[],
    out: Float32Array,
    shape: number[],
  ): void;
  reduceSum(x: Float32Array, outer: number, reduce: number, inner: number, out: Float32Array): void;
  batchNormTrain(
    x: Float32Array,
    channels: number,
    gamma: Float32Array,
    beta: Float32Array,
    epsilon: number,
    y: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
  ): void;
  batchNormGrad(
    x: Float32Array,
    dy: Float32Array,
    channels: number,
    gamma: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    epsilon: number,
    dx: Float32Array,
    dgamma: Float32Array,
    dbeta: Float32Array,
  ): void;
  leakyRelu(x: Float32Array, alpha: number, y: Float32Array): void;
  leakyRelu(x: Float32Array, dy: Float32Array, alpha: number, dx: Float32Array): void;
  lstmForward(
    x: Float32Array,
    dims: [number, number, number, number],
    kernel: Float32Array,
    recurrentKernel: Float32Array,
    bias: Float32Array,
    hs: Float32Array,
    cs: Float32Array,
    gates: Float32Array,
  ): void;
  lstmBackward(
    x: Float32Array,
    dims: [number, number, number, number, number],
    kernel: Float32Array,
    recurrentKernel: Float32Array,
    hs: Float32Array,
    cs: Float32Array,
    gates: Float32Array,
    dy: Float32Array,
    dx: Float32Array,
    dKernel: Float32Array,
    dRecurrentKernel: Float32Array,
    dBias: Float32Array,
  ): void;
  copyRows(
    src: Float32Array,
    srcStride: number,
    srcOffset: number,
    dst: Float32Array,
    dstStride: number,
    dstOffset: number,
    rows: number,
    width: number,
  ): void;
  setThreads(n: number): number;
  info(): string;
}

/** Bytes of recycled tensor memory the backend keeps: FIELDCAL_POOL_MB, else 512 MB. */
export function poolBytes(env: NodeJS.ProcessEnv = process.env): number {
  const mb = Number(env.FIELDCAL_POOL_MB);
  return (Number.isFinite(mb) && mb >= 0 ? mb : 512) * 2 ** 20;
}

/** Finds and loads native/build/Release/fieldcal_native.node (or FIELDCAL_NATIVE_ADDON); the reason when it cannot. */
export function loadAddon(): { addon: NativeAddon | null; reason: string | null; path: string | null } {
  const candidates: string[] = [];
  if (process.env.FIELDCAL_NATIVE_ADDON) candidates.push(process.env.FIELDCAL_NATIVE_ADDON);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    candidates.push(join(dir, 'native', 'build', 'Release', 'fieldcal_native.node'));
    dir = dirname(dir);
  }
  const path = candidates.find((p) => existsSync(p));
  if (!path)
    return {
      addon: null,
      reason: 'native addon not built (npm run build:native; needs libdnnl-dev)',
      path: null,
    };
  try {
    return { addon: createRequire(import.meta.url)(path) as NativeAddon, reason: null, path };
  } catch (err) {
    return {
      addon: null,
      reason: `native addon failed to load: ${(err as Error).message.split('\n')[0]}`,
      path,
    };
  }
}

type CpuBackend = TfModule.KernelBackend & {
  data: { get(id: object): { values: TfModule.TypedArray } };
  makeTensorInfo(shape: number[], dtype: string, values: Float32Array): TensorInfo;
  disposeIntermediateTensorInfo(t: TensorInfo): void;
};

const NATIVE_KERNELS = [
  'Conv2D',
  'Conv2DBackpropInput',
  'Conv2DBackpropFilter',
  'FusedConv2D',
  'BatchMatMul',
  '_FusedMatMul',
  'Add',
  'Sub',
  'Multiply',
  'RealDiv',
  'Sum',
  'Mean',
  'SplitV',
  'Tile',
  'Greater',
  'GreaterEqual',
  'Less',
  'LessEqual',
  'Select',
  'LeakyRelu',
  'Concat',
];

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
  const js = (name: string) => tf.getKernel(name, 'cpu')!.kernelFunc;
  for (const k of tf.getKernelsForBackend('cpu'))
    if (!NATIVE_KERNELS.includes(k.kernelName)) tf.registerKernel({ ...k, backendName: 'cpu-native' });
  const vals = (b: CpuBackend, t: TensorInfo) => b.data.get(t.dataId).values as Float32Array;
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const f32 = (t: TensorInfo) => t.dtype === 'float32';
  /** Native attempt, else the JavaScript kernel with the same arguments. */
  const guarded =
    (name: string, native: (args: Parameters<KernelFunc>[0]) => TensorInfo | null): KernelFunc =>
    (args) => {
      try {
        const r = native(args);
        if (r) return r;
      } catch (err) {
        // the addon refuses a case with a FIELDCAL_NATIVE* code; anything else is a real error
        if (!String((err as { code?: unknown }).code).startsWith('FIELDCAL_NATIVE')) throw err;
      }
      return js(name)(args);
    };
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
  /** tfjs's convolution geometry for the kernel attributes, or null for layouts the addon does not take. */
  const convInfo = (xShape: readonly number[], fShape: readonly number[], a: Record<string, unknown>) => {
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
  };
  const conv2d = (b: CpuBackend, x: TensorInfo, filter: TensorInfo, attrs: Record<string, unknown>) => {
    const ci = convInfo(x.shape, filter.shape, attrs);
    if (!ci || !f32(x) || !f32(filter)) return null;
    const outShape = [ci.batchSize, ci.outHeight, ci.outWidth, ci.outChannels];
    const out = outputArray(b, size(outShape));
    addon.conv(
      0,
      vals(b, x),
      [...x.shape],
      vals(b, filter),
      [...filter.shape],
      out,
      outShape,
      convParams(ci),
    );
    return b.makeTensorInfo(outShape, 'float32', out);
  };
  /** Bias and activation of the fused kernels, by the JavaScript kernels (cheap element-wise work). */
  const epilogue = (
    b: CpuBackend,
    y: TensorInfo,
    attrs: Record<string, unknown>,
    bias?: TensorInfo,
    prelu?: TensorInfo,
  ) => {
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
  };
  const reg = (name: string, fn: (args: Parameters<KernelFunc>[0]) => TensorInfo | null) =>
    tf.registerKernel({ kernelName: name, backendName: 'cpu-native', kernelFunc: guarded(name, fn) });

  reg('Conv2D', ({ inputs, backend, attrs }) =>
    conv2d(
      backend as CpuBackend,
      inputs.x as TensorInfo,
      inputs.filter as TensorInfo,
      attrs as Record<string, unknown>,
    ),
  );
  reg('FusedConv2D', ({ inputs, backend, attrs }) => {
    const b = backend as CpuBackend;
    const y = conv2d(
      b,
      inputs.x as TensorInfo,
      inputs.filter as TensorInfo,
      attrs as Record<string, unknown>,
    );
    if (!y) return null;
    return epilogue(
      b,
      y,
      attrs as Record<string, unknown>,
      inputs.bias as TensorInfo | undefined,
      inputs.preluActivationWeights as TensorInfo | undefined,
    );
  });
  reg('Conv2DBackpropInput', ({ inputs, backend, attrs }) => {
    const b = backend as CpuBackend;
    const a = attrs as Record<string, unknown>;
    const dy = inputs.dy as TensorInfo;
    const filter = inputs.filter as TensorInfo;
    const inShape = a.inputShape as [number, number, number, number];
    // tfjs's backprop kernels have no dilation attribute: their convolution is undilated
    const ci = convInfo(inShape, filter.shape, { ...a, dilations: 1 });
    if (!ci || !f32(dy) || !f32(filter)) return null;
    const dx = outputArray(b, size(inShape));
    addon.conv(
      1,
      dx,
      [...inShape],
      vals(b, filter),
      [...filter.shape],
      vals(b, dy),
      [...dy.shape],
      convParams(ci),
    );
    return b.makeTensorInfo([...inShape], 'float32', dx);
  });
  reg('Conv2DBackpropFilter', ({ inputs, backend, attrs }) => {
    const b = backend as CpuBackend;
    const a = attrs as Record<string, unknown>;
    const x = inputs.x as TensorInfo;
    const dy = inputs.dy as TensorInfo;
    const fShape = a.filterShape as [number, number, number, number];
    const ci = convInfo(x.shape, fShape, { ...a, dilations: 1 });
    if (!ci || !f32(x) || !f32(dy)) return null;
    const dw = outputArray(b, size(fShape));
    addon.conv(2, vals(b, x), [...x.shape], dw, [...fShape], vals(b, dy), [...dy.shape], convParams(ci));
    return b.makeTensorInfo([...fShape], 'float32', dw);
  });
  const matmul = (b: CpuBackend, A: TensorInfo, B: TensorInfo, ta: boolean, tb: boolean) => {
    if (
      !f32(A) ||
      !f32(B) ||
      A.shape.length > 3 ||
      B.shape.length > 3 ||
      A.shape.length < 2 ||
      B.shape.length < 2
    )
      return null;
    const s3 = (s: number[]) => (s.length === 2 ? [1, s[0]!, s[1]!] : [...s]);
    const as = s3(A.shape);
    const bs = s3(B.shape);
    if (as[0] !== bs[0] && as[0] !== 1 && bs[0] !== 1) return null;
    const M = ta ? as[2]! : as[1]!;
    const K = ta ? as[1]! : as[2]!;
    const K2 = tb ? bs[2]! : bs[1]!;
    const N = tb ? bs[1]! : bs[2]!;
    if (K !== K2) return null;
    const batch = Math.max(as[0]!, bs[0]!);
    const out = outputArray(b, batch * M * N);
    addon.matmul(vals(b, A), as, vals(b, B), bs, ta, tb, out);
    // same output rank as tfjs's kernel: [M, N] for two matrices, else [batch, M, N]
    const shape = A.shape.length === 2 && B.shape.length === 2 ? [M, N] : [batch, M, N];
    return b.makeTensorInfo(shape, 'float32', out);
  };
  reg('BatchMatMul', ({ inputs, backend, attrs }) => {
    const a = attrs as { transposeA?: boolean; transposeB?: boolean };
    return matmul(
      backend as CpuBackend,
      inputs.a as TensorInfo,
      inputs.b as TensorInfo,
      !!a.transposeA,
      !!a.transposeB,
    );
  });
  reg('_FusedMatMul', ({ inputs, backend, attrs }) => {
    const b = backend as CpuBackend;
    const a = attrs as Record<string, unknown>;
    const y = matmul(b, inputs.a as TensorInfo, inputs.b as TensorInfo, !!a.transposeA, !!a.transposeB);
    if (!y) return null;
    return epilogue(
      b,
      y,
      a,
      inputs.bias as TensorInfo | undefined,
      inputs.preluActivationWeights as TensorInfo | undefined,
    );
  });

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
  (['Add', 'Sub', 'Multiply', 'RealDiv'] as const).forEach((name, op) =>
    reg(name, ({ inputs, backend }) => {
      const b = backend as CpuBackend;
      const A = inputs.a as TensorInfo;
      const B = inputs.b as TensorInfo;
      if (!f32(A) || !f32(B)) return null;
      const shape = tf.backend_util.assertAndGetBroadcastShape(A.shape, B.shape);
      if (shape.length > 8) return null;
      const out = outputArray(b, size(shape));
      if (out.length === 0) return b.makeTensorInfo(shape, 'float32', out);
      const [cs, ca, cb] = collapse(
        shape,
        broadcastStrides(A.shape, shape),
        broadcastStrides(B.shape, shape),
      );
      addon.binary(op as 0 | 1 | 2 | 3, vals(b, A), ca, vals(b, B), cb, out, cs);
      return b.makeTensorInfo(shape, 'float32', out);
    }),
  );
  // sums and means over any axes: one native pass per run of adjacent reduced axes, innermost first
  const reduce = (mean: boolean) =>
    (({ inputs, backend, attrs }) => {
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
    }) as (args: Parameters<KernelFunc>[0]) => TensorInfo | null;
  reg('Sum', reduce(false));
  reg('Mean', reduce(true));
  // SplitV and Concat as native block copies (tfjs's JavaScript kernels copy element by element)
  tf.registerKernel({
    kernelName: 'SplitV',
    backendName: 'cpu-native',
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args;
      const b = backend as CpuBackend;
      const x = inputs.x as TensorInfo;
      const a = attrs as { numOrSizeSplits: number | number[]; axis: number };
      if (x.dtype !== 'float32') return js('SplitV')(args);
      const axis = tf.util.parseAxisParam(a.axis, x.shape)[0]!;
      const sizes = tf.backend_util.prepareSplitSize(
        x as unknown as TfModule.Tensor,
        a.numOrSizeSplits,
        axis,
      );
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
        addon.copyRows(src, row, off, out, len, 0, outer, len);
        off += len;
        return b.makeTensorInfo(shape, 'float32', out);
      });
    },
  });
  reg('Concat', ({ inputs, backend, attrs }) => {
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
  });

  // Tile by block copies of the innermost dimension
  reg('Tile', ({ inputs, backend, attrs }) => {
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
  });
  // comparisons against a same-shape tensor or a scalar (activation gradients), bool out
  const compare = (op: 0 | 1 | 2 | 3) =>
    (({ inputs, backend }) => {
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
    }) as (args: Parameters<KernelFunc>[0]) => TensorInfo | null;
  reg('Greater', compare(0));
  reg('GreaterEqual', compare(1));
  reg('Less', compare(2));
  reg('LessEqual', compare(3));
  reg('LeakyRelu', ({ inputs, backend, attrs }) => {
    const b = backend as CpuBackend;
    const x = inputs.x as TensorInfo;
    if (!f32(x)) return null;
    const out = outputArray(b, size(x.shape));
    addon.leakyRelu(vals(b, x), (attrs as { alpha: number }).alpha, out);
    return b.makeTensorInfo([...x.shape], 'float32', out);
  });
  reg('Select', ({ inputs, backend }) => {
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
  });
  registerFusedKernels(tf, addon, vals);
  registerFusedGradients(tf);
}

/**
 * Kernels with no tfjs counterpart, used by compute/fusedLayers.ts where the active backend has them:
 * batch normalisation in training mode as one forward and one backward pass (FieldcalBatchNormTrain,
 * FieldcalBatchNormGrad), the LeakyReLU gradient as one pass (FieldcalLeakyReluGrad), and a whole LSTM
 * layer over a sequence with its back-propagation through time (FieldcalLstm, FieldcalLstmGrad).
 */
function registerFusedKernels(
  tf: Tf,
  addon: NativeAddon,
  vals: (b: CpuBackend, t: TensorInfo) => Float32Array,
): void {
  const kernel = (
    name: string,
    fn: (
      b: CpuBackend,
      inputs: Record<string, TensorInfo>,
      attrs: Record<string, number>,
    ) => TensorInfo | TensorInfo[],
  ) =>
    tf.registerKernel({
      kernelName: name,
      backendName: 'cpu-native',
      kernelFunc: ({ inputs, backend, attrs }) =>
        fn(backend as CpuBackend, inputs as Record<string, TensorInfo>, attrs as Record<string, number>),
    });
  kernel('FieldcalBatchNormTrain', (b, { x, gamma, beta }, { epsilon }) => {
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
  kernel('FieldcalBatchNormGrad', (b, { x, dy, gamma, mean, variance }, { epsilon }) => {
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
  kernel('FieldcalLeakyReluGrad', (b, { x, dy }, { alpha }) => {
    const dx = outputArray(b, vals(b, x!).length);
    addon.leakyRelu(vals(b, x!), vals(b, dy!), alpha!, dx);
    return b.makeTensorInfo([...x!.shape], 'float32', dx);
  });
  const lstmDims = (x: TensorInfo, recurrentKernel: TensorInfo) =>
    [x.shape[0]!, x.shape[1]!, x.shape[2]!, recurrentKernel.shape[0]!] as [number, number, number, number];
  kernel('FieldcalLstm', (b, { x, kernel: w, recurrentKernel: u, bias }, { returnSequences }) => {
    const [B, T, I, H] = lstmDims(x!, u!);
    const hs = outputArray(b, B * T * H);
    const cs = outputArray(b, B * T * H);
    const gates = outputArray(b, B * T * 5 * H);
    addon.lstmForward(vals(b, x!), [B, T, I, H], vals(b, w!), vals(b, u!), vals(b, bias!), hs, cs, gates);
    let y: Float32Array;
    if (returnSequences) {
      y = outputArray(b, hs.length);
      y.set(hs);
    } else {
      y = outputArray(b, B * H);
      addon.copyRows(hs, T * H, (T - 1) * H, y, H, 0, B, H);
    }
    return [
      b.makeTensorInfo(returnSequences ? [B, T, H] : [B, H], 'float32', y),
      b.makeTensorInfo([B, T, H], 'float32', hs),
      b.makeTensorInfo([B, T, H], 'float32', cs),
      b.makeTensorInfo([B, T, 5 * H], 'float32', gates),
    ];
  });
  kernel(
    'FieldcalLstmGrad',
    (b, { x, kernel: w, recurrentKernel: u, hs, cs, gates, dy }, { returnSequences }) => {
      const [B, T, I, H] = lstmDims(x!, u!);
      const dx = outputArray(b, B * T * I);
      const dw = outputArray(b, I * 4 * H);
      const du = outputArray(b, H * 4 * H);
      const db = outputArray(b, 4 * H);
      addon.lstmBackward(
        vals(b, x!),
        [B, T, I, H, returnSequences ? 1 : 0],
        vals(b, w!),
        vals(b, u!),
        vals(b, hs!),
        vals(b, cs!),
        vals(b, gates!),
        vals(b, dy!),
        dx,
        dw,
        du,
        db,
      );
      return [
        b.makeTensorInfo([B, T, I], 'float32', dx),
        b.makeTensorInfo([I, 4 * H], 'float32', dw),
        b.makeTensorInfo([H, 4 * H], 'float32', du),
        b.makeTensorInfo([4 * H], 'float32', db),
      ];
    },
  );
}
