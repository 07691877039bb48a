// Fieldcal native kernels: tfjs's heaviest CPU kernels on oneDNN (Intel/UXL oneDNN 2.x, Debian's
// libdnnl), called through N-API on the CPU backend's own Float32Arrays (no copies). Layouts are
// tfjs's: activations NHWC, filters HWIO, matmul operands row-major with optional transposes.
// Primitives are cached by shape, so a training loop pays their creation once.
#include <node_api.h>
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

namespace {

dnnl::engine& eng() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

struct Cached {
  dnnl::primitive prim;
  memory::desc src, wei, dst;
  // weights reordered into the primitive's preferred layout when it is not tfjs's
  bool reorderWei = false;
  memory::desc userWei;
  bool reorderSrc = false;
  memory::desc userSrc;
  bool reorderDst = false;
  memory::desc userDst;
};

std::mutex cacheMutex;
std::unordered_map<std::string, std::shared_ptr<Cached>> cache;

#define CHECK(call)                                                   \
  do {                                                                \
    napi_status s_ = (call);                                          \
    if (s_ != napi_ok) {                                              \
      napi_throw_error(env, "FIELDCAL_NATIVE", "N-API call failed");  \
      return nullptr;                                                 \
    }                                                                 \
  } while (0)

float* f32(napi_env env, napi_value v, size_t* len) {
  napi_typedarray_type type;
  size_t length;
  void* data;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &offset) != napi_ok ||
      type != napi_float32_array)
    return nullptr;
  if (len) *len = length;
  return static_cast<float*>(data);
}

std::vector<int64_t> ints(napi_env env, napi_value arr) {
  uint32_t n = 0;
  napi_get_array_length(env, arr, &n);
  std::vector<int64_t> out(n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    napi_get_element(env, arr, i, &e);
    int64_t x = 0;
    napi_get_value_int64(env, e, &x);
    out[i] = x;
  }
  return out;
}

std::string key(const char* op, const std::vector<int64_t>& v) {
  std::ostringstream s;
  s << op;
  for (auto x : v) s << ',' << x;
  return s.str();
}

// The cached primitive for key `k`, built by `build` on first use.
template <class Build>
std::shared_ptr<Cached> cached(const std::string& k, Build build) {
  {
    std::lock_guard<std::mutex> lock(cacheMutex);
    auto it = cache.find(k);
    if (it != cache.end()) return it->second;
  }
  auto c = std::make_shared<Cached>();
  build(*c);
  std::lock_guard<std::mutex> lock(cacheMutex);
  cache[k] = c;
  return c;
}

// Throws the typed error the JavaScript side reads as "bad operands" and returns nothing.
napi_value fail(napi_env env, const char* message) {
  napi_throw_type_error(env, "FIELDCAL_NATIVE", message);
  return nullptr;
}

// Runs `prim` with user buffers, reordering into and out of the primitive's layouts when needed.
void execute(const Cached& c, int srcArg, float* src, int weiArg, float* wei, int dstArg, float* dst) {
  dnnl::stream strm(eng());
  memory srcUser(c.reorderSrc ? c.userSrc : c.src, eng(), src);
  memory weiUser(c.reorderWei ? c.userWei : c.wei, eng(), wei);
  memory dstUser(c.reorderDst ? c.userDst : c.dst, eng(), dst);
  memory srcM = srcUser, weiM = weiUser, dstM = dstUser;
  if (c.reorderSrc) {
    srcM = memory(c.src, eng());
    dnnl::reorder(srcUser, srcM).execute(strm, srcUser, srcM);
  }
  if (c.reorderWei) {
    weiM = memory(c.wei, eng());
    dnnl::reorder(weiUser, weiM).execute(strm, weiUser, weiM);
  }
  if (c.reorderDst) dstM = memory(c.dst, eng());
  c.prim.execute(strm, {{srcArg, srcM}, {weiArg, weiM}, {dstArg, dstM}});
  if (c.reorderDst) dnnl::reorder(dstM, dstUser).execute(strm, dstM, dstUser);
  strm.wait();
}

