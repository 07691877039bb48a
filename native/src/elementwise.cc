// Element-wise kernels: broadcast arithmetic (tfjs's Add, Sub, Multiply, RealDiv) and LeakyReLU
// with its gradient, OpenMP-parallel over rows when large.
#include <cmath>

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

// adamUpdate(p, m, v, g, lr, b1, b2, eps, c1, c2, np, nm, nv): one Adam step (Kingma & Ba 2015)
// by tfjs's AdamOptimizer rule, m' = b1 m + (1 - b1) g, v' = b2 v + (1 - b2) g^2,
// p' = p - lr (m' / c1) / (sqrt(v' / c2) + eps) with c1 = 1 - b1^t, c2 = 1 - b2^t: the arithmetic in
// double and stored float32, in the order of fusedAdam.ts's JavaScript kernel (the same bits:
// -ffp-contract=off), vectorised and threaded.
napi_value AdamUpdate(napi_env env, napi_callback_info info) {
  Args<13> a(env, info);
  if (!a) return napiFailed(env);
  size_t n = 0, nm = 0, nv = 0, ng = 0, o1 = 0, o2 = 0, o3 = 0;
  const float* P = a.f32(0, &n);
  const float* M = a.f32(1, &nm);
  const float* V = a.f32(2, &nv);
  const float* G = a.f32(3, &ng);
  float* NP = a.f32(10, &o1);
  float* NM = a.f32(11, &o2);
  float* NV = a.f32(12, &o3);
  if (a.count != 13 || !P || !M || !V || !G || !NP || !NM || !NV || nm != n || nv != n || ng != n || o1 != n ||
      o2 != n || o3 != n)
    return fail(env, "adamUpdate: bad operands");
  const double lr = a.num(4), b1 = a.num(5), b2 = a.num(6), eps = a.num(7), c1 = a.num(8), c2 = a.num(9);
  const double nb1 = 1 - b1, nb2 = 1 - b2;
  const int64_t N = static_cast<int64_t>(n);
  const float* __restrict p = P;
  const float* __restrict m = M;
  const float* __restrict v = V;
  const float* __restrict g = G;
  float* __restrict np = NP;
  float* __restrict nmo = NM;
  float* __restrict nvo = NV;
#pragma omp parallel for simd schedule(static) if (N > 65536)
  for (int64_t i = 0; i < N; i++) {
    const double gi = g[i];
    const double mi = b1 * static_cast<double>(m[i]) + nb1 * gi;
    const double vi = b2 * static_cast<double>(v[i]) + nb2 * gi * gi;
    nmo[i] = static_cast<float>(mi);
    nvo[i] = static_cast<float>(vi);
    np[i] = static_cast<float>(static_cast<double>(p[i]) - (lr * (mi / c1)) / (std::sqrt(vi / c2) + eps));
  }
  return nullptr;
}

}  // namespace fieldcal
