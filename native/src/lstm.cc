// A whole LSTM layer over a sequence as fused kernels: the forward pass (one GEMM for every step's
// input projection, then the recurrence step by step) and its back-propagation through time.
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "common.h"

namespace fieldcal {

namespace {

// Row-major single-precision GEMM on oneDNN: C = alpha op(A) op(B) + beta C.
void gemm(char ta, char tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (dnnl_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) != dnnl_success)
    throw std::runtime_error("dnnl_sgemm failed");
}

// exp for the LSTM gates, branch-free so that the gate loops vectorise: Cody-Waite reduction
// x = n ln2 + r and Cephes expf's degree-6 polynomial for e^r (Moshier 1992); relative error
// below 2e-7 on [-87, 88], the range it clamps to.
inline float fastExp(float x) {
  // clamped by selects (std::min/max return references: GCC will not vectorise through them)
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  // n = round(x / ln2) by the 1.5 * 2^23 rounding trick (default rounding mode)
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
  const float p =
      ((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r + 4.1665795894e-2f) * r +
       1.6666665459e-1f) * r + 5.0000001201e-1f;
  const float er = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return er * scale;
}

inline float sigmoid(float z) { return 1.0f / (1.0f + fastExp(-z)); }

// tanh(z) = sign(z) (1 - e^-2|z|) / (1 + e^-2|z|)
inline float fastTanh(float z) {
  const float e = fastExp(-2.0f * std::fabs(z));
  const float t = (1.0f - e) / (1.0f + e);
  return z < 0.0f ? -t : t;
}

// One batch row of one LSTM step: activates the gates z (+ bias) in place, keeps tanh(c) after
// them, and writes the cell and hidden states (separate from the OpenMP loop so it vectorises).
void lstmCellRow(float* __restrict z, const float* __restrict bias, const float* __restrict cp,
                 float* __restrict c, float* __restrict h, const int64_t H) {
  for (int64_t j = 0; j < H; j++) {
    const float ig = sigmoid(z[j] + bias[j]);
    const float fg = sigmoid(z[H + j] + bias[H + j]);
    const float gg = fastTanh(z[2 * H + j] + bias[2 * H + j]);
    const float og = sigmoid(z[3 * H + j] + bias[3 * H + j]);
    const float cv = fg * cp[j] + ig * gg;
    const float tc = fastTanh(cv);
    z[j] = ig;
    z[H + j] = fg;
    z[2 * H + j] = gg;
    z[3 * H + j] = og;
    z[4 * H + j] = tc;
    c[j] = cv;
    h[j] = og * tc;
  }
}

// Its gradient: gate pre-activation gradients dz from dh (recurrent + output) and dc (carried).
void lstmCellRowGrad(const float* __restrict z, const float* __restrict cp, const float* __restrict dy,
                     float* __restrict dz, const float* __restrict dh, float* __restrict dc, const int64_t H) {
  for (int64_t j = 0; j < H; j++) {
    const float ig = z[j], fg = z[H + j], gg = z[2 * H + j], og = z[3 * H + j], tc = z[4 * H + j];
    const float dht = dh[j] + dy[j];
    const float dct = dht * og * (1.0f - tc * tc) + dc[j];
    dz[j] = dct * gg * ig * (1.0f - ig);
    dz[H + j] = dct * cp[j] * fg * (1.0f - fg);
    dz[2 * H + j] = dct * ig * (1.0f - gg * gg);
    dz[3 * H + j] = dht * tc * og * (1.0f - og);
    dc[j] = dct * fg;
  }
}

}  // namespace

// lstmForward(x [B,T,I], dims [B,T,I,H], W [I,4H], U [H,4H], bias [4H], hs [B,T,H], cs [B,T,H],
// gates [B,T,5H]): the LSTM of tfjs's LSTMCell (Hochreiter & Schmidhuber 1997 with a forget gate,
// Gers et al. 2000; gate order i, f, c, o as Keras) from zero states, sigmoid gates and tanh:
// z = x W + h U + b; c = f c' + i tanh(z_c); h = o tanh(c). Keeps i, f, g, o, tanh(c) per step.
napi_value LstmForward(napi_env env, napi_callback_info info) {
  Args<9> a(env, info);
  if (!a) return napiFailed(env);
  size_t nx = 0, nw = 0, nu = 0, nb = 0, nh = 0, nc = 0, ng = 0;
  float* X = a.f32(0, &nx);
  auto d = a.ints(1);
  float* W = a.f32(2, &nw);
  float* U = a.f32(3, &nu);
  float* Bias = a.f32(4, &nb);
  float* Hs = a.f32(5, &nh);
  float* Cs = a.f32(6, &nc);
  float* G = a.f32(7, &ng);
  if (d.size() != 4 || !X || !W || !U || !Bias || !Hs || !Cs || !G) return fail(env, "lstmForward: bad operands");
  const int64_t B = d[0], T = d[1], I = d[2], H = d[3], G4 = 4 * H, G5 = 5 * H;
  if (B <= 0 || T <= 0 || I <= 0 || H <= 0 || nx != size_t(B * T * I) || nw != size_t(I * G4) ||
      nu != size_t(H * G4) || nb != size_t(G4) || nh != size_t(B * T * H) || nc != nh || ng != size_t(B * T * G5))
    return fail(env, "lstmForward: operand sizes do not match [B,T,I,H]");
  try {
    // z for every step at once: x W into the first 4H columns of each gates row
    gemm('N', 'N', B * T, G4, I, 1.0f, X, I, W, G4, 0.0f, G, G5);
    const std::vector<float> zeros(static_cast<size_t>(H), 0.0f);  // the zero initial state
    for (int64_t t = 0; t < T; t++) {
      if (t > 0) gemm('N', 'N', B, G4, H, 1.0f, Hs + (t - 1) * H, T * H, U, G4, 1.0f, G + t * G5, T * G5);
#pragma omp parallel for schedule(static) if (B * H > 4096)
      for (int64_t b = 0; b < B; b++) {
        float* __restrict z = G + (b * T + t) * G5;
        const float* __restrict cp = t > 0 ? Cs + (b * T + t - 1) * H : zeros.data();
        float* __restrict c = Cs + (b * T + t) * H;
        float* __restrict h = Hs + (b * T + t) * H;
        lstmCellRow(z, Bias, cp, c, h, H);
      }
    }
  } catch (const std::exception& e) {
    unsupported(env, e);
  }
  return nullptr;
}

