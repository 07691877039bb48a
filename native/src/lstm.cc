// A whole LSTM layer over a sequence as fused kernels: the forward pass (one GEMM per step of the
// stacked operand [h(t-1) | x(t) | 1] with the stacked weights [U; W; b], packed once per call) and
// its back-propagation through time (one GEMM per step for the recurrent gradient, one for all the
// weights' gradients at the end).
#include <algorithm>
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

// One batch row of one LSTM step: activates the gate pre-activations z (bias included) into g,
// with tanh(c) after them, and writes the cell and hidden states (separate from the OpenMP loop so
// it vectorises).
// Built for AVX-512, AVX2 + FMA and baseline x86-64, the loader picking the CPU's (GCC function
// multiversioning): the addon's baseline build would run the gate arithmetic on SSE2 only.
#define FIELDCAL_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

FIELDCAL_SIMD_CLONES
void lstmCellRow(const float* __restrict z, float* __restrict g, const float* __restrict cp, float* __restrict c,
                 float* __restrict h, const int64_t H) {
  for (int64_t j = 0; j < H; j++) {
    const float ig = sigmoid(z[j]);
    const float fg = sigmoid(z[H + j]);
    const float gg = fastTanh(z[2 * H + j]);
    const float og = sigmoid(z[3 * H + j]);
    const float cv = fg * cp[j] + ig * gg;
    const float tc = fastTanh(cv);
    g[j] = ig;
    g[H + j] = fg;
    g[2 * H + j] = gg;
    g[3 * H + j] = og;
    g[4 * H + j] = tc;
    c[j] = cv;
    h[j] = og * tc;
  }
}

// Its gradient: gate pre-activation gradients dz from dh (recurrent + output) and dc (carried).
FIELDCAL_SIMD_CLONES
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

// The width of a row of the stacked operand [h | x | 1], padded with zeros to whole 64-byte lines.
inline int64_t stackedWidth(int64_t I, int64_t H) { return (H + I + 1 + 15) / 16 * 16; }

// The stacked weights S [K, 4H] = [U; W; b; 0] (K = stackedWidth) in the caller's buffer.
void stackWeights(const float* W, const float* U, const float* bias, int64_t I, int64_t H, float* S) {
  const int64_t G4 = 4 * H, K = stackedWidth(I, H);
  std::memcpy(S, U, sizeof(float) * H * G4);
  std::memcpy(S + H * G4, W, sizeof(float) * I * G4);
  if (bias) std::memcpy(S + (H + I) * G4, bias, sizeof(float) * G4);
  std::memset(S + (H + I + (bias ? 1 : 0)) * G4, 0, sizeof(float) * (K - H - I - (bias ? 1 : 0)) * G4);
}

// One step's product C [M, N] (row stride ldc) = A [M, K] (row stride lda) op(B) on a oneDNN matmul
// primitive whose weights B are reordered into its own layout once per call (prepare) and reused
// by every step (run): dnnl_sgemm would repack them at each of the sequence's steps.
struct StepProduct {
  std::shared_ptr<Cached> c;
  memory wei, src, dst;
  dnnl::stream strm;

  // B is [K, N] row-major (ldb) or, transposed, the [N, K] row-major matrix read as its transpose.
  StepProduct(const char* name, int64_t M, int64_t N, int64_t K, int64_t lda, int64_t ldc, bool transB,
              const float* B, int64_t ldb)
      : strm(eng()) {
    const memory::dims bStr = transB ? memory::dims{1, ldb} : memory::dims{ldb, 1};
    c = cached(key(name, {M, N, K, lda, ldc, transB}), [&](Cached& e) {
      e.src = memory::desc({M, K}, dt::f32, memory::dims{lda, 1});
      e.dst = memory::desc({M, N}, dt::f32, memory::dims{ldc, 1});
      dnnl::matmul::desc md(e.src, memory::desc({K, N}, dt::f32, tag::any), e.dst);
      dnnl::matmul::primitive_desc pd(md, userScratchpad(), eng());
      e.wei = pd.weights_desc();
      e.prim = dnnl::matmul(pd);
      e.scratch = pd.scratchpad_desc();
    });
    memory user(memory::desc({K, N}, dt::f32, bStr), eng(), const_cast<float*>(B));
    wei = memory(c->wei, eng());
    dnnl::reorder(user, wei).execute(strm, user, wei);
    src = memory(c->src, eng(), nullptr);
    dst = memory(c->dst, eng(), nullptr);
  }
  void run(const float* A, float* C) {
    src.set_data_handle(const_cast<float*>(A));
    dst.set_data_handle(C);
    // the thread's scratchpad is asked for at each run: another product may have grown it since
    if (c->scratch.get_size())
      c->prim.execute(strm, {{DNNL_ARG_SRC, src},
                             {DNNL_ARG_WEIGHTS, wei},
                             {DNNL_ARG_DST, dst},
                             {DNNL_ARG_SCRATCHPAD, scratchpad(c->scratch)}});
    else
      c->prim.execute(strm, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DST, dst}});
    strm.wait();
  }
};