// conv(mode, x, xShape[N,H,W,C], w, wShape[KH,KW,IC,OC], y, yShape[N,OH,OW,OC], [sh,sw,dh,dw,pt,pb,pl,pr])
// mode 0: y = conv(x, w); 1: x = dconv/dx given dy (y) and w; 2: w = dconv/dw given x and dy (y).
napi_value Conv(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value a[8];
  CHECK(napi_get_cb_info(env, info, &argc, a, nullptr, nullptr));
  if (argc < 8) return fail(env, "conv needs 8 arguments");
  int32_t mode = 0;
  napi_get_value_int32(env, a[0], &mode);
  float* x = f32(env, a[1], nullptr);
  float* w = f32(env, a[3], nullptr);
  float* y = f32(env, a[5], nullptr);
  if (!x || !w || !y) return fail(env, "conv operands must be Float32Arrays");
  auto xs = ints(env, a[2]), ws = ints(env, a[4]), ys = ints(env, a[6]), p = ints(env, a[7]);
  std::vector<int64_t> all = {mode};
  all.insert(all.end(), xs.begin(), xs.end());
  all.insert(all.end(), ws.begin(), ws.end());
  all.insert(all.end(), ys.begin(), ys.end());
  all.insert(all.end(), p.begin(), p.end());
  std::string k = key("conv", all);
  try {
    auto c = cached(k, [&](Cached& c) {
      memory::dims src = {xs[0], xs[3], xs[1], xs[2]};
      memory::dims wei = {ws[3], ws[2], ws[0], ws[1]};
      memory::dims dst = {ys[0], ys[3], ys[1], ys[2]};
      memory::dims strides = {p[0], p[1]}, dil = {p[2] - 1, p[3] - 1}, padL = {p[4], p[6]}, padR = {p[5], p[7]};
      auto weiAny = memory::desc(wei, dt::f32, tag::any);
      auto srcUser = memory::desc(src, dt::f32, tag::nhwc);
      auto weiUser = memory::desc(wei, dt::f32, tag::hwio);
      auto dstUser = memory::desc(dst, dt::f32, tag::nhwc);
      // activations stay in tfjs's NHWC (no reorder of the big tensors); only weights may be reordered
      dnnl::convolution_forward::desc fd(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                         srcUser, weiAny, dstUser, strides, dil, padL, padR);
      dnnl::convolution_forward::primitive_desc fpd(fd, eng());
      if (mode == 0) {
        c.prim = dnnl::convolution_forward(fpd);
        c.src = srcUser;
        c.wei = fpd.weights_desc();
        c.dst = dstUser;
      } else if (mode == 1) {
        dnnl::convolution_backward_data::desc bd(dnnl::algorithm::convolution_direct, srcUser, weiAny, dstUser,
                                                 strides, dil, padL, padR);
        dnnl::convolution_backward_data::primitive_desc bpd(bd, eng(), fpd);
        c.prim = dnnl::convolution_backward_data(bpd);
        c.src = dstUser;  // input of this primitive: diff_dst
        c.wei = bpd.weights_desc();
        c.dst = srcUser;  // output: diff_src
      } else {
        dnnl::convolution_backward_weights::desc bd(dnnl::algorithm::convolution_direct, srcUser, weiAny, dstUser,
                                                    strides, dil, padL, padR);
        dnnl::convolution_backward_weights::primitive_desc bpd(bd, eng(), fpd);
        c.prim = dnnl::convolution_backward_weights(bpd);
        c.src = srcUser;
        c.wei = dstUser;  // diff_dst, in the weights slot of execute()
        c.dst = bpd.diff_weights_desc();
        c.userDst = weiUser;
        c.reorderDst = c.dst != weiUser;
      }
      if (mode != 2) {
        c.userWei = weiUser;
        c.reorderWei = c.wei != weiUser;
      }
    });
    if (mode == 0)
      execute(*c, DNNL_ARG_SRC, x, DNNL_ARG_WEIGHTS, w, DNNL_ARG_DST, y);
    else if (mode == 1)
      execute(*c, DNNL_ARG_DIFF_DST, y, DNNL_ARG_WEIGHTS, w, DNNL_ARG_DIFF_SRC, x);
    else
      execute(*c, DNNL_ARG_SRC, x, DNNL_ARG_DIFF_DST, y, DNNL_ARG_DIFF_WEIGHTS, w);
  } catch (const dnnl::error& e) {
    napi_throw_error(env, "FIELDCAL_NATIVE_UNSUPPORTED", e.what());
    return nullptr;
  }
  return nullptr;
}