// lstmBackward(x, dims [B,T,I,H,seq], W, U, hs, cs, gates, dy, dx, dW, dU, db): back-propagation
// through time of lstmForward; dy is [B,T,H] when seq, else the gradient of the last h [B,H].
napi_value LstmBackward(napi_env env, napi_callback_info info) {
  Args<12> a(env, info);
  if (!a) return napiFailed(env);
  size_t nx = 0, nw = 0, nu = 0, nh = 0, nc = 0, ng = 0, ndy = 0, ndx = 0, ndw = 0, ndu = 0, ndb = 0;
  float* X = a.f32(0, &nx);
  auto d = a.ints(1);
  float* W = a.f32(2, &nw);
  float* U = a.f32(3, &nu);
  float* Hs = a.f32(4, &nh);
  float* Cs = a.f32(5, &nc);
  float* G = a.f32(6, &ng);
  float* DY = a.f32(7, &ndy);
  float* DX = a.f32(8, &ndx);
  float* DW = a.f32(9, &ndw);
  float* DU = a.f32(10, &ndu);
  float* DB = a.f32(11, &ndb);
  if (d.size() != 5 || !X || !W || !U || !Hs || !Cs || !G || !DY || !DX || !DW || !DU || !DB)
    return fail(env, "lstmBackward: bad operands");
  const int64_t B = d[0], T = d[1], I = d[2], H = d[3], G4 = 4 * H, G5 = 5 * H;
  const bool seq = d[4] != 0;
  if (B <= 0 || T <= 0 || I <= 0 || H <= 0 || nx != size_t(B * T * I) || nw != size_t(I * G4) ||
      nu != size_t(H * G4) || nh != size_t(B * T * H) || nc != nh || ng != size_t(B * T * G5) ||
      ndy != size_t(seq ? B * T * H : B * H) || ndx != nx || ndw != nw || ndu != nu || ndb != size_t(G4))
    return fail(env, "lstmBackward: operand sizes do not match [B,T,I,H]");
  try {
    std::vector<float> dZ(static_cast<size_t>(B * T * G4));
    std::vector<float> dh(static_cast<size_t>(B * H), 0.0f), dc(static_cast<size_t>(B * H), 0.0f);
    const std::vector<float> zeros(static_cast<size_t>(H), 0.0f);
    for (int64_t t = T - 1; t >= 0; t--) {
#pragma omp parallel for schedule(static) if (B * H > 4096)
      for (int64_t b = 0; b < B; b++) {
        const float* __restrict z = G + (b * T + t) * G5;
        const float* __restrict cp = t > 0 ? Cs + (b * T + t - 1) * H : zeros.data();
        const float* __restrict dyt = seq ? DY + (b * T + t) * H : (t == T - 1 ? DY + b * H : zeros.data());
        float* __restrict dzr = dZ.data() + (b * T + t) * G4;
        float* __restrict dhb = dh.data() + b * H;
        float* __restrict dcb = dc.data() + b * H;
        lstmCellRowGrad(z, cp, dyt, dzr, dhb, dcb, H);
      }
      // the recurrent gradient dh' = dz U^T for the step before
      if (t > 0) gemm('N', 'T', B, H, G4, 1.0f, dZ.data() + t * G4, T * G4, U, G4, 0.0f, dh.data(), H);
    }
    // dU = sum_t h(t-1)^T dz(t); dW = x^T dZ; dx = dZ W^T; db = column sums of dZ
    std::memset(DU, 0, sizeof(float) * H * G4);
    for (int64_t t = 1; t < T; t++)
      gemm('T', 'N', H, G4, B, 1.0f, Hs + (t - 1) * H, T * H, dZ.data() + t * G4, T * G4, 1.0f, DU, G4);
    gemm('T', 'N', I, G4, B * T, 1.0f, X, I, dZ.data(), G4, 0.0f, DW, G4);
    gemm('N', 'T', B * T, I, G4, 1.0f, dZ.data(), G4, W, G4, 0.0f, DX, I);
    std::vector<double> s;
    const float* dz = dZ.data();
    columnSums<1>(B * T, G4, [&](int64_t m, double* acc) {
      const float* r = dz + m * G4;
      for (int64_t c = 0; c < G4; c++) acc[c] += r[c];
    }, s);
    for (int64_t c = 0; c < G4; c++) DB[c] = static_cast<float>(s[c]);
  } catch (const std::exception& e) {
    unsupported(env, e);
  }
  return nullptr;
}

}  // namespace fieldcal