// Scratch kept by each thread between calls (the job workers are threads of one process): the
// backward pass's gate gradients would otherwise be a fresh, zeroed allocation of B T 4H floats
// at every training step.
std::vector<float>& scratch(int which) {
  thread_local std::vector<float> s[11];
  return s[which];
}

// The forward pass on raw buffers (lstmForward's layouts; Y [B,T,H] when seq, else [B,H]). Without A
// (inference: nothing is kept for a gradient), the operands and cell states of two steps and the gates
// of one live in the thread's scratch, so memory is O(B (K + 6H)) instead of O(T B (K + 6H)).
void lstmForwardRun(const float* X, int64_t B, int64_t T, int64_t I, int64_t H, const float* W, const float* U,
                    const float* Bias, float* A, float* Cs, float* G, float* Y, bool seq) {
  const int64_t G4 = 4 * H, G5 = 5 * H, K = stackedWidth(I, H);
  const bool keep = A != nullptr;
  if (!keep) {
    std::vector<float>& a = scratch(4);
    std::vector<float>& cs = scratch(5);
    std::vector<float>& g = scratch(6);
    a.resize(static_cast<size_t>(2 * B * K));
    cs.resize(static_cast<size_t>(2 * B * H));
    g.resize(static_cast<size_t>(B * G5));
    A = a.data();
    Cs = cs.data();
    G = g.data();
  }
  // step t's operand rows, cell states and gates: kept for every step, or in a ring of two (one)
  auto aAt = [&](int64_t t) { return A + (keep ? t : t & 1) * B * K; };
  auto cAt = [&](int64_t t) { return Cs + (keep ? t : t & 1) * B * H; };
  auto gAt = [&](int64_t t) { return G + (keep ? t : 0) * B * G5; };
  std::vector<float>& S = scratch(0);
  S.resize(static_cast<size_t>(K * G4));
  stackWeights(W, U, Bias, I, H, S.data());
  // a step's pre-activations [B, 4H], dense (oneDNN's brgemm matmul takes dense outputs)
  std::vector<float>& Z = scratch(3);
  Z.resize(static_cast<size_t>(B * G4));
  StepProduct zOf("lstmF", B, G4, K, K, G4, false, S.data(), G4);
  // [0 | x(0) | 1 | 0]
  for (int64_t b = 0; b < B; b++) {
    float* a = aAt(0) + b * K;
    std::memset(a, 0, sizeof(float) * K);
    std::memcpy(a + H, X + b * T * I, sizeof(float) * I);
    a[H + I] = 1.0f;
  }
  const std::vector<float> zeros(static_cast<size_t>(H), 0.0f);  // the zero initial state
  for (int64_t t = 0; t < T; t++) {
    zOf.run(aAt(t), Z.data());
    float* const aNext = t + 1 < T ? aAt(t + 1) : nullptr;
    const float* const cPrev = t > 0 ? cAt(t - 1) : nullptr;
    float* const cNow = cAt(t);
    float* const gNow = gAt(t);
#pragma omp parallel for schedule(static) if (B * H > 4096)
    for (int64_t b = 0; b < B; b++) {
      const float* __restrict z = Z.data() + b * G4;
      float* __restrict g = gNow + b * G5;
      const float* __restrict cp = cPrev ? cPrev + b * H : zeros.data();
      float* __restrict c = cNow + b * H;
      if (aNext) {
        // h(t) into the next step's operand, with x(t+1)
        float* a = aNext + b * K;
        lstmCellRow(z, g, cp, c, a, H);
        std::memcpy(a + H, X + (b * T + t + 1) * I, sizeof(float) * I);
        a[H + I] = 1.0f;
        std::memset(a + H + I + 1, 0, sizeof(float) * (K - H - I - 1));
        if (seq) std::memcpy(Y + (b * T + t) * H, a, sizeof(float) * H);
      } else
        lstmCellRow(z, g, cp, c, Y + (seq ? b * T + t : b) * H, H);
    }
  }
}

