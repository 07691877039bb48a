// Float64 dense linear algebra for the metrics (joint-EOF Gram product and symmetric
// eigenproblem) on Debian's OpenBLAS (libopenblas0-pthread: BLAS and LAPACK in one library).
//
// OpenBLAS is opened with dlopen on first use, not linked: the addon builds and loads on a machine
// without it (the metrics then run their JavaScript/WebAssembly path), and its kernel family can
// be chosen before the library initialises. Debian's OpenBLAS 0.3.21 detects recent AVX-512 CPUs
// (Zen 4 EPYC, Sapphire Rapids Xeon) as "Prescott", its SSE3 kernels, unless OPENBLAS_CORETYPE
// names the family (issue 22); this file sets it from the CPU's instruction sets the way
// OpenBLAS's own cpuid_x86.c tests them (SkylakeX: AVX-512 F/DQ/BW/VL; Haswell: AVX2 + FMA;
// Sandybridge: AVX) unless the environment already sets it.
#include <dlfcn.h>
#include <node_api.h>

#include "signals.h"
#include <omp.h>

#include <cmath>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "linalg.h"

namespace fieldcal {
namespace linalg {
namespace {

// CBLAS enums (cblas.h): row-major, upper triangle, no transpose, transpose.
constexpr int kRowMajor = 101;
constexpr int kNoTrans = 111;
constexpr int kTrans = 112;
constexpr int kUpper = 121;

using DsyrkFn = void (*)(int, int, int, int, int, double, const double*, int, double, double*, int);
using DgemmFn = void (*)(int, int, int, int, int, int, double, const double*, int, const double*, int, double,
                         double*, int);
// LAPACK dsyevd (Fortran, LP64 integers as in Debian's build), hidden string lengths last.
using DsyevdFn = void (*)(const char*, const char*, const int*, double*, const int*, double*, double*, const int*,
                          int*, const int*, int*, size_t, size_t);
using SetThreadsFn = void (*)(int);
using GetThreadsFn = int (*)();
using NameFn = char* (*)();

struct Lib {
  bool tried = false;
  std::string error;  // why OpenBLAS is unavailable; empty when loaded
  std::string path;
  std::string coretype;  // what OPENBLAS_CORETYPE was at load ("" = OpenBLAS's own detection)
  DsyrkFn dsyrk = nullptr;
  DgemmFn dgemm = nullptr;
  DsyevdFn dsyevd = nullptr;
  SetThreadsFn setThreads = nullptr;
  GetThreadsFn getThreads = nullptr;
  NameFn corename = nullptr;
  NameFn config = nullptr;
};

Lib lib;
std::mutex libMutex;
// OpenBLAS's thread count is one setting for the whole process, and openblas_set_num_threads is not
// safe while another thread is inside a BLAS call: every call that sets it or runs BLAS/LAPACK holds
// this lock (job workers, model pools and the main process share the one library)
std::mutex callMutex;

// OpenBLAS's kernel family for this CPU (see the file comment); "" when none of them fits.
const char* coretypeForCpu() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  if (__builtin_cpu_supports("avx")) return "Sandybridge";
#endif
  return "";
}

// Opens OpenBLAS once (FIELDCAL_OPENBLAS names the library file, else Debian's libopenblas.so.0).
const Lib& load() {
  std::lock_guard<std::mutex> guard(libMutex);
  if (lib.tried) return lib;
  lib.tried = true;
  const char* env = std::getenv("OPENBLAS_CORETYPE");
  if (env && *env) {
    lib.coretype = env;
  } else {
    lib.coretype = coretypeForCpu();
    if (!lib.coretype.empty()) setenv("OPENBLAS_CORETYPE", lib.coretype.c_str(), 0);
  }
  std::vector<std::string> candidates;
  if (const char* p = std::getenv("FIELDCAL_OPENBLAS"); p && *p) candidates.emplace_back(p);
  candidates.emplace_back("libopenblas.so.0");
  candidates.emplace_back("/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0");
  candidates.emplace_back("libopenblas.so");
  void* h = nullptr;
  std::string errors;
  for (const auto& c : candidates) {
    h = dlopen(c.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (h) {
      lib.path = c;
      break;
    }
    const char* e = dlerror();
    errors += (errors.empty() ? "" : "; ") + std::string(e ? e : c.c_str());
  }
  if (!h) {
    lib.error = "OpenBLAS not found (apt-get install libopenblas0-pthread): " + errors;
    return lib;
  }
  lib.dsyrk = reinterpret_cast<DsyrkFn>(dlsym(h, "cblas_dsyrk"));
  lib.dgemm = reinterpret_cast<DgemmFn>(dlsym(h, "cblas_dgemm"));
  lib.dsyevd = reinterpret_cast<DsyevdFn>(dlsym(h, "dsyevd_"));
  lib.setThreads = reinterpret_cast<SetThreadsFn>(dlsym(h, "openblas_set_num_threads"));
  lib.getThreads = reinterpret_cast<GetThreadsFn>(dlsym(h, "openblas_get_num_threads"));
  lib.corename = reinterpret_cast<NameFn>(dlsym(h, "openblas_get_corename"));
  lib.config = reinterpret_cast<NameFn>(dlsym(h, "openblas_get_config"));
  if (!lib.dsyrk || !lib.dgemm || !lib.dsyevd)
    lib.error = lib.path + " lacks cblas_dsyrk, cblas_dgemm or dsyevd_ (not an OpenBLAS with LAPACK)";
  return lib;
}

napi_value undefinedValue(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

napi_value throwError(napi_env env, const char* code, const std::string& message) {
  napi_throw_error(env, code, ("native linalg: " + message).c_str());
  return nullptr;
}

// The Float64Array argument `v` with exactly `len` elements, or nullptr (and `error` set).
double* f64(napi_env env, napi_value v, size_t len, const char* name, std::string& error) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) {
    if (error.empty()) error = std::string(name) + " must be a Float64Array";
    return nullptr;
  }
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr);
  if (type != napi_float64_array || length != len) {
    if (error.empty())
      error = std::string(name) + " must be a Float64Array of " + std::to_string(len) + " values (got " +
              std::to_string(length) + ")";
    return nullptr;
  }
  return static_cast<double*>(data);
}

// The integer argument `v` in [lo, hi], or -1 (and `error` set).
int64_t dim(napi_env env, napi_value v, int64_t lo, int64_t hi, const char* name, std::string& error) {
  double x = -1;
  if (napi_get_value_double(env, v, &x) != napi_ok || !(x >= lo && x <= hi) || x != static_cast<int64_t>(x)) {
    if (error.empty())
      error = std::string(name) + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    return -1;
  }
  return static_cast<int64_t>(x);
}

// Matrix side from which dsyevd runs on all of OpenBLAS's threads (below it, on one).
constexpr int kEigenThreadedFrom = 2048;

// BLAS/LAPACK take 32-bit integers (Debian's LP64 build): every dimension and leading dimension fits.
constexpr int64_t kMaxDim = 2147483647;

// linalgLoad(threads): opens OpenBLAS (once), sets its thread count when threads > 0, returns a
// description; throws FIELDCAL_NATIVE_UNSUPPORTED with the reason when OpenBLAS is unavailable.
napi_value LinalgLoad(napi_env env, napi_callback_info info) {
  SignalsHeld held;  // common.h: signals wait until the kernel returns
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok)
    return throwError(env, "FIELDCAL_NATIVE", "N-API call failed");
  const Lib& l = load();
  if (!l.error.empty()) return throwError(env, "FIELDCAL_NATIVE_UNSUPPORTED", l.error);
  int32_t threads = 0;
  if (argc >= 1) napi_get_value_int32(env, argv[0], &threads);
  std::lock_guard<std::mutex> guard(callMutex);
  if (threads > 0 && l.setThreads) l.setThreads(threads);
  std::string s = "OpenBLAS";
  if (l.config) s += std::string(" (") + l.config() + ")";
  s += ", core " + std::string(l.corename ? l.corename() : "?");
  s += l.coretype.empty() ? " (detected)" : " (OPENBLAS_CORETYPE=" + l.coretype + ")";
  if (l.getThreads) s += ", " + std::to_string(l.getThreads()) + " thread(s)";
  s += ", " + l.path;
  napi_value r;
  napi_create_string_utf8(env, s.c_str(), NAPI_AUTO_LENGTH, &r);
  return r;
}

