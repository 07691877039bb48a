// Lumped GR4J over many parameter sets at once, with the sum of squared errors against observed
// discharge computed in the same pass: the inner loop of lumped calibration (SCE-UA's population,
// its complexes evolved in lockstep, airGR's start grid, Michel's candidates). A lumped run is one
// cell, so the cell-vectorised gr4 kernel of physics.cc would fill 15 of its 16 lanes with copies;
// here the lanes are parameter sets sharing one forcing series, W at a time (8, 4, 2 or 1 lanes, so
// a batch of 4 costs 4 lanes, not 16), and nothing is written per step but the running error.
//
// The step is gr4Step of src-main/services/physics/gr4/forward.ts (airGR MOD_GR4J, Perrin, Michel
// & Andréassian 2003 eqs. 3-23) with every branch a select, as physics.cc's gr4ForwardBlock, and the
// same vectorisable tanh (kernelMath.h, shared with physics.cc). Changes that shorten the step's chain
// of dependencies: each step's tanh is computed in a pass before the steps; divisions by X1, X3 and
// the percolation constant are multiplications by their reciprocals; the stores after percolation
// and routing outflow are s x^(-1/4) rather than s - s (1 - x^(-1/4)), with x^(-1/4) = √u · (1/u),
// u = √x (the root and the division side by side instead of in a row). An ulp or so per operation, so
// 1 - NSE agrees with runGr4 + metrics nse to about 1e-13 relative, not to the bit.
#include <node_api.h>

#include "signals.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "gr4sets.h"
#include "kernelMath.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FIELDCAL_SETS_CLONES __attribute__((target_clones("default", "avx2", "avx512f")))
#else
#define FIELDCAL_SETS_CLONES
#endif