// The backward pass on raw buffers (lstmBackward's layouts).
void lstmBackwardRun(int64_t B, int64_t T, int64_t I, int64_t H, bool seq, const float* W, const float* U,
                     const float* A, const float* Cs, const float* G, const float* DY, float* DX, float* DW,
                     float* DU, float* DB, bool weightGrads, bool accumulate = false) {
  const int64_t G4 = 4 * H, G5 = 5 * H, K = stackedWidth(I, H);
  std::vector<float>& dZ = scratch(1);
  std::vector<float>& dS = scratch(2);
  dZ.resize(static_cast<size_t>(T * B * G4));
  // dh(t-1) = dz(t) U^T: U [H, 4H] read as its transpose
  StepProduct dhOf("lstmB", B, H, G4, G4, H, true, U, G4);
  std::vector<float> dh(static_cast<size_t>(B * H), 0.0f), dc(static_cast<size_t>(B * H), 0.0f);
  const std::vector<float> zeros(static_cast<size_t>(H), 0.0f);
  for (int64_t t = T - 1; t >= 0; t--) {
#pragma omp parallel for schedule(static) if (B * H > 4096)
    for (int64_t b = 0; b < B; b++) {
      const float* __restrict z = G + (t * B + b) * G5;
      const float* __restrict cp = t > 0 ? Cs + ((t - 1) * B + b) * H : zeros.data();
      const float* __restrict dyt = seq ? DY + (b * T + t) * H : (t == T - 1 ? DY + b * H : zeros.data());
      lstmCellRowGrad(z, cp, dyt, dZ.data() + (t * B + b) * G4, dh.data() + b * H, dc.data() + b * H, H);
    }
    if (t > 0) dhOf.run(dZ.data() + t * B * G4, dh.data());
  }
  // [dU; dW; db] = sum over steps and rows of [h(t-1) | x(t) | 1]^T dz(t) (h(-1) = 0): one product,
  // as costly as the forward's; zeros when the caller differentiates with respect to x only. With
  // `accumulate`, added to the sum dS holds from the previous call (the recomputing backward's chunks).
  if (weightGrads) {
    dS.resize(static_cast<size_t>(K * G4));
    gemm('T', 'N', K, G4, T * B, 1.0f, A, K, dZ.data(), G4, accumulate ? 1.0f : 0.0f, dS.data(), G4);
    std::memcpy(DU, dS.data(), sizeof(float) * H * G4);
    std::memcpy(DW, dS.data() + H * G4, sizeof(float) * I * G4);
    std::memcpy(DB, dS.data() + (H + I) * G4, sizeof(float) * G4);
  } else {
    std::memset(DU, 0, sizeof(float) * H * G4);
    std::memset(DW, 0, sizeof(float) * I * G4);
    std::memset(DB, 0, sizeof(float) * G4);
  }
  // dx = dZ W^T, rows in step-major order, then back to [B, T, I]
  std::vector<float> dxt(static_cast<size_t>(T * B * I));
  gemm('N', 'T', T * B, I, G4, 1.0f, dZ.data(), G4, W, G4, 0.0f, dxt.data(), I);
  for (int64_t t = 0; t < T; t++)
    for (int64_t b = 0; b < B; b++)
      std::memcpy(DX + (b * T + t) * I, dxt.data() + (t * B + b) * I, sizeof(float) * I);
}

// The backward pass recomputing what lstmForward keeps, `chunk` sequences at a time, into the
// thread's scratch: memory O(chunk T (K + 10H)) whatever B, at the cost of a second forward pass. At
// GAN-PO's batches (13,000 sequences x 30 days x 128 units) the kept states are 1.4 GB, each a fresh
// allocation whose first-touch page faults cost three times the arithmetic (gradient checkpointing,
// Chen et al. 2016, with one segment per chunk of the batch).
void lstmBackwardRecomputeRun(const float* X, int64_t B, int64_t T, int64_t I, int64_t H, bool seq, const float* W,
                              const float* U, const float* Bias, const float* DY, float* DX, float* DW, float* DU,
                              float* DB, bool weightGrads, int64_t chunk) {
  const int64_t K = stackedWidth(I, H), G5 = 5 * H;
  std::vector<float>& A = scratch(7);
  std::vector<float>& Cs = scratch(8);
  std::vector<float>& G = scratch(9);
  std::vector<float>& Y = scratch(10);
  for (int64_t b0 = 0; b0 < B; b0 += chunk) {
    const int64_t nb = std::min(chunk, B - b0);
    A.resize(static_cast<size_t>(T * nb * K));
    Cs.resize(static_cast<size_t>(T * nb * H));
    G.resize(static_cast<size_t>(T * nb * G5));
    Y.resize(static_cast<size_t>(seq ? nb * T * H : nb * H));
    lstmForwardRun(X + b0 * T * I, nb, T, I, H, W, U, Bias, A.data(), Cs.data(), G.data(), Y.data(), seq);
    lstmBackwardRun(nb, T, I, H, seq, W, U, A.data(), Cs.data(), G.data(), DY + b0 * (seq ? T * H : H),
                    DX + b0 * T * I, DW, DU, DB, weightGrads, b0 > 0);
  }
}

}  // namespace

