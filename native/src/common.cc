// The helpers of common.h: errors, argument unpacking, the oneDNN engine and primitive cache.
#include "common.h"

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <new>
#include <sstream>
#include <unordered_map>

namespace fieldcal {

namespace {

std::mutex cacheMutex;
std::unordered_map<std::string, std::shared_ptr<Cached>> cache;

}  // namespace

napi_value fail(napi_env env, const char* message) {
  napi_throw_type_error(env, "FIELDCAL_NATIVE", message);
  return nullptr;
}

napi_value unsupported(napi_env env, const std::exception& e) {
  napi_throw_error(env, "FIELDCAL_NATIVE_UNSUPPORTED", e.what());
  return nullptr;
}

napi_value napiFailed(napi_env env) {
  napi_throw_error(env, "FIELDCAL_NATIVE", "N-API call failed");
  return nullptr;
}

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

double num(napi_env env, napi_value v) {
  double d = 0;
  napi_get_value_double(env, v, &d);
  return d;
}

dnnl::engine& eng() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::primitive_attr userScratchpad() {
  dnnl::primitive_attr a;
  a.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return a;
}

memory scratchpad(const memory::desc& md) {
  struct Buffer {
    void* p = nullptr;
    size_t n = 0;
    ~Buffer() { std::free(p); }
  };
  thread_local Buffer buf;
  const size_t need = md.get_size();
  if (need > buf.n) {
    const size_t n = (need + 63) / 64 * 64;  // whole cache lines, 64-byte aligned
    void* p = std::aligned_alloc(64, n);
    if (!p) throw std::bad_alloc();
    std::free(buf.p);
    buf.p = p;
    buf.n = n;
  }
  return memory(md, eng(), buf.p);
}

std::string key(const char* op, const std::vector<int64_t>& v) {
  std::ostringstream s;
  s << op;
  for (auto x : v) s << ',' << x;
  return s.str();
}

std::shared_ptr<Cached> findCached(const std::string& k) {
  std::lock_guard<std::mutex> lock(cacheMutex);
  auto it = cache.find(k);
  return it != cache.end() ? it->second : nullptr;
}

void storeCached(const std::string& k, const std::shared_ptr<Cached>& c) {
  std::lock_guard<std::mutex> lock(cacheMutex);
  cache[k] = c;
}

namespace {

// One reorder primitive from `from` to `to`, with a caller-owned scratchpad (see userScratchpad).
dnnl::primitive reorderOf(const memory::desc& from, const memory::desc& to, memory::desc& scratch) {
  dnnl::reorder::primitive_desc pd(eng(), from, eng(), to, userScratchpad());
  scratch = pd.scratchpad_desc();
  return dnnl::reorder(pd);
}

// The calling thread's stream on the engine (streams are not shared between threads).
dnnl::stream& threadStream() {
  thread_local dnnl::stream s(eng());
  return s;
}

void runReorder(const dnnl::primitive& r, const memory::desc& scratch, const memory& from, const memory& to) {
  std::unordered_map<int, memory> args = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
  if (scratch.get_size()) args.insert({DNNL_ARG_SCRATCHPAD, scratchpad(scratch)});
  r.execute(threadStream(), args);
}

// Kept weight copies served and (re)filled by reorders, process-wide (keptWeightStats)
std::atomic<uint64_t> keptServed{0}, keptFilled{0};

// The copy of `wei` (the tensor `token`) in c's weight layout: the kept one when it is there, else
// reordered into the older slot (its buffer refilled when no other call holds it) and kept.

std::shared_ptr<memory> keptWeights(const Cached& c, const float* wei, double token) {
  std::shared_ptr<memory> copy;
  int slot;
  {
    std::lock_guard<std::mutex> lock(c.keptMutex);
    for (const auto& k : c.kept)
      if (k.token == token && k.user == wei && k.m) {
        keptServed++;
        return k.m;
      }
    keptFilled++;
    slot = c.keptNext;
    c.keptNext ^= 1;
    KeptWeights& s = c.kept[slot];
    if (!s.m || s.m.use_count() > 1) s.m = std::make_shared<memory>(c.wei, eng());
    s.token = 0;  // not valid until filled below
    copy = s.m;
  }
  runReorder(c.weiReorder, c.weiReorderScratch, memory(c.userWei, eng(), const_cast<float*>(wei)), *copy);
  std::lock_guard<std::mutex> lock(c.keptMutex);
  KeptWeights& s = c.kept[slot];
  if (s.m == copy) {  // not replaced meanwhile
    s.token = token;
    s.user = wei;
  }
  return copy;
}

}  // namespace

void prepareReorders(Cached& c) {
  if (c.reorderSrc) c.srcReorder = reorderOf(c.userSrc, c.src, c.srcReorderScratch);
  if (c.reorderWei) c.weiReorder = reorderOf(c.userWei, c.wei, c.weiReorderScratch);
  if (c.reorderDst) c.dstReorder = reorderOf(c.dst, c.userDst, c.dstReorderScratch);
}

void execute(const Cached& c, int srcArg, float* src, int weiArg, float* wei, int dstArg, float* dst,
             double weiToken, float* bias) {
  dnnl::stream& strm = threadStream();
  memory srcUser(c.reorderSrc ? c.userSrc : c.src, eng(), src);
  memory dstUser(c.reorderDst ? c.userDst : c.dst, eng(), dst);
  memory srcM = srcUser, weiM, dstM = dstUser;
  if (c.reorderSrc) {
    srcM = memory(c.src, eng());
    runReorder(c.srcReorder, c.srcReorderScratch, srcUser, srcM);
  }
  std::shared_ptr<memory> keptCopy;  // holds the kept copy while this call uses it
  if (!c.reorderWei) {
    weiM = memory(c.wei, eng(), wei);
  } else if (weiToken == 0) {
    weiM = memory(c.wei, eng());
    runReorder(c.weiReorder, c.weiReorderScratch, memory(c.userWei, eng(), wei), weiM);
  } else {
    keptCopy = keptWeights(c, wei, weiToken);
    weiM = *keptCopy;
  }
  if (c.reorderDst) dstM = memory(c.dst, eng());
  std::unordered_map<int, memory> args = {{srcArg, srcM}, {weiArg, weiM}, {dstArg, dstM}};
  if (bias) args.insert({DNNL_ARG_BIAS, memory(c.bias, eng(), bias)});
  if (c.scratch.get_size()) args.insert({DNNL_ARG_SCRATCHPAD, scratchpad(c.scratch)});
  c.prim.execute(strm, args);
  if (c.reorderDst) runReorder(c.dstReorder, c.dstReorderScratch, dstM, dstUser);
  strm.wait();
  if (keptCopy) {
    // released under the lock that a refill checks use_count() under: this call's reads of the copy
    // happen before another call's refill of it
    std::lock_guard<std::mutex> lock(c.keptMutex);
    keptCopy.reset();
  }
}

napi_value KeptWeightStats(napi_env env, napi_callback_info) {
  napi_value r, served, filled;
  napi_create_array_with_length(env, 2, &r);
  napi_create_double(env, static_cast<double>(keptServed.load()), &served);
  napi_create_double(env, static_cast<double>(keptFilled.load()), &filled);
  napi_set_element(env, r, 0, served);
  napi_set_element(env, r, 1, filled);
  return r;
}

}  // namespace fieldcal
