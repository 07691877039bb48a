// Shared by the kernel families of the Fieldcal native addon (one .cc per family, addon.cc
// registers them): argument unpacking, the errors the JavaScript side reads, the oneDNN engine and
// its primitive cache, and the per-thread column sums of the fused layers.
#pragma once

#include <node_api.h>
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "signals.h"

namespace fieldcal {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

// ---- errors: every failure is a JavaScript error whose code starts with FIELDCAL_NATIVE ----

// Throws the typed error the JavaScript side reads as "bad operands" and returns nothing.
napi_value fail(napi_env env, const char* message);

// Throws FIELDCAL_NATIVE_UNSUPPORTED (a case the library refuses, e.g. a layout oneDNN does not
// take; the JavaScript side runs its own kernel instead) and returns nothing.
napi_value unsupported(napi_env env, const std::exception& e);

// Throws FIELDCAL_NATIVE "N-API call failed" and returns nothing.
napi_value napiFailed(napi_env env);

// ---- arguments ----

// The Float32Array `v`'s data (and its length in `len`), or nullptr when it is not one.
float* f32(napi_env env, napi_value v, size_t* len);

// The integers of the array `arr` (a shape, strides, parameters); empty when it is not an array.
std::vector<int64_t> ints(napi_env env, napi_value arr);

// The number `v` as a double, 0 when it is not a number.
double num(napi_env env, napi_value v);

// The arguments of one call, at most N (missing ones are undefined). False when N-API failed: the
// export then returns napiFailed(env). Signals wait while it lives (SignalsHeld): every kernel
// holds one for its whole call.
template <size_t N>
struct Args {
  SignalsHeld held;
  napi_env env;
  size_t count = N;  // the number of arguments passed
  napi_value v[N];
  bool ok;

  Args(napi_env e, napi_callback_info info) : env(e) {
    ok = napi_get_cb_info(env, info, &count, v, nullptr, nullptr) == napi_ok;
  }
  explicit operator bool() const { return ok; }