// lstmForward(x [B,T,I], dims [B,T,I,H,seq], W [I,4H], U [H,4H], bias [4H], states [T,B,K],
// cs [T,B,H], gates [T,B,5H], y): the LSTM of tfjs's LSTMCell (Hochreiter & Schmidhuber 1997 with
// a forget gate, Gers et al. 2000; gate order i, f, c, o as Keras) from zero states, sigmoid gates
// and tanh: z = x W + h U + b; c = f c' + i tanh(z_c); h = o tanh(c). y is every h [B,T,H] when
// seq, else the last [B,H]. Keeps, step-major, each step's operand [h(t-1) | x(t) | 1 | 0]
// (K = lstmStackedWidth(I, H) wide), the cell states, and i, f, g, o, tanh(c) for lstmBackward.
napi_value LstmForward(napi_env env, napi_callback_info info) {
  Args<9> a(env, info);
  if (!a) return napiFailed(env);
  size_t nx = 0, nw = 0, nu = 0, nb = 0, na = 0, nc = 0, ng = 0, ny = 0;
  float* X = a.f32(0, &nx);
  auto d = a.ints(1);
  float* W = a.f32(2, &nw);
  float* U = a.f32(3, &nu);
  float* Bias = a.f32(4, &nb);
  float* A = a.f32(5, &na);
  float* Cs = a.f32(6, &nc);
  float* G = a.f32(7, &ng);
  float* Y = a.f32(8, &ny);
  if (d.size() != 5 || !X || !W || !U || !Bias || !A || !Cs || !G || !Y) return fail(env, "lstmForward: bad operands");
  const int64_t B = d[0], T = d[1], I = d[2], H = d[3], G4 = 4 * H;
  const bool seq = d[4] != 0;
  if (B <= 0 || T <= 0 || I <= 0 || H <= 0 || nx != size_t(B * T * I) || nw != size_t(I * G4) ||
      nu != size_t(H * G4) || nb != size_t(G4) || na != size_t(T * B * stackedWidth(I, H)) ||
      nc != size_t(B * T * H) || ng != size_t(B * T * 5 * H) || ny != size_t(seq ? B * T * H : B * H))
    return fail(env, "lstmForward: operand sizes do not match [B,T,I,H]");
  try {
    lstmForwardRun(X, B, T, I, H, W, U, Bias, A, Cs, G, Y, seq);
  } catch (const std::exception& e) {
    unsupported(env, e);
  }
  return nullptr;
}

// lstmInfer(x [B,T,I], dims [B,T,I,H,seq], W, U, bias, y): lstmForward's y alone, keeping nothing for
// a gradient (a prediction): the same arithmetic in O(B (K + 6H)) scratch instead of the T-long states.
napi_value LstmInfer(napi_env env, napi_callback_info info) {
  Args<6> a(env, info);
  if (!a) return napiFailed(env);
  size_t nx = 0, nw = 0, nu = 0, nb = 0, ny = 0;
  float* X = a.f32(0, &nx);
  auto d = a.ints(1);
  float* W = a.f32(2, &nw);
  float* U = a.f32(3, &nu);
  float* Bias = a.f32(4, &nb);
  float* Y = a.f32(5, &ny);
  if (d.size() != 5 || !X || !W || !U || !Bias || !Y) return fail(env, "lstmInfer: bad operands");
  const int64_t B = d[0], T = d[1], I = d[2], H = d[3], G4 = 4 * H;
  const bool seq = d[4] != 0;
  if (B <= 0 || T <= 0 || I <= 0 || H <= 0 || nx != size_t(B * T * I) || nw != size_t(I * G4) ||
      nu != size_t(H * G4) || nb != size_t(G4) || ny != size_t(seq ? B * T * H : B * H))
    return fail(env, "lstmInfer: operand sizes do not match [B,T,I,H]");
  try {
    lstmForwardRun(X, B, T, I, H, W, U, Bias, nullptr, nullptr, nullptr, Y, seq);
  } catch (const std::exception& e) {
    unsupported(env, e);
  }
  return nullptr;
}

