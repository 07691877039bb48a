// Block copies: tfjs's Concat, SplitV and the last step of an LSTM layer as strided row copies.
#include <cstring>

#include "common.h"

namespace fieldcal {

// copyRows(src, srcStride, srcOffset, dst, dstStride, dstOffset, rows, width): dst[r * dstStride +
// dstOffset + j] = src[r * srcStride + srcOffset + j] for j < width: concatenation, split and slice
// along one axis as block copies.
napi_value CopyRows(napi_env env, napi_callback_info info) {
  Args<8> a(env, info);
  if (!a) return napiFailed(env);
  size_t ns = 0, nd = 0;
  float* S = a.f32(0, &ns);
  float* D = a.f32(3, &nd);
  const int64_t ss = a.truncated(1), so = a.truncated(2);
  const int64_t ds = a.truncated(4), dof = a.truncated(5);
  const int64_t rows = a.truncated(6), w = a.truncated(7);
  if (!S || !D || rows < 0 || w < 0 || so < 0 || dof < 0 ||
      (rows > 0 && (static_cast<size_t>((rows - 1) * ss + so + w) > ns ||
                    static_cast<size_t>((rows - 1) * ds + dof + w) > nd)))
    return fail(env, "copyRows: bad operands or out of range");
#pragma omp parallel for schedule(static) if (rows * w > 65536)
  for (int64_t r = 0; r < rows; r++) std::memcpy(D + r * ds + dof, S + r * ss + so, sizeof(float) * w);
  return nullptr;
}

}  // namespace fieldcal
