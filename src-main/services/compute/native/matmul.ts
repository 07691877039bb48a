import { outputArray } from '../bufferPool';
import {
  epilogue,
  f32,
  vals,
  type CpuBackend,
  type NativeContext,
  type NativeKernel,
  type TensorInfo,
} from './context';

function matmul(ctx: NativeContext, b: CpuBackend, A: TensorInfo, B: TensorInfo, ta: boolean, tb: boolean) {
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
  ctx.addon.matmul(vals(b, A), as, vals(b, B), bs, ta, tb, out);
  // same output rank as tfjs's kernel: [M, N] for two matrices, else [batch, M, N]
  const shape = A.shape.length === 2 && B.shape.length === 2 ? [M, N] : [batch, M, N];
  return b.makeTensorInfo(shape, 'float32', out);
}

/** tfjs's BatchMatMul (rank 2 or 3, a batch of 1 broadcast) on oneDNN. */
export const batchMatMul: NativeKernel = (ctx, { inputs, backend, attrs }) => {
  const a = attrs as { transposeA?: boolean; transposeB?: boolean };
  return matmul(
    ctx,
    backend as CpuBackend,
    inputs.a as TensorInfo,
    inputs.b as TensorInfo,
    !!a.transposeA,
    !!a.transposeB,
  );
};

/** tfjs's _FusedMatMul: the product on oneDNN, then bias and activation. */
export const fusedMatMul: NativeKernel = (ctx, { inputs, backend, attrs }) => {
  const b = backend as CpuBackend;
  const a = attrs as Record<string, unknown>;
  const y = matmul(ctx, b, inputs.a as TensorInfo, inputs.b as TensorInfo, !!a.transposeA, !!a.transposeB);
  if (!y) return null;
  return epilogue(
    ctx,
    b,
    y,
    a,
    inputs.bias as TensorInfo | undefined,
    inputs.preluActivationWeights as TensorInfo | undefined,
  );
};