// lstmBackward(dims [B,T,I,H,seq,weightGrads], W, U, states, cs, gates, dy, dx, dW, dU, db):
// back-propagation through time of lstmForward from its kept states; dy is [B,T,H] when seq, else the
// gradient of the last h [B,H]. Without weightGrads, dW, dU and db are zeros (dx alone is wanted: a
// network differentiated with respect to its input), which saves a product as costly as the forward.
napi_value LstmBackward(napi_env env, napi_callback_info info) {
  Args<11> a(env, info);
  if (!a) return napiFailed(env);
  size_t nw = 0, nu = 0, na = 0, nc = 0, ng = 0, ndy = 0, ndx = 0, ndw = 0, ndu = 0, ndb = 0;
  auto d = a.ints(0);
  float* W = a.f32(1, &nw);
  float* U = a.f32(2, &nu);
  float* A = a.f32(3, &na);
  float* Cs = a.f32(4, &nc);
  float* G = a.f32(5, &ng);
  float* DY = a.f32(6, &ndy);
  float* DX = a.f32(7, &ndx);
  float* DW = a.f32(8, &ndw);
  float* DU = a.f32(9, &ndu);
  float* DB = a.f32(10, &ndb);
  if (d.size() != 6 || !W || !U || !A || !Cs || !G || !DY || !DX || !DW || !DU || !DB)
    return fail(env, "lstmBackward: bad operands");
  const int64_t B = d[0], T = d[1], I = d[2], H = d[3], G4 = 4 * H;
  const bool seq = d[4] != 0;
  if (B <= 0 || T <= 0 || I <= 0 || H <= 0 || nw != size_t(I * G4) || nu != size_t(H * G4) ||
      na != size_t(T * B * stackedWidth(I, H)) || nc != size_t(B * T * H) || ng != size_t(B * T * 5 * H) ||
      ndy != size_t(seq ? B * T * H : B * H) || ndx != size_t(B * T * I) || ndw != nw || ndu != nu ||
      ndb != size_t(G4))
    return fail(env, "lstmBackward: operand sizes do not match [B,T,I,H]");
  try {
    lstmBackwardRun(B, T, I, H, seq, W, U, A, Cs, G, DY, DX, DW, DU, DB, d[5] != 0);
  } catch (const std::exception& e) {
    unsupported(env, e);
  }
  return nullptr;
}

// lstmGradRecompute(x, dims [B,T,I,H,seq,weightGrads,chunk], W, U, bias, dy, dx, dW, dU, db):
// lstmBackward's gradients from the inputs alone, the forward recomputed `chunk` sequences at a time.
napi_value LstmGradRecompute(napi_env env, napi_callback_info info) {
  Args<10> a(env, info);
  if (!a) return napiFailed(env);
  size_t nx = 0, nw = 0, nu = 0, nb = 0, ndy = 0, ndx = 0, ndw = 0, ndu = 0, ndb = 0;
  float* X = a.f32(0, &nx);
  auto d = a.ints(1);
  float* W = a.f32(2, &nw);
  float* U = a.f32(3, &nu);
  float* Bias = a.f32(4, &nb);
  float* DY = a.f32(5, &ndy);
  float* DX = a.f32(6, &ndx);
  float* DW = a.f32(7, &ndw);
  float* DU = a.f32(8, &ndu);
  float* DB = a.f32(9, &ndb);
  if (d.size() != 7 || !X || !W || !U || !Bias || !DY || !DX || !DW || !DU || !DB)
    return fail(env, "lstmGradRecompute: bad operands");
  const int64_t B = d[0], T = d[1], I = d[2], H = d[3], G4 = 4 * H, chunk = d[6];
  const bool seq = d[4] != 0;
  if (B <= 0 || T <= 0 || I <= 0 || H <= 0 || chunk <= 0 || nx != size_t(B * T * I) || nw != size_t(I * G4) ||
      nu != size_t(H * G4) || nb != size_t(G4) || ndy != size_t(seq ? B * T * H : B * H) || ndx != nx ||
      ndw != nw || ndu != nu || ndb != nb)
    return fail(env, "lstmGradRecompute: operand sizes do not match [B,T,I,H]");
  try {
    lstmBackwardRecomputeRun(X, B, T, I, H, seq, W, U, Bias, DY, DX, DW, DU, DB, d[5] != 0, chunk);
  } catch (const std::exception& e) {
    unsupported(env, e);
  }
  return nullptr;
}

}  // namespace fieldcal