// matmul(a, [batchA, rowsA, colsA], b, [batchB, rowsB, colsB], transposeA, transposeB, out [batch, M, N])
napi_value MatMul(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value a[7];
  CHECK(napi_get_cb_info(env, info, &argc, a, nullptr, nullptr));
  if (argc < 7) return fail(env, "matmul needs 7 arguments");
  float* A = f32(env, a[0], nullptr);
  float* B = f32(env, a[2], nullptr);
  float* C = f32(env, a[6], nullptr);
  if (!A || !B || !C) return fail(env, "matmul operands must be Float32Arrays");
  auto as = ints(env, a[1]), bs = ints(env, a[3]);
  bool ta = false, tb = false;
  napi_get_value_bool(env, a[4], &ta);
  napi_get_value_bool(env, a[5], &tb);
  int64_t M = ta ? as[2] : as[1], K = ta ? as[1] : as[2], N = tb ? bs[1] : bs[2];
  int64_t batch = std::max(as[0], bs[0]);
  std::string k = key("mm", {as[0], as[1], as[2], bs[0], bs[1], bs[2], ta, tb});
  try {
    auto c = cached(k, [&](Cached& c) {
      // a stored [batch, rows, cols]; as an M x K operand its strides swap when transposed
      // a batch of 1 broadcasts (oneDNN matmul broadcasts dimensions of size 1)
      memory::dims aStr = ta ? memory::dims{M * K, 1, M} : memory::dims{M * K, K, 1};
      memory::dims bStr = tb ? memory::dims{K * N, 1, K} : memory::dims{K * N, N, 1};
      c.src = memory::desc({as[0], M, K}, dt::f32, aStr);
      c.wei = memory::desc({bs[0], K, N}, dt::f32, bStr);
      c.dst = memory::desc({batch, M, N}, dt::f32, tag::abc);
      dnnl::matmul::desc md(c.src, c.wei, c.dst);
      dnnl::matmul::primitive_desc pd(md, eng());
      c.prim = dnnl::matmul(pd);
    });
    execute(*c, DNNL_ARG_SRC, A, DNNL_ARG_WEIGHTS, B, DNNL_ARG_DST, C);
  } catch (const dnnl::error& e) {
    napi_throw_error(env, "FIELDCAL_NATIVE_UNSUPPORTED", e.what());
    return nullptr;
  }
  return nullptr;
}