// gramF64(a, rows, n, g): G = A Aᵀ (rows x rows, both triangles) of the row-major rows x n A
// (cblas_dsyrk on the upper triangle, mirrored).
napi_value GramF64(napi_env env, napi_callback_info info) {
  SignalsHeld held;  // common.h: signals wait until the kernel returns
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 4)
    return throwError(env, "FIELDCAL_NATIVE", "gramF64(a, rows, n, g) takes 4 arguments");
  const Lib& l = load();
  if (!l.error.empty()) return throwError(env, "FIELDCAL_NATIVE_UNSUPPORTED", l.error);
  std::string error;
  const int64_t rows = dim(env, argv[1], 1, 46340, "rows", error);
  const int64_t n = dim(env, argv[2], 1, kMaxDim, "n", error);
  if (!error.empty()) return throwError(env, "FIELDCAL_NATIVE", error);
  const double* a = f64(env, argv[0], static_cast<size_t>(rows * n), "a", error);
  double* g = f64(env, argv[3], static_cast<size_t>(rows * rows), "g", error);
  if (!error.empty()) return throwError(env, "FIELDCAL_NATIVE", error);
  const int r = static_cast<int>(rows);
  std::lock_guard<std::mutex> guard(callMutex);
  l.dsyrk(kRowMajor, kUpper, kNoTrans, r, static_cast<int>(n), 1.0, a, static_cast<int>(n), 0.0, g, r);
  for (int64_t i = 0; i < rows; i++)
    for (int64_t j = 0; j < i; j++) g[i * rows + j] = g[j * rows + i];
  return undefinedValue(env);
}