  // Argument i as a Float32Array's data (nullptr when it is not one), its length in `len`.
  float* f32(size_t i, size_t* len = nullptr) const { return fieldcal::f32(env, v[i], len); }
  // Argument i as an array of integers (a shape).
  std::vector<int64_t> ints(size_t i) const { return fieldcal::ints(env, v[i]); }
  // Argument i as a double (0 when not a number).
  double num(size_t i) const { return fieldcal::num(env, v[i]); }
  // Argument i as a double truncated to int64 (sizes, offsets and strides).
  int64_t truncated(size_t i) const { return static_cast<int64_t>(num(i)); }
  // Argument i as an int32 (`fallback` when not a number).
  int32_t int32(size_t i, int32_t fallback = 0) const {
    int32_t x = fallback;
    napi_get_value_int32(env, v[i], &x);
    return x;
  }
  // Argument i as N-API's int64 conversion gives it (0 when not a number).
  int64_t int64(size_t i) const {
    int64_t x = 0;
    napi_get_value_int64(env, v[i], &x);
    return x;
  }
  // Argument i as a boolean (false when not one).
  bool boolean(size_t i) const {
    bool x = false;
    napi_get_value_bool(env, v[i], &x);
    return x;
  }
};

// ---- oneDNN: one CPU engine, primitives cached by shape ----

dnnl::engine& eng();

// Attributes of every cached primitive: a caller-owned scratchpad (dnnl::scratchpad_mode::user).
// With the library's default (one global scratchpad per creating thread), a primitive executed in
// another thread than the one that built it reads that thread's scratchpad, freed when it exits
// (oneDNN developer guide, "Primitive Attributes: Scratchpad"): the cache below is shared by every
// job thread of the process, so each execution passes its own thread's scratchpad instead.
dnnl::primitive_attr userScratchpad();

// The calling thread's scratchpad as a memory of `md` (a buffer grown as needed and kept between
// calls; executions on one thread are sequential, so they share it).
memory scratchpad(const memory::desc& md);

// A weight operand reordered into a primitive's layout, kept for the tensor it came from: `token`
// names the tensor (process-unique, given by the JavaScript side for one immutable tfjs tensor),
// `user` its data; both must match for the kept copy to be used.
struct KeptWeights {
  double token = 0;
  const float* user = nullptr;
  // shared with the calls that use it: a copy no call uses is refilled in place for the next tensor
  std::shared_ptr<memory> m;
};

struct Cached {
  dnnl::primitive prim;
  memory::desc src, wei, dst;
  // the bias operand's layout, where the primitive takes one
  memory::desc bias;
  // the primitive's scratchpad (size 0: none), passed at every execution from the thread's buffer
  memory::desc scratch;
  // weights reordered into the primitive's preferred layout when it is not tfjs's
  bool reorderWei = false;
  memory::desc userWei;
  bool reorderSrc = false;
  memory::desc userSrc;
  bool reorderDst = false;
  memory::desc userDst;
  // the reorders themselves, built once with the primitive (prepareReorders)
  dnnl::primitive srcReorder, weiReorder, dstReorder;
  memory::desc srcReorderScratch, weiReorderScratch, dstReorderScratch;
  // the last two weight tensors reordered for this primitive (a training step runs a layer's
  // forward pass two or three times with the same weights: the reorder is done once)
  mutable std::mutex keptMutex;
  mutable KeptWeights kept[2];
  mutable int keptNext = 0;
};

// Builds the reorders a primitive's flags ask for (called by cached() once the entry is built).
void prepareReorders(Cached& c);

// The cache key of an operation and its integer parameters.
std::string key(const char* op, const std::vector<int64_t>& v);

// The cache's entry for `k`, or null; storing one replaces any entry for `k` (common.cc).
std::shared_ptr<Cached> findCached(const std::string& k);
void storeCached(const std::string& k, const std::shared_ptr<Cached>& c);

// The cached primitive for key `k`, built by `build` on first use.
template <class Build>
std::shared_ptr<Cached> cached(const std::string& k, Build build) {
  if (auto hit = findCached(k)) return hit;
  auto c = std::make_shared<Cached>();
  build(*c);
  prepareReorders(*c);
  storeCached(k, c);
  return c;
}

// Runs `prim` with user buffers, reordering into and out of the primitive's layouts when needed.
// `weiToken` (non-zero) names the weight tensor: its reordered copy is kept and reused while the
// same tensor comes back (KeptWeights). `bias` (optional) is passed as DNNL_ARG_BIAS.
void execute(const Cached& c, int srcArg, float* src, int weiArg, float* wei, int dstArg, float* dst,
             double weiToken = 0, float* bias = nullptr);

// ---- shared by the fused layers ----

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

// ---- the exports, one family per file ----

// [served, filled]: weight copies in a primitive's layout served from the kept ones, and reorders
// that filled one, since the addon loaded (tests: the kept path ran)
napi_value KeptWeightStats(napi_env env, napi_callback_info info);  // common.cc
napi_value Conv(napi_env env, napi_callback_info info);            // convolution.cc
napi_value MatMul(napi_env env, napi_callback_info info);          // matmul.cc
napi_value Binary(napi_env env, napi_callback_info info);          // elementwise.cc
napi_value LeakyRelu(napi_env env, napi_callback_info info);       // elementwise.cc
napi_value AdamUpdate(napi_env env, napi_callback_info info);      // elementwise.cc
napi_value ReduceSum(napi_env env, napi_callback_info info);       // reductions.cc
napi_value CopyRows(napi_env env, napi_callback_info info);        // copies.cc
napi_value BatchNormTrain(napi_env env, napi_callback_info info);  // batchnorm.cc
napi_value BatchNormGrad(napi_env env, napi_callback_info info);   // batchnorm.cc
napi_value LstmForward(napi_env env, napi_callback_info info);     // lstm.cc
napi_value LstmInfer(napi_env env, napi_callback_info info);       // lstm.cc
napi_value LstmBackward(napi_env env, napi_callback_info info);    // lstm.cc
napi_value LstmGradRecompute(napi_env env, napi_callback_info info);  // lstm.cc

}  // namespace fieldcal
