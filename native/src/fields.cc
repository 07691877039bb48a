// Per-step spatial metrics of the evaluation summary (SSIM and FSS at every step of a gridded
// run), threaded across steps with OpenMP. C++ translations of src-main/services/metrics/
// spatial.ts (ssim, gaussianFilter, percentiles, binary, fssBinaryScales) and summary.ts
// (stepSsim's filling of inactive cells), which stay the reference: the same operations in the
// same order per step (no fused multiply-add: the addon builds with -ffp-contract=off), and every
// step is computed on its own into its own output slots, so the results do not depend on the
// thread count. The Gaussian weights come from the JavaScript side (one exp implementation).
#include <node_api.h>

#include "signals.h"
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "fields.h"

namespace fieldcal {
namespace fields {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Typed {
  void* data = nullptr;
  size_t len = 0;
  napi_typedarray_type type = napi_int8_array;
  bool present = false;
};

Typed typed(napi_env env, napi_value v) {
  Typed t;
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return t;
  napi_get_typedarray_info(env, v, &t.type, &t.len, &t.data, nullptr, nullptr);
  t.present = true;
  return t;
}

// scipy's "reflect" boundary (d c b a | a b c d | d c b a), as spatial.ts's reflect.
int64_t reflect(int64_t i, int64_t n) {
  const int64_t period = 2 * n;
  int64_t k = ((i % period) + period) % period;
  if (k >= n) k = period - 1 - k;
  return k;
}

// Scratch of one thread: the filled fields, SSIM's products and smoothed fields, the FSS tables.
struct Scratch {
  std::vector<double> o, s, xx, yy, xy, tmp, ux, uy, uxx, uyy, uxy, sel, bo, bs, to, ts;
  explicit Scratch(size_t cells, size_t sat) {
    for (auto* v : {&o, &s, &xx, &yy, &xy, &tmp, &ux, &uy, &uxx, &uyy, &uxy, &sel, &bo, &bs}) v->assign(cells, 0.0);
    to.assign(sat, 0.0);
    ts.assign(sat, 0.0);
  }
};

struct Problem {
  const double* obs;
  const double* sim;
  const uint8_t* mask;  // null = all active
  int64_t steps, rows, cols;
  const double* w;  // Gaussian weights, taps of them
  int64_t taps;
  int64_t win;  // SSIM window (sets the cropped border)
  const double* pcts;
  int64_t np;
  const double* scales;
  int64_t ns;
  std::vector<int64_t> cmap, rmap;
};

// gaussianFilter of spatial.ts: rows pass then columns pass, taps summed in kernel order from 0.
void gaussian(const Problem& p, const double* x, double* tmp, double* out) {
  const int64_t rows = p.rows, cols = p.cols, rad = (p.taps - 1) / 2;
  std::fill(tmp, tmp + rows * cols, 0.0);
  std::fill(out, out + rows * cols, 0.0);
  for (int64_t r = 0; r < rows; r++) {
    const int64_t o = r * cols;
    for (int64_t k = 0; k < p.taps; k++) {
      const double wk = p.w[k];
      const int64_t sh = k - rad;
      const int64_t lo = std::min(cols, std::max<int64_t>(0, -sh));
      const int64_t hi = std::max(lo, std::min(cols, cols - sh));
      for (int64_t c = 0; c < lo; c++) tmp[o + c] += wk * x[o + p.cmap[c + k]];
      for (int64_t c = lo; c < hi; c++) tmp[o + c] += wk * x[o + c + sh];
      for (int64_t c = hi; c < cols; c++) tmp[o + c] += wk * x[o + p.cmap[c + k]];
    }
  }
  for (int64_t r = 0; r < rows; r++) {
    const int64_t o = r * cols;
    for (int64_t k = 0; k < p.taps; k++) {
      const double wk = p.w[k];
      const double* src = tmp + p.rmap[r + k] * cols;
      for (int64_t c = 0; c < cols; c++) out[o + c] += wk * src[c];
    }
  }
}

// ssim of spatial.ts with sampleCovariance off (covNorm 1), as stepSsim calls it.
double ssim(const Problem& p, Scratch& w, double dataRange) {
  const int64_t n = p.rows * p.cols;
  for (int64_t i = 0; i < n; i++) {
    w.xx[i] = w.o[i] * w.o[i];
    w.yy[i] = w.s[i] * w.s[i];
    w.xy[i] = w.o[i] * w.s[i];
  }
  gaussian(p, w.o.data(), w.tmp.data(), w.ux.data());
  gaussian(p, w.s.data(), w.tmp.data(), w.uy.data());
  gaussian(p, w.xx.data(), w.tmp.data(), w.uxx.data());
  gaussian(p, w.yy.data(), w.tmp.data(), w.uyy.data());
  gaussian(p, w.xy.data(), w.tmp.data(), w.uxy.data());
  const double c1 = (0.01 * dataRange) * (0.01 * dataRange);
  const double c2 = (0.03 * dataRange) * (0.03 * dataRange);
  const int64_t pad = (p.win - 1) / 2;
  double t = 0;
  int64_t k = 0;
  for (int64_t r = pad; r < p.rows - pad; r++) {
    for (int64_t c = pad; c < p.cols - pad; c++) {
      const int64_t i = r * p.cols + c;
      const double ux = w.ux[i], uy = w.uy[i];
      const double vx = 1 * (w.uxx[i] - ux * ux);
      const double vy = 1 * (w.uyy[i] - uy * uy);
      const double vxy = 1 * (w.uxy[i] - ux * uy);
      t += ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
      k++;
    }
  }
  return k == 0 ? kNaN : t / static_cast<double>(k);
}

// percentiles of spatial.ts (numpy's linear method) over the finite values of x.
void percentiles(const Problem& p, const double* x, int64_t cells, std::vector<double>& v, double* out) {
  int64_t n = 0;
  for (int64_t i = 0; i < cells; i++)
    if (std::isfinite(x[i])) v[n++] = x[i];
  for (int64_t j = 0; j < p.np; j++) {
    if (n == 0) {
      out[j] = kNaN;
      continue;
    }
    const double pos = (p.pcts[j] / 100) * static_cast<double>(n - 1);
    const int64_t lo = static_cast<int64_t>(std::floor(pos));
    const int64_t hi = std::min(lo + 1, n - 1);
    std::nth_element(v.begin(), v.begin() + lo, v.begin() + n);
    const double vlo = v[lo];
    // the next order statistic: the smallest value right of lo
    const double vhi = hi == lo ? vlo : *std::min_element(v.begin() + lo + 1, v.begin() + n);
    out[j] = vlo + (pos - static_cast<double>(lo)) * (vhi - vlo);
  }
}

// Summed-area table of spatial.ts's summedArea.
void summedArea(const double* x, int64_t rows, int64_t cols, double* sat) {
  const int64_t w = cols + 1;
  std::fill(sat, sat + (rows + 1) * w, 0.0);
  for (int64_t r = 0; r < rows; r++) {
    double run = 0;
    for (int64_t c = 0; c < cols; c++) {
      run += x[r * cols + c];
      sat[(r + 1) * w + c + 1] = sat[r * w + c + 1] + run;
    }
  }
}

// fssBinaryScales of spatial.ts on the exceedance fields bo, bs: one FSS per scale into out.
void fssScales(const Problem& p, Scratch& s, double* out) {
  const int64_t rows = p.rows, cols = p.cols, n = rows * cols, w = cols + 1;
  summedArea(s.bo.data(), rows, cols, s.to.data());
  summedArea(s.bs.data(), rows, cols, s.ts.data());
  const double* to = s.to.data();
  const double* ts = s.ts.data();
  for (int64_t j = 0; j < p.ns; j++) {
    const double size = p.scales[j];
    double num = 0;
    double den = 0;
    if (size <= 1) {
      for (int64_t i = 0; i < n; i++) {
        const double d = s.bs[i] - s.bo[i];
        num += d * d;
        den += s.bs[i] * s.bs[i] + s.bo[i] * s.bo[i];
      }
    } else {
      const int64_t sz = static_cast<int64_t>(size);
      const int64_t before = sz / 2;
      const double area = size * size;
      for (int64_t r = 0; r < rows; r++) {
        const int64_t r0 = std::max<int64_t>(0, r - before) * w;
        const int64_t r1 = std::min(rows, r - before + sz) * w;
        for (int64_t c = 0; c < cols; c++) {
          const int64_t c0 = std::max<int64_t>(0, c - before);
          const int64_t c1 = std::min(cols, c - before + sz);
          const double so = (to[r1 + c1] - to[r0 + c1] - to[r1 + c0] + to[r0 + c0]) / area;
          const double sf = (ts[r1 + c1] - ts[r0 + c1] - ts[r1 + c0] + ts[r0 + c0]) / area;
          num += (sf - so) * (sf - so);
          den += sf * sf + so * so;
        }
      }
    }
    out[j] = den == 0 ? kNaN : 1 - num / den;
  }
}

// One step: stepSsim's filling, SSIM, then per percentile the exceedance fields and their FSS.
void step(const Problem& p, Scratch& s, int64_t t, double* ssimOut, double* fssOut) {
  const int64_t cells = p.rows * p.cols;
  const double* ob = p.obs + t * cells;
  const double* sb = p.sim + t * cells;
  auto active = [&](int64_t c) { return !p.mask || p.mask[c] == 1; };
  double mean = 0;
  int64_t n = 0;
  for (int64_t c = 0; c < cells; c++)
    if (active(c)) {
      mean += ob[c];
      n++;
    }
  mean /= static_cast<double>(n);
  double lo = std::numeric_limits<double>::infinity();
  double hi = -lo;
  for (int64_t c = 0; c < cells; c++) {
    const bool a = active(c);
    s.o[c] = a && std::isfinite(ob[c]) ? ob[c] : mean;
    s.s[c] = a && std::isfinite(sb[c]) ? sb[c] : mean;
    if (a) {
      lo = std::min(lo, s.o[c]);
      hi = std::max(hi, s.o[c]);
    }
  }
  ssimOut[t] = hi > lo ? ssim(p, s, hi - lo) : kNaN;
  if (!p.np) return;
  std::vector<double> to(static_cast<size_t>(p.np)), ts(static_cast<size_t>(p.np));
  percentiles(p, s.o.data(), cells, s.sel, to.data());
  percentiles(p, s.s.data(), cells, s.sel, ts.data());
  for (int64_t j = 0; j < p.np; j++) {
    for (int64_t c = 0; c < cells; c++) {
      s.bo[c] = s.o[c] >= to[j] ? 1 : 0;
      s.bs[c] = s.s[c] >= ts[j] ? 1 : 0;
    }
    fssScales(p, s, fssOut + (t * p.np + j) * p.ns);
  }
}

// stepSpatial(obs, sim, steps, rows, cols, mask|null, weights, win, percentiles, scales, ssimOut, fssOut):
// ssimOut[t] (steps), fssOut[(t * P + i) * S + j] (steps x P x S), as summary.ts's stepSsim with
// its FSS callback computes them.
napi_value StepSpatial(napi_env env, napi_callback_info info) {
  SignalsHeld held;  // common.h: signals wait until the kernel returns
  size_t argc = 12;
  napi_value v[12];
  std::string error;
  if (napi_get_cb_info(env, info, &argc, v, nullptr, nullptr) != napi_ok || argc < 12) {
    napi_throw_error(env, "FIELDCAL_NATIVE", "native fields: stepSpatial takes 12 arguments");
    return nullptr;
  }
  auto integer = [&](napi_value x, int64_t lo, const char* name) {
    double d = -1;
    if (napi_get_value_double(env, x, &d) != napi_ok || !(d >= lo && d <= 2147483647.0) ||
        d != static_cast<int64_t>(d)) {
      if (error.empty()) error = std::string(name) + " must be an integer >= " + std::to_string(lo);
      return int64_t{0};
    }
    return static_cast<int64_t>(d);
  };
  auto f64 = [&](napi_value x, const char* name, int64_t len) -> double* {
    Typed a = typed(env, x);
    if (!a.present || a.type != napi_float64_array || (len >= 0 && static_cast<int64_t>(a.len) != len)) {
      if (error.empty())
        error = std::string(name) + " must be a Float64Array" +
                (len >= 0 ? " of " + std::to_string(len) + " values" : std::string());
      return nullptr;
    }
    return static_cast<double*>(a.data);
  };
  Problem p{};
  p.steps = integer(v[2], 0, "steps");
  p.rows = integer(v[3], 1, "rows");
  p.cols = integer(v[4], 1, "cols");
  p.win = integer(v[7], 1, "win");
  const int64_t cells = p.rows * p.cols;  // each at most 2^31: no overflow in int64
  // bound cells alone, then steps x cells by division (no product that could overflow)
  if (error.empty() && (cells > (int64_t{1} << 34) || (p.steps > 0 && cells > (int64_t{1} << 40) / p.steps)))
    error = "fields too large";
  p.obs = f64(v[0], "obs", p.steps * cells);
  p.sim = f64(v[1], "sim", p.steps * cells);
  napi_valuetype mt;
  napi_typeof(env, v[5], &mt);
  if (mt != napi_null && mt != napi_undefined) {
    Typed m = typed(env, v[5]);
    if (!m.present || m.type != napi_uint8_array || static_cast<int64_t>(m.len) != cells) {
      if (error.empty()) error = "mask must be null or a Uint8Array of rows x cols";
    } else {
      p.mask = static_cast<const uint8_t*>(m.data);
    }
  }
  Typed wt = typed(env, v[6]);
  p.w = f64(v[6], "weights", -1);
  p.taps = static_cast<int64_t>(wt.len);
  if (error.empty() && p.taps % 2 == 0) error = "weights must have an odd length";
  Typed pt = typed(env, v[8]);
  p.pcts = f64(v[8], "percentiles", -1);
  p.np = static_cast<int64_t>(pt.len);
  Typed st = typed(env, v[9]);
  p.scales = f64(v[9], "scales", -1);
  p.ns = static_cast<int64_t>(st.len);
  double* ssimOut = f64(v[10], "ssimOut", p.steps);
  double* fssOut = f64(v[11], "fssOut", p.steps * p.np * p.ns);
  if (error.empty())
    for (int64_t j = 0; j < p.ns; j++)
      if (!(p.scales[j] >= 0 && p.scales[j] <= 1e6 && p.scales[j] == std::floor(p.scales[j])))
        error = "scales must be whole numbers of cells";
  if (error.empty())
    for (int64_t j = 0; j < p.np; j++)
      if (!(p.pcts[j] >= 0 && p.pcts[j] <= 100)) error = "percentiles must be numbers in [0, 100]";
  if (!error.empty()) {
    napi_throw_error(env, "FIELDCAL_NATIVE", ("native fields: " + error).c_str());
    return nullptr;
  }
  const int64_t rad = (p.taps - 1) / 2;
  p.cmap.resize(static_cast<size_t>(p.cols + 2 * rad));
  for (int64_t i = 0; i < p.cols + 2 * rad; i++) p.cmap[i] = reflect(i - rad, p.cols);
  p.rmap.resize(static_cast<size_t>(p.rows + 2 * rad));
  for (int64_t i = 0; i < p.rows + 2 * rad; i++) p.rmap[i] = reflect(i - rad, p.rows);
  const size_t sat = static_cast<size_t>((p.rows + 1) * (p.cols + 1));
  const int nt = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(omp_get_max_threads(), p.steps)));
  // the scratch of every thread is allocated here, outside the parallel region: an allocation that
  // fails is a typed error, not a std::terminate from inside OpenMP
  std::vector<Scratch> scratch;
  try {
    scratch.reserve(static_cast<size_t>(nt));
    for (int i = 0; i < nt; i++) scratch.emplace_back(static_cast<size_t>(cells), sat);
  } catch (const std::exception& e) {
    napi_throw_error(env, "FIELDCAL_NATIVE", (std::string("native fields: cannot allocate scratch: ") + e.what()).c_str());
    return nullptr;
  }
  std::atomic<bool> failed{false};
#pragma omp parallel num_threads(nt)
  {
    Scratch& s = scratch[static_cast<size_t>(omp_get_thread_num())];
#pragma omp for schedule(dynamic, 1)
    for (int64_t t = 0; t < p.steps; t++) {
      try {
        step(p, s, t, ssimOut, fssOut);
      } catch (...) {  // step's per-percentile vectors: a failed allocation ends the call with an error
        failed = true;
      }
    }
  }
  if (failed) {
    napi_throw_error(env, "FIELDCAL_NATIVE", "native fields: out of memory");
    return nullptr;
  }
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

}  // namespace

void registerFields(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"stepSpatial", nullptr, StepSpatial, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}

}  // namespace fields
}  // namespace fieldcal