// gemmF64(transA, transB, m, n, k, a, b, c): C (m x n) = op(A) op(B), all row-major, op(A) m x k,
// op(B) k x n (cblas_dgemm).
napi_value GemmF64(napi_env env, napi_callback_info info) {
  SignalsHeld held;  // common.h: signals wait until the kernel returns
  size_t argc = 8;
  napi_value argv[8];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 8)
    return throwError(env, "FIELDCAL_NATIVE", "gemmF64(transA, transB, m, n, k, a, b, c) takes 8 arguments");
  const Lib& l = load();
  if (!l.error.empty()) return throwError(env, "FIELDCAL_NATIVE_UNSUPPORTED", l.error);
  bool ta = false;
  bool tb = false;
  napi_get_value_bool(env, argv[0], &ta);
  napi_get_value_bool(env, argv[1], &tb);
  std::string error;
  const int64_t m = dim(env, argv[2], 1, kMaxDim, "m", error);
  const int64_t n = dim(env, argv[3], 1, kMaxDim, "n", error);
  const int64_t k = dim(env, argv[4], 1, kMaxDim, "k", error);
  if (!error.empty()) return throwError(env, "FIELDCAL_NATIVE", error);
  if (m * n > kMaxDim || m * k > kMaxDim || k * n > kMaxDim)
    return throwError(env, "FIELDCAL_NATIVE", "gemmF64: matrices over 2^31 - 1 values");
  const double* a = f64(env, argv[5], static_cast<size_t>(m * k), "a", error);
  const double* b = f64(env, argv[6], static_cast<size_t>(k * n), "b", error);
  double* c = f64(env, argv[7], static_cast<size_t>(m * n), "c", error);
  if (!error.empty()) return throwError(env, "FIELDCAL_NATIVE", error);
  std::lock_guard<std::mutex> guard(callMutex);
  l.dgemm(kRowMajor, ta ? kTrans : kNoTrans, tb ? kTrans : kNoTrans, static_cast<int>(m), static_cast<int>(n),
          static_cast<int>(k), 1.0, a, static_cast<int>(ta ? m : k), b, static_cast<int>(tb ? k : n), 0.0, c,
          static_cast<int>(n));
  return undefinedValue(env);
}

