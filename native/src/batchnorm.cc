// Batch normalisation in training mode as fused kernels: one forward pass (statistics and
// normalisation) and one backward pass, over the rows of channels-last activations.
#include <cmath>
#include <vector>

#include "common.h"

namespace fieldcal {

// batchNormTrain(x, C, gamma, beta, eps, y, mean, variance): batch normalisation in training mode
// over the rows of channels-last x [M, C] (Ioffe & Szegedy 2015, alg. 1; biased variance as
// tf.moments): y = gamma (x - mean) / sqrt(variance + eps) + beta. Two passes for the statistics.
napi_value BatchNormTrain(napi_env env, napi_callback_info info) {
  Args<8> a(env, info);
  if (!a) return napiFailed(env);
  size_t n = 0, nc = 0;
  float* X = a.f32(0, &n);
  const int64_t C = a.truncated(1);
  float* G = a.f32(2, &nc);
  float* Bt = a.f32(3);
  const double eps = a.num(4);
  float* Y = a.f32(5);
  float* Mean = a.f32(6);
  float* Var = a.f32(7);
  if (!X || !G || !Bt || !Y || !Mean || !Var || C <= 0 || n % C != 0 || nc != static_cast<size_t>(C))
    return fail(env, "batchNormTrain: bad operands");
  const int64_t M = static_cast<int64_t>(n) / C;
  std::vector<double> s;
  columnSums<1>(M, C, [&](int64_t m, double* acc) {
    const float* r = X + m * C;
    for (int64_t c = 0; c < C; c++) acc[c] += r[c];
  }, s);
  std::vector<float> mu(C);
  for (int64_t c = 0; c < C; c++) mu[c] = static_cast<float>(s[c] / M);
  columnSums<1>(M, C, [&](int64_t m, double* acc) {
    const float* r = X + m * C;
    for (int64_t c = 0; c < C; c++) {
      const float d = r[c] - mu[c];
      acc[c] += d * d;
    }
  }, s);
  std::vector<float> scale(C), shift(C);
  for (int64_t c = 0; c < C; c++) {
    const double v = s[c] / M;
    Mean[c] = mu[c];
    Var[c] = static_cast<float>(v);
    scale[c] = static_cast<float>(G[c] / std::sqrt(v + eps));
    shift[c] = Bt[c] - scale[c] * mu[c];
  }
#pragma omp parallel for schedule(static) if (M * C > 32768)
  for (int64_t m = 0; m < M; m++) {
    const float* r = X + m * C;
    float* o = Y + m * C;
    for (int64_t c = 0; c < C; c++) o[c] = r[c] * scale[c] + shift[c];
  }
  return nullptr;
}

// batchNormGrad(x, dy, C, gamma, mean, variance, eps, dx, dgamma, dbeta): the gradient of
// batchNormTrain through the batch statistics (Ioffe & Szegedy 2015, section 3):
// dbeta = sum dy, dgamma = sum dy xhat, dx = gamma / sigma (dy - dbeta / M - xhat dgamma / M).
napi_value BatchNormGrad(napi_env env, napi_callback_info info) {
  Args<10> a(env, info);
  if (!a) return napiFailed(env);
  size_t n = 0, ndy = 0, nc = 0;
  float* X = a.f32(0, &n);
  float* DY = a.f32(1, &ndy);
  const int64_t C = a.truncated(2);
  float* G = a.f32(3, &nc);
  float* Mean = a.f32(4);
  float* Var = a.f32(5);
  const double eps = a.num(6);
  float* DX = a.f32(7);
  float* DG = a.f32(8);
  float* DB = a.f32(9);
  if (!X || !DY || !G || !Mean || !Var || !DX || !DG || !DB || C <= 0 || n % C != 0 || ndy != n ||
      nc != static_cast<size_t>(C)) return fail(env, "batchNormGrad: bad operands");
  const int64_t M = static_cast<int64_t>(n) / C;
  std::vector<double> s;
  columnSums<2>(M, C, [&](int64_t m, double* acc) {
    const float* r = X + m * C;
    const float* d = DY + m * C;
    for (int64_t c = 0; c < C; c++) {
      acc[c] += d[c];
      acc[C + c] += d[c] * (r[c] - Mean[c]);
    }
  }, s);
  // dx = k1 dy - k2 x + k0 per channel
  std::vector<float> k1(C), k2(C), k0(C);
  for (int64_t c = 0; c < C; c++) {
    const double inv = 1.0 / std::sqrt(static_cast<double>(Var[c]) + eps);
    const double a1 = G[c] * inv;
    const double a2 = a1 * inv * inv * s[C + c] / M;
    DB[c] = static_cast<float>(s[c]);
    DG[c] = static_cast<float>(s[C + c] * inv);
    k1[c] = static_cast<float>(a1);
    k2[c] = static_cast<float>(a2);
    k0[c] = static_cast<float>(-a1 * s[c] / M + a2 * Mean[c]);
  }
#pragma omp parallel for schedule(static) if (M * C > 32768)
  for (int64_t m = 0; m < M; m++) {
    const float* r = X + m * C;
    const float* d = DY + m * C;
    float* o = DX + m * C;
    for (int64_t c = 0; c < C; c++) o[c] = k1[c] * d[c] - k2[c] * r[c] + k0[c];
  }
  return nullptr;
}

}  // namespace fieldcal