// binary(op, a, aStrides, b, bStrides, out, outShape): out = a (op) b with broadcasting, where the
// strides (in elements) are 0 along broadcast dimensions. op: 0 add, 1 sub, 2 mul, 3 div.
napi_value Binary(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value a[7];
  CHECK(napi_get_cb_info(env, info, &argc, a, nullptr, nullptr));
  int32_t op = 0;
  napi_get_value_int32(env, a[0], &op);
  float* A = f32(env, a[1], nullptr);
  float* B = f32(env, a[3], nullptr);
  float* C = f32(env, a[5], nullptr);
  if (!A || !B || !C) return fail(env, "binary operands must be Float32Arrays");
  auto as = ints(env, a[2]), bs = ints(env, a[4]), shape = ints(env, a[6]);
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

// reduceSum(x, outer, reduce, inner, out): out[o, i] = sum_r x[o, r, i] (accumulated in double).
napi_value ReduceSum(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value a[5];
  CHECK(napi_get_cb_info(env, info, &argc, a, nullptr, nullptr));
  float* X = f32(env, a[0], nullptr);
  float* Y = f32(env, a[4], nullptr);
  int64_t outer = 0, red = 0, inner = 0;
  napi_get_value_int64(env, a[1], &outer);
  napi_get_value_int64(env, a[2], &red);
  napi_get_value_int64(env, a[3], &inner);
  if (!X || !Y) return fail(env, "reduce operands must be Float32Arrays");
  if (inner == 1) {
#pragma omp parallel for schedule(static) if (outer * red > 32768)
    for (int64_t o = 0; o < outer; o++) {
      double s = 0;
      const float* p = X + o * red;
      for (int64_t r = 0; r < red; r++) s += p[r];
      Y[o] = static_cast<float>(s);
    }
    return nullptr;
  }
  for (int64_t o = 0; o < outer; o++) {
    std::vector<double> acc(inner, 0.0);
    const float* base = X + o * red * inner;
    int nt = omp_get_max_threads();
    std::vector<std::vector<double>> part(nt, std::vector<double>(inner, 0.0));
#pragma omp parallel if (red * inner > 32768)
    {
      auto& mine = part[omp_get_thread_num()];
#pragma omp for schedule(static)
      for (int64_t r = 0; r < red; r++) {
        const float* p = base + r * inner;
        for (int64_t i = 0; i < inner; i++) mine[i] += p[i];
      }
    }
    for (auto& p : part)
      for (int64_t i = 0; i < inner; i++) acc[i] += p[i];
    for (int64_t i = 0; i < inner; i++) Y[o * inner + i] = static_cast<float>(acc[i]);
  }
  return nullptr;
}

double num(napi_env env, napi_value v) {
  double d = 0;
  napi_get_value_double(env, v, &d);
  return d;
}

// Column sums of an [M, C] row-major matrix of per-row terms, in double, with one partial row
// per thread (deterministic for a thread count): out[k * C + c] = sum_m term_k(m, c), k < K.
template <int K, class Term>
void columnSums(int64_t M, int64_t C, Term term, std::vector<double>& out) {
  const int nt = (M * C > 32768) ? omp_get_max_threads() : 1;
  std::vector<double> part(static_cast<size_t>(nt) * K * C, 0.0);
#pragma omp parallel num_threads(nt)
  {
    double* mine = part.data() + static_cast<size_t>(omp_get_thread_num()) * K * C;
#pragma omp for schedule(static)
    for (int64_t m = 0; m < M; m++) term(m, mine);
  }
  out.assign(static_cast<size_t>(K) * C, 0.0);
  for (int t = 0; t < nt; t++)
    for (int64_t i = 0; i < K * C; i++) out[i] += part[static_cast<size_t>(t) * K * C + i];
}

// batchNormTrain(x, C, gamma, beta, eps, y, mean, variance): batch normalisation in training mode
// over the rows of channels-last x [M, C] (Ioffe & Szegedy 2015, alg. 1; biased variance as
// tf.moments): y = gamma (x - mean) / sqrt(variance + eps) + beta. Two passes for the statistics.
napi_value BatchNormTrain(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value a[8];
  CHECK(napi_get_cb_info(env, info, &argc, a, nullptr, nullptr));
  size_t n = 0, nc = 0;
  float* X = f32(env, a[0], &n);
  const int64_t C = static_cast<int64_t>(num(env, a[1]));
  float* G = f32(env, a[2], &nc);
  float* Bt = f32(env, a[3], nullptr);
  const double eps = num(env, a[4]);
  float* Y = f32(env, a[5], nullptr);
  float* Mean = f32(env, a[6], nullptr);
  float* Var = f32(env, a[7], nullptr);
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
  size_t argc = 10;
  napi_value a[10];
  CHECK(napi_get_cb_info(env, info, &argc, a, nullptr, nullptr));
  size_t n = 0, ndy = 0, nc = 0;
  float* X = f32(env, a[0], &n);
  float* DY = f32(env, a[1], &ndy);
  const int64_t C = static_cast<int64_t>(num(env, a[2]));
  float* G = f32(env, a[3], &nc);
  float* Mean = f32(env, a[4], nullptr);
  float* Var = f32(env, a[5], nullptr);
  const double eps = num(env, a[6]);
  float* DX = f32(env, a[7], nullptr);
  float* DG = f32(env, a[8], nullptr);
  float* DB = f32(env, a[9], nullptr);
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

// leakyRelu(x, alpha, y): y = x > 0 ? x : alpha x (Maas et al. 2013); leakyReluGrad(x, dy, alpha, dx):
// dx = x > 0 ? dy : alpha dy, as tfjs's LeakyRelu gradient.
napi_value LeakyRelu(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value a[4];
  CHECK(napi_get_cb_info(env, info, &argc, a, nullptr, nullptr));
  const bool grad = argc == 4;
  size_t n = 0, m = 0, k = 0;
  float* X = f32(env, a[0], &n);
  float* DY = grad ? f32(env, a[1], &k) : nullptr;
  const float alpha = static_cast<float>(num(env, a[grad ? 2 : 1]));
  float* Y = f32(env, a[grad ? 3 : 2], &m);
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

// copyRows(src, srcStride, srcOffset, dst, dstStride, dstOffset, rows, width): dst[r * dstStride +
// dstOffset + j] = src[r * srcStride + srcOffset + j] for j < width: concatenation, split and slice
// along one axis as block copies.
napi_value CopyRows(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value a[8];
  CHECK(napi_get_cb_info(env, info, &argc, a, nullptr, nullptr));
  size_t ns = 0, nd = 0;
  float* S = f32(env, a[0], &ns);
  float* D = f32(env, a[3], &nd);
  const int64_t ss = static_cast<int64_t>(num(env, a[1])), so = static_cast<int64_t>(num(env, a[2]));
  const int64_t ds = static_cast<int64_t>(num(env, a[4])), dof = static_cast<int64_t>(num(env, a[5]));
  const int64_t rows = static_cast<int64_t>(num(env, a[6])), w = static_cast<int64_t>(num(env, a[7]));
  if (!S || !D || rows < 0 || w < 0 || so < 0 || dof < 0 ||
      (rows > 0 && (static_cast<size_t>((rows - 1) * ss + so + w) > ns ||
                    static_cast<size_t>((rows - 1) * ds + dof + w) > nd)))
    return fail(env, "copyRows: bad operands or out of range");
#pragma omp parallel for schedule(static) if (rows * w > 65536)
  for (int64_t r = 0; r < rows; r++) std::memcpy(D + r * ds + dof, S + r * ss + so, sizeof(float) * w);
  return nullptr;
}

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

// lstmForward(x [B,T,I], dims [B,T,I,H], W [I,4H], U [H,4H], bias [4H], hs [B,T,H], cs [B,T,H],
// gates [B,T,5H]): the LSTM of tfjs's LSTMCell (Hochreiter & Schmidhuber 1997 with a forget gate,
// Gers et al. 2000; gate order i, f, c, o as Keras) from zero states, sigmoid gates and tanh:
// z = x W + h U + b; c = f c' + i tanh(z_c); h = o tanh(c). Keeps i, f, g, o, tanh(c) per step.
napi_value LstmForward(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value a[9];
  CHECK(napi_get_cb_info(env, info, &argc, a, nullptr, nullptr));
  size_t nx = 0, nw = 0, nu = 0, nb = 0, nh = 0, nc = 0, ng = 0;
  float* X = f32(env, a[0], &nx);
  auto d = ints(env, a[1]);
  float* W = f32(env, a[2], &nw);
  float* U = f32(env, a[3], &nu);
  float* Bias = f32(env, a[4], &nb);
  float* Hs = f32(env, a[5], &nh);
  float* Cs = f32(env, a[6], &nc);
  float* G = f32(env, a[7], &ng);
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
    napi_throw_error(env, "FIELDCAL_NATIVE_UNSUPPORTED", e.what());
  }
  return nullptr;
}

// lstmBackward(x, dims [B,T,I,H,seq], W, U, hs, cs, gates, dy, dx, dW, dU, db): back-propagation
// through time of lstmForward; dy is [B,T,H] when seq, else the gradient of the last h [B,H].
napi_value LstmBackward(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value a[12];
  CHECK(napi_get_cb_info(env, info, &argc, a, nullptr, nullptr));
  size_t nx = 0, nw = 0, nu = 0, nh = 0, nc = 0, ng = 0, ndy = 0, ndx = 0, ndw = 0, ndu = 0, ndb = 0;
  float* X = f32(env, a[0], &nx);
  auto d = ints(env, a[1]);
  float* W = f32(env, a[2], &nw);
  float* U = f32(env, a[3], &nu);
  float* Hs = f32(env, a[4], &nh);
  float* Cs = f32(env, a[5], &nc);
  float* G = f32(env, a[6], &ng);
  float* DY = f32(env, a[7], &ndy);
  float* DX = f32(env, a[8], &ndx);
  float* DW = f32(env, a[9], &ndw);
  float* DU = f32(env, a[10], &ndu);
  float* DB = f32(env, a[11], &ndb);
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
    napi_throw_error(env, "FIELDCAL_NATIVE_UNSUPPORTED", e.what());
  }
  return nullptr;
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  CHECK(napi_get_cb_info(env, info, &argc, a, nullptr, nullptr));
  int32_t n = 1;
  napi_get_value_int32(env, a[0], &n);
  if (n > 0) omp_set_num_threads(n);
  napi_value r;
  napi_create_int32(env, omp_get_max_threads(), &r);
  return r;
}

napi_value Info(napi_env env, napi_callback_info) {
  const dnnl_version_t* v = dnnl_version();
  std::ostringstream s;
  s << "oneDNN " << v->major << '.' << v->minor << '.' << v->patch << " (" << v->cpu_runtime << ")";
  napi_value r;
  napi_create_string_utf8(env, s.str().c_str(), NAPI_AUTO_LENGTH, &r);
  return r;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"conv", nullptr, Conv, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"matmul", nullptr, MatMul, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"binary", nullptr, Binary, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reduceSum", nullptr, ReduceSum, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormTrain", nullptr, BatchNormTrain, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormGrad", nullptr, BatchNormGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"leakyRelu", nullptr, LeakyRelu, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"copyRows", nullptr, CopyRows, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"lstmForward", nullptr, LstmForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"lstmBackward", nullptr, LstmBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