// symEigF64(a, n, values, vectors): eigen-decomposition of the symmetric n x n A (LAPACK dsyevd,
// divide and conquer, as numpy.linalg.eigh), values in descending order, unit eigenvectors as the
// matching columns of the row-major `vectors`. A is not modified.
napi_value SymEigF64(napi_env env, napi_callback_info info) {
  SignalsHeld held;  // common.h: signals wait until the kernel returns
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 4)
    return throwError(env, "FIELDCAL_NATIVE", "symEigF64(a, n, values, vectors) takes 4 arguments");
  const Lib& l = load();
  if (!l.error.empty()) return throwError(env, "FIELDCAL_NATIVE_UNSUPPORTED", l.error);
  std::string error;
  const int64_t n64 = dim(env, argv[1], 1, 46340, "n", error);
  if (!error.empty()) return throwError(env, "FIELDCAL_NATIVE", error);
  const size_t nn = static_cast<size_t>(n64 * n64);
  const double* a = f64(env, argv[0], nn, "a", error);
  double* values = f64(env, argv[2], static_cast<size_t>(n64), "values", error);
  double* vectors = f64(env, argv[3], nn, "vectors", error);
  if (!error.empty()) return throwError(env, "FIELDCAL_NATIVE", error);
  for (size_t i = 0; i < nn; i++)
    if (!std::isfinite(a[i])) return throwError(env, "FIELDCAL_NATIVE", "a holds non-finite values (dsyevd needs a finite matrix)");
  const int n = static_cast<int>(n64);
  // A is symmetric: its row-major array is its column-major one; LAPACK reads the lower triangle
  std::vector<double> z, w, work;
  std::vector<int> iwork;
  try {
    z.assign(a, a + nn);
    w.resize(static_cast<size_t>(n));
  } catch (const std::exception& e) {
    return throwError(env, "FIELDCAL_NATIVE", std::string("symEigF64: cannot allocate: ") + e.what());
  }
  std::lock_guard<std::mutex> guard(callMutex);
  int status = 0;
  int lwork = -1;
  int liwork = -1;
  double wq = 0;
  int iq = 0;
  l.dsyevd("V", "L", &n, z.data(), &n, w.data(), &wq, &lwork, &iq, &liwork, &status, 1, 1);
  if (status != 0) return throwError(env, "FIELDCAL_NATIVE", "dsyevd workspace query failed, info " + std::to_string(status));
  lwork = static_cast<int>(wq) + 1;
  liwork = iq;
  try {
    work.resize(static_cast<size_t>(lwork));
    iwork.resize(static_cast<size_t>(liwork > 0 ? liwork : 1));
  } catch (const std::exception& e) {
    return throwError(env, "FIELDCAL_NATIVE", std::string("symEigF64: cannot allocate the workspace: ") + e.what());
  }
  // the tridiagonal reduction is memory-bound BLAS-2 work: below a few thousand rows a second
  // thread gains little and, on a busy machine, OpenBLAS's spinning threads cost far more
  const int threads = l.getThreads ? l.getThreads() : 1;
  const bool single = n < kEigenThreadedFrom && threads > 1 && l.setThreads != nullptr;
  if (single) l.setThreads(1);
  l.dsyevd("V", "L", &n, z.data(), &n, w.data(), work.data(), &lwork, iwork.data(), &liwork, &status, 1, 1);
  if (single) l.setThreads(threads);
  if (status != 0)
    return throwError(env, "FIELDCAL_NATIVE",
                      status < 0 ? "dsyevd: bad argument " + std::to_string(-status)
                               : "dsyevd did not converge (info " + std::to_string(status) + "; non-finite input?)");
  // LAPACK: ascending values, eigenvector j in column j of the column-major z (z[j * n + r])
  for (int k = 0; k < n; k++) {
    const int j = n - 1 - k;
    values[k] = w[static_cast<size_t>(j)];
    const double* col = z.data() + static_cast<size_t>(j) * n;
    for (int r = 0; r < n; r++) vectors[static_cast<size_t>(r) * n + k] = col[r];
  }
  return undefinedValue(env);
}

