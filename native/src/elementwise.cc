// Element-wise kernels: broadcast arithmetic (tfjs's Add, Sub, Multiply, RealDiv) and LeakyReLU
// with its gradient, OpenMP-parallel over rows when large.
#include "common.h"

namespace fieldcal {

// binary(op, a, aStrides, b, bStrides, out, outShape): out = a (op) b with broadcasting, where the
// strides (in elements) are 0 along broadcast dimensions. op: 0 add, 1 sub, 2 mul, 3 div.
napi_value Binary(napi_env env, napi_callback_info info) {
  Args<7> a(env, info);
  if (!a) return napiFailed(env);
  const int32_t op = a.int32(0);
  float* A = a.f32(1);
  float* B = a.f32(3);
  float* C = a.f32(5);
  if (!A || !B || !C) return fail(env, "binary operands must be Float32Arrays");
  auto as = a.ints(2), bs = a.ints(4), shape = a.ints(6);
  const int nd = static_cast<int>(shape.size());
  int64_t inner = nd ? shape[nd - 1] : 1;
  int64_t outer = 1;
  for (int d = 0; d + 1 < nd; d++) outer *= shape[d];
  const int64_t sa = nd ? as[nd - 1] : 0, sb = nd ? bs[nd - 1] : 0;
#pragma omp parallel for schedule(static) if (outer * inner > 32768)
  for (int64_t o = 0; o < outer; o++) {
    // offsets of this row in a and b
    int64_t rem = o, oa = 0, ob = 0;
    for (int d = nd - 2; d >= 0; d--) {
      int64_t i = rem % shape[d];
      rem /= shape[d];
      oa += i * as[d];
      ob += i * bs[d];
    }
    const float* pa = A + oa;
    const float* pb = B + ob;
    float* pc = C + o * inner;
    switch (op) {
      case 0:
        for (int64_t i = 0; i < inner; i++) pc[i] = pa[i * sa] + pb[i * sb];
        break;
      case 1:
        for (int64_t i = 0; i < inner; i++) pc[i] = pa[i * sa] - pb[i * sb];
        break;
      case 2:
        for (int64_t i = 0; i < inner; i++) pc[i] = pa[i * sa] * pb[i * sb];
        break;
      default:
        for (int64_t i = 0; i < inner; i++) pc[i] = pa[i * sa] / pb[i * sb];
    }
  }
  return nullptr;
}

// leakyRelu(x, alpha, y): y = x > 0 ? x : alpha x (Maas et al. 2013); leakyReluGrad(x, dy, alpha, dx):
// dx = x > 0 ? dy : alpha dy, as tfjs's LeakyRelu gradient.
napi_value LeakyRelu(napi_env env, napi_callback_info info) {
  Args<4> a(env, info);
  if (!a) return napiFailed(env);
  const bool grad = a.count == 4;
  size_t n = 0, m = 0, k = 0;
  float* X = a.f32(0, &n);
  float* DY = grad ? a.f32(1, &k) : nullptr;
  const float alpha = static_cast<float>(a.num(grad ? 2 : 1));
  float* Y = a.f32(grad ? 3 : 2, &m);
  if (!X || !Y || m != n || (grad && (!DY || k != n))) return fail(env, "leakyRelu: bad operands");
  const int64_t N = static_cast<int64_t>(n);
  // branch-free forms, so the loops vectorise (activations' signs are random: branches mispredict)
  if (grad) {
    const float* __restrict x = X;
    const float* __restrict dy = DY;
    float* __restrict dx = Y;
#pragma omp parallel for schedule(static) if (N > 65536)
    for (int64_t i = 0; i < N; i++) dx[i] = dy[i] * (x[i] > 0.0f ? 1.0f : alpha);
  } else {
    const float* __restrict x = X;
    float* __restrict y = Y;
#pragma omp parallel for schedule(static) if (N > 65536)
    for (int64_t i = 0; i < N; i++) y[i] = (x[i] > 0.0f ? x[i] : 0.0f) + alpha * (x[i] < 0.0f ? x[i] : 0.0f);
  }
  return nullptr;
}

}  // namespace fieldcal
