import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { preferPassiveOpenMp } from './openmp';

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
    /** names the weight tensor (modes 0, 1): its reordered copy is kept for the next call with it */
    weightToken?: number,
    /** mode 0: one value per output channel, added by the convolution */
    bias?: Float32Array,
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
  /** Whether conv takes its bias and weight-token arguments (absent from addons built before them). */
  convBias?: boolean;
  /** One Adam step (fusedAdam.ts): p, m, v, g in; the new p, m, v out (optional: absent from addons built before it). */
  adamUpdate?(
    p: Float32Array,
    m: Float32Array,
    v: Float32Array,
    g: Float32Array,
    lr: number,
    b1: number,
    b2: number,
    eps: number,
    c1: number,
    c2: number,
    np: Float32Array,
    nm: Float32Array,
    nv: Float32Array,
  ): void;
  lstmForward(
    x: Float32Array,
    dims: [number, number, number, number, number],
    kernel: Float32Array,
    recurrentKernel: Float32Array,
    bias: Float32Array,
    states: Float32Array,
    cs: Float32Array,
    gates: Float32Array,
    y: Float32Array,
  ): void;
  lstmInfer(
    x: Float32Array,
    dims: [number, number, number, number, number],
    kernel: Float32Array,
    recurrentKernel: Float32Array,
    bias: Float32Array,
    y: Float32Array,
  ): void;
  lstmGradRecompute(
    x: Float32Array,
    dims: [number, number, number, number, number, number, number],
    kernel: Float32Array,
    recurrentKernel: Float32Array,
    bias: Float32Array,
    dy: Float32Array,
    dx: Float32Array,
    dKernel: Float32Array,
    dRecurrentKernel: Float32Array,
    dBias: Float32Array,
  ): void;
  lstmBackward(
    dims: [number, number, number, number, number, number],
    kernel: Float32Array,
    recurrentKernel: Float32Array,
    states: Float32Array,
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
  /** [served, filled]: kept weight copies served, and reorders that filled one, since load (tests). */
  keptWeightStats?(): [number, number];
}

/**
 * Finds and loads native/build/Release/fieldcal_native.node (or FIELDCAL_NATIVE_ADDON); the reason
 * when it cannot. FIELDCAL_NATIVE_ADDON=none runs as if it were not built (everything on the
 * JavaScript kernels: `npm run test:js-kernels`).
 */
export function loadAddon(): { addon: NativeAddon | null; reason: string | null; path: string | null } {
  if (process.env.FIELDCAL_NATIVE_ADDON === 'none')
    return { addon: null, reason: 'native addon turned off (FIELDCAL_NATIVE_ADDON=none)', path: null };
  preferPassiveOpenMp();
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