namespace fieldcal {
namespace gr4sets {
namespace {

using kernels::kB;
using kernels::kD;
using kernels::ss1;
using kernels::ss2;
using kernels::uhLen1;
using kernels::uhLen2;
using kernels::vtanh;

struct Args {
  const double* P;
  const double* E;
  const double* obs;  // steps - warmup values, NaN where missing
  size_t steps, warmup;
  const double* params;  // 4 per set: X1, X2, X3, X4
  double percConst;
  int nh;
  double* sse;  // one per set
};

// Sets [s0, s0 + W): airGR's initial state (S = 0.3 X1, R = 0.5 X3, empty unit hydrographs), all
// steps, Σ (Q - obs)² over the steps after the warm-up where obs is present. Lanes past `ns` repeat
// the last set (computed, never stored).
template <int W>
FIELDCAL_SETS_CLONES void runSets(const Args& a, size_t s0, size_t ns) {
  const int nh = a.nh;
  // one buffer per thread, kept between calls (a call is ~0.2 ms: a fresh allocation of the tanh
  // table, over malloc's mmap threshold at 8 lanes, cost page faults every call); series so long
  // that the buffer would pass 32 MiB get their own, freed after the call
  thread_local std::vector<double> kept;
  std::vector<double> own;
  const size_t need = (3 * nh) * W + (3 * nh + 2) * W + 3 * nh + a.steps * W;
  std::vector<double>& buf = need <= (size_t{4} << 20) ? kept : own;
  if (buf.size() < need) buf.resize(need);
  double* const o1 = buf.data();
  double* const o2 = o1 + nh * W;
  double* const s1 = o2 + 2 * nh * W;
  double* const s2 = s1 + (nh + 1) * W;
  double* const c1 = s2 + (2 * nh + 1) * W;
  double* const c2 = c1 + nh;
  double* const tanhs = c2 + 2 * nh;
  std::fill(s1, s1 + (3 * nh + 2) * W, 0.0);
  alignas(64) double A[W], X2[W], X3[W], S[W], R[W], m1[W], m2[W], sse[W];
  int mm1 = 0, mm2 = 0;
  for (int j = 0; j < W; j++) {
    const double* p = a.params + 4 * (s0 + std::min<size_t>(j, ns - 1));
    const double x4 = p[3];
    for (int i = 1; i <= nh; i++) c1[i - 1] = ss1(i, x4) - ss1(i - 1, x4);
    for (int i = 1; i <= 2 * nh; i++) c2[i - 1] = ss2(i, x4) - ss2(i - 1, x4);
    for (int k = 0; k < nh; k++) o1[k * W + j] = c1[k];
    for (int k = 0; k < 2 * nh; k++) o2[k * W + j] = c2[k];
    A[j] = p[0];
    X2[j] = p[1];
    X3[j] = p[2];
    S[j] = 0.3 * p[0];
    R[j] = 0.5 * p[2];
    const int l1 = uhLen1(x4, nh), l2 = uhLen2(x4, nh);
    m1[j] = l1;
    m2[j] = l2;
    mm1 = std::max(mm1, l1);
    mm2 = std::max(mm2, l2);
    sse[j] = 0;
  }
  double* const u1 = s1;
  double* const u2 = s2;
  const double* const w1 = o1;
  const double* const w2 = o2;
  const double iPERC = 1 / a.percConst;
  alignas(64) double iA[W], iX3[W];
  alignas(64) double iAP[W];  // 1 / (X1 PERC^(1/4)): (s / X1)^4 / PERC as (s iAP)^4
  const double iPERC4 = std::sqrt(std::sqrt(iPERC));
  for (int j = 0; j < W; j++) iA[j] = 1 / A[j], iX3[j] = 1 / X3[j], iAP[j] = iA[j] * iPERC4;
  // tanh of each step first: it depends on the forcing and X1 only, so computing it outside the
  // step keeps its exp off the chain of dependencies through the stores (the step's latency)
  for (size_t t = 0; t < a.steps; t++) {
    const double p1 = a.P[t], e = a.E[t];
    const double w = p1 <= e ? e - p1 : p1 - e;
    double* tw = tanhs + t * W;
#pragma omp simd
    for (int j = 0; j < W; j++) tw[j] = vtanh(std::min(w * iA[j], 13.0));
  }
  alignas(64) double h1[W], h2[W], q[W];
  for (size_t t = 0; t < a.steps; t++) {
    const double p1 = a.P[t], e = a.E[t];
    const bool brA = p1 <= e;
    const double* tw = tanhs + t * W;
#pragma omp simd
    for (int j = 0; j < W; j++) {
      const double Aj = A[j], Sj = S[j], tws = tw[j];
      const double sr = Sj * iA[j];
      // evaporation from the store (brA) or rain into it: one division, of the branch taken
      const double num = brA ? Sj * (2 - sr) * tws : Aj * (1 - sr * sr) * tws;
      const double den = brA ? 1 + (1 - sr) * tws : 1 + sr * tws;
      const double ps = num / den, er = ps;
      double s = brA ? Sj - er : Sj + ps;
      double pr = brA ? 0.0 : (p1 - e) - ps;
      s = s < 0 ? 0 : s;
      // percolation (eq. 10): S leaves as s (1 + (s / X1)^4 / PERC)^(-1/4), the power as √u · (1/u)
      // with u = √(1 + ...): the root and the reciprocal of u run side by side
      const double qs = s * iAP[j];
      const double q2 = qs * qs;
      const double u = std::sqrt(1 + q2 * q2);
      const double sn = s * (std::sqrt(u) * (1 / u));
      S[j] = sn;
      pr += s - sn;
      h1[j] = pr * kB;
      h2[j] = pr * (1 - kB);
    }
    for (int k = 0; k < mm1; k++) {
      double* sk = u1 + k * W;
      const double* sn = u1 + (k + 1) * W;
      const double* ok = w1 + k * W;
#pragma omp simd
      for (int j = 0; j < W; j++) sk[j] = k < m1[j] ? sn[j] + ok[j] * h1[j] : sk[j];
    }
#pragma omp simd
    for (int j = 0; j < W; j++) u1[(nh - 1) * W + j] = w1[(nh - 1) * W + j] * h1[j];
    for (int k = 0; k < mm2; k++) {
      double* sk = u2 + k * W;
      const double* sn = u2 + (k + 1) * W;
      const double* ok = w2 + k * W;
#pragma omp simd
      for (int j = 0; j < W; j++) sk[j] = k < m2[j] ? sn[j] + ok[j] * h2[j] : sk[j];
    }
#pragma omp simd
    for (int j = 0; j < W; j++) u2[(2 * nh - 1) * W + j] = w2[(2 * nh - 1) * W + j] * h2[j];
#pragma omp simd
    for (int j = 0; j < W; j++) {
      const double Rj = R[j], v1 = u1[j], v2 = u2[j];
      const double rr0 = Rj * iX3[j];
      const double ex = X2[j] * (rr0 * rr0 * rr0 * std::sqrt(rr0));
      const double r1 = std::max(0.0, Rj + v1 + ex);
      const double rr = (r1 * iX3[j]) * (r1 * iX3[j]);
      // routing store outflow (eqs. 19-22): R leaves as r1 (1 + (r1 / X3)^4)^(-1/4), as percolation
      const double ur = std::sqrt(1 + rr * rr);
      const double rn = r1 * (std::sqrt(ur) * (1 / ur));
      R[j] = rn;
      const double qr = r1 - rn;
      const double qd = std::max(0.0, v2 + ex);
      q[j] = std::max(0.0, qr + qd);
    }
    if (t >= a.warmup) {
      const double o = a.obs[t - a.warmup];
      if (std::isfinite(o)) {
#pragma omp simd
        for (int j = 0; j < W; j++) {
          const double d = q[j] - o;
          sse[j] += d * d;
        }
      }
    }
  }
  for (size_t j = 0; j < ns; j++) a.sse[s0 + j] = sse[j];
}

napi_value fail(napi_env env, const std::string& msg) {
  napi_throw_error(env, "FIELDCAL_NATIVE", ("native gr4 sets: " + msg).c_str());
  return nullptr;
}

bool f64(napi_env env, napi_value v, double** data, size_t* len) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return false;
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  void* d;
  if (napi_get_typedarray_info(env, v, &type, len, &d, &ab, &off) != napi_ok || type != napi_float64_array)
    return false;
  *data = static_cast<double*>(d);
  return true;
}

// gr4SetsSse(P, E, obs, warmup, params[4k], percConst, nh, sse[k]): all Float64Array; P and E of
// `steps` values, obs of steps - warmup. Writes Σ (Q - obs)² of each set into sse.
napi_value Gr4SetsSse(napi_env env, napi_callback_info info) {
  SignalsHeld held;  // common.h: signals wait until the kernel returns
  size_t argc = 8;
  napi_value v[8];
  if (napi_get_cb_info(env, info, &argc, v, nullptr, nullptr) != napi_ok || argc != 8)
    return fail(env, "expected 8 arguments (P, E, obs, warmup, params, percConst, nh, sse)");
  Args a{};
  double *P, *E, *obs, *params, *sse;
  size_t np, ne, no, nparams, nsse;
  if (!f64(env, v[0], &P, &np) || !f64(env, v[1], &E, &ne) || !f64(env, v[2], &obs, &no) ||
      !f64(env, v[4], &params, &nparams) || !f64(env, v[7], &sse, &nsse))
    return fail(env, "P, E, obs, params and sse must be Float64Arrays");
  double warmup, percConst, nh;
  if (napi_get_value_double(env, v[3], &warmup) != napi_ok || napi_get_value_double(env, v[5], &percConst) != napi_ok ||
      napi_get_value_double(env, v[6], &nh) != napi_ok)
    return fail(env, "warmup, percConst and nh must be numbers");
  if (ne != np) return fail(env, "P and E differ in length");
  if (!(warmup >= 0 && warmup <= static_cast<double>(np)) || warmup != std::floor(warmup) ||
      no != np - static_cast<size_t>(warmup))
    return fail(env, "obs must hold the steps after the warm-up");
  if (!(nh >= 2 && nh <= 100000) || nh != std::floor(nh)) return fail(env, "nh out of range");
  if (nparams != 4 * nsse) return fail(env, "params must hold 4 values per set of sse");
  if (!(percConst > 0 && std::isfinite(percConst))) return fail(env, "percConst must be a positive number");
  // GR4J's domain (the JS side filters infeasible sets first; the addon stands on its own): X1, X3 > 0,
  // X2 finite, X4 positive and below 1e9 (the unit-hydrograph lengths are clamped to nh and 2 nh; the
  // bound keeps floor(X4 + 1) and twice it inside int)
  for (size_t j = 0; j < nsse; j++) {
    const double* x = params + 4 * j;
    if (!(x[0] > 0 && std::isfinite(x[0]) && std::isfinite(x[1]) && x[2] > 0 && std::isfinite(x[2]) && x[3] > 0 &&
          x[3] < 1e9))
      return fail(env, "set " + std::to_string(j) + ": X1 and X3 must be > 0, X2 finite and X4 in (0, 1e9)");
  }
  a.P = P;
  a.E = E;
  a.obs = obs;
  a.steps = np;
  a.warmup = static_cast<size_t>(warmup);
  a.params = params;
  a.percConst = percConst;
  a.nh = static_cast<int>(nh);
  a.sse = sse;
  // blocks of 8 lanes, the rest in one block of the next width up (a padded lane costs less than
  // a second pass over the steps: the step is latency-bound, so 4 lanes take about what 1 takes)
  const size_t k = nsse;
  try {  // runSets' per-step buffers: a failed allocation is a typed error
    size_t s = 0;
    for (; s + 8 <= k; s += 8) runSets<8>(a, s, 8);
    const size_t r = k - s;
    if (r > 4) runSets<8>(a, s, r);
    else if (r > 2) runSets<4>(a, s, r);
    else if (r == 2) runSets<2>(a, s, 2);
    else if (r == 1) runSets<1>(a, s, 1);
  } catch (const std::exception& e) {
    return fail(env, std::string("out of memory: ") + e.what());
  }
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

}  // namespace

void registerGr4Sets(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"gr4SetsSse", nullptr, Gr4SetsSse, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}

}  // namespace gr4sets
}  // namespace fieldcal