// eofAnomalies(obs, sim, steps, cells, idx, a): the joint-EOF matrix A of metrics/eof.ts's
// eofAnomalies, row-major 2T x n over the n cells listed in idx (Int32Array): each map z-scored over
// those cells (population sd; a constant map all 0), then each column's mean over the 2T maps
// removed. The same operations in the same order as the JavaScript, threaded over maps, then over
// columns (each column summed over the maps in order), so the values do not depend on the threads.
napi_value EofAnomalies(napi_env env, napi_callback_info info) {
  SignalsHeld held;  // common.h: signals wait until the kernel returns
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 6)
    return throwError(env, "FIELDCAL_NATIVE", "eofAnomalies(obs, sim, steps, cells, idx, a) takes 6 arguments");
  std::string error;
  const int64_t steps = dim(env, argv[2], 1, kMaxDim, "steps", error);
  const int64_t cells = dim(env, argv[3], 1, int64_t{1} << 40, "cells", error);
  if (!error.empty()) return throwError(env, "FIELDCAL_NATIVE", error);
  // steps x cells bounded by division (the product itself could overflow)
  if (cells > (int64_t{1} << 46) / steps) return throwError(env, "FIELDCAL_NATIVE", "eofAnomalies: steps x cells too large");
  const double* obs = f64(env, argv[0], static_cast<size_t>(steps * cells), "obs", error);
  const double* sim = f64(env, argv[1], static_cast<size_t>(steps * cells), "sim", error);
  bool isArr = false;
  napi_typedarray_type it = napi_int8_array;
  size_t n = 0;
  void* idxData = nullptr;
  if (napi_is_typedarray(env, argv[4], &isArr) != napi_ok || !isArr ||
      napi_get_typedarray_info(env, argv[4], &it, &n, &idxData, nullptr, nullptr) != napi_ok || it != napi_int32_array) {
    if (error.empty()) error = "idx must be an Int32Array";
  }
  const int32_t* idx = static_cast<const int32_t*>(idxData);
  if (error.empty())
    for (size_t j = 0; j < n; j++)
      if (idx[j] < 0 || idx[j] >= cells) {
        error = "idx holds a cell outside [0, cells)";
        break;
      }
  const int64_t rows = 2 * steps;
  if (error.empty() && static_cast<int64_t>(n) > (int64_t{1} << 46) / rows) error = "eofAnomalies: 2 steps x cells listed too large";
  double* a = f64(env, argv[5], static_cast<size_t>(rows) * n, "a", error);
  if (!error.empty()) return throwError(env, "FIELDCAL_NATIVE", error);
  if (n == 0) return undefinedValue(env);
  const double dn = static_cast<double>(n);
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < rows; t++) {
    const double* src = (t < steps ? obs : sim) + (t % steps) * cells;
    double* row = a + t * static_cast<int64_t>(n);
    for (size_t j = 0; j < n; j++) row[j] = src[idx[j]];
    double m = 0;
    for (size_t j = 0; j < n; j++) m += row[j];
    m /= dn;
    double v = 0;
    for (size_t j = 0; j < n; j++) v += (row[j] - m) * (row[j] - m);
    const double sd = std::sqrt(v / dn);
    if (sd > 0)
      for (size_t j = 0; j < n; j++) row[j] = (row[j] - m) / sd;
    else
      std::fill(row, row + n, 0.0);
  }
  // column means over the maps in order, a block of columns per thread
  constexpr int64_t kBlock = 512;
  const int64_t blocks = (static_cast<int64_t>(n) + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < blocks; b++) {
    const int64_t j0 = b * kBlock;
    const int64_t j1 = std::min<int64_t>(static_cast<int64_t>(n), j0 + kBlock);
    double mean[kBlock] = {0};
    for (int64_t t = 0; t < rows; t++) {
      const double* row = a + t * static_cast<int64_t>(n);
      for (int64_t j = j0; j < j1; j++) mean[j - j0] += row[j];
    }
    for (int64_t j = j0; j < j1; j++) mean[j - j0] /= static_cast<double>(rows);
    for (int64_t t = 0; t < rows; t++) {
      double* row = a + t * static_cast<int64_t>(n);
      for (int64_t j = j0; j < j1; j++) row[j] -= mean[j - j0];
    }
  }
  return undefinedValue(env);
}

}  // namespace

void registerLinalg(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"linalgLoad", nullptr, LinalgLoad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gramF64", nullptr, GramF64, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gemmF64", nullptr, GemmF64, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"symEigF64", nullptr, SymEigF64, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"eofAnomalies", nullptr, EofAnomalies, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}

}  // namespace linalg
}  // namespace fieldcal
