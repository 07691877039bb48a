// Native physics kernels: gr4 (production + unit hydrographs + routing store, per cell), vic3l
// (blocks of cells, all steps in one call) and lr routing, forward and adjoint. Each is a line-by-line translation of
// the JavaScript kernels in src-main/services/physics (gr4/forward.ts, gr4/adjoint.ts,
// vic3l/kernel.ts, routing/lr.ts), which stay the reference: the same operations in the same order,
// compiled with -ffp-contract=off (no fused multiply-adds) so that only the elementary functions
// can differ, by an ulp or so: tanh, exp and log are this file's own vectorisable vtanh, vexp and vlog
// (V8 uses fdlibm ports), used by the scalar and the SIMD paths alike, so a cell's result does not
// depend on which block or thread ran it (the model pool's partitions give identical bits).
//
// Layout: forcing and per-step outputs are step-major [steps x cells] as in JavaScript; per-cell
// parameters and states are arrays over cells (structure of arrays). Cells are independent in gr4
// and vic3l, so each thread takes a contiguous range of cells and walks it in blocks, steps outer
// and cells inner, so that every step reads a contiguous run of forcing. lr routing follows the
// flow network's topological order and runs on one thread.
//
// Portability: the kernels are built for the x86-64 baseline and cloned for AVX2 and AVX-512F
// (GCC target_clones: a resolver picks, by CPU feature bits at load time, the clone the running CPU
// supports), so the binary runs on any x86-64 CPU.
#include <node_api.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "kernelMath.h"
#include "physics.h"
#include "signals.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FIELDCAL_CLONES __attribute__((target_clones("default", "avx2", "avx512f")))
#else
#define FIELDCAL_CLONES
#endif

namespace fieldcal {
namespace physics {
namespace {

using kernels::kB;
using kernels::kD;
using kernels::ss1;
using kernels::ss2;
using kernels::uhLen1;
using kernels::uhLen2;
using kernels::vexp;
using kernels::vlog;
using kernels::vtanh;

int g_threads = 1;

// Runs fn(c0, c1) over [0, n) split into `g_threads` contiguous ranges (one inline when 1).
template <class Fn>
void parallelCells(size_t n, Fn fn) {
  const size_t threads = std::max<size_t>(1, std::min<size_t>(g_threads, (n + 63) / 64));
  if (threads <= 1) {
    fn(size_t(0), n);
    return;
  }
  std::vector<std::thread> pool;
  const size_t chunk = ((n + threads - 1) / threads + 7) / 8 * 8;
  for (size_t t = 1; t < threads; t++) {
    const size_t c0 = std::min(n, t * chunk), c1 = std::min(n, (t + 1) * chunk);
    if (c0 < c1) pool.emplace_back([=] { fn(c0, c1); });
  }
  fn(0, std::min(n, chunk));
  for (auto& th : pool) th.join();
}

// ---- N-API argument helpers ----

struct Arr {
  void* data = nullptr;
  size_t len = 0;
  napi_typedarray_type type = napi_float64_array;
  bool present = false;
};

Arr typed(napi_env env, napi_value v) {
  Arr a;
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return a;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &a.type, &a.len, &a.data, &ab, &off) != napi_ok) return a;
  a.present = true;
  return a;
}

struct Call {
  SignalsHeld held;  // signals.h: signals wait until the kernel returns
  napi_env env;
  size_t argc = 32;
  napi_value v[32];
  std::string error;
  Call(napi_env e, napi_callback_info info) : env(e) {
    if (napi_get_cb_info(env, info, &argc, v, nullptr, nullptr) != napi_ok) error = "N-API call failed";
  }
  double num(size_t i) {
    double x = 0;
    if (i >= argc || napi_get_value_double(env, v[i], &x) != napi_ok) error = "argument " + std::to_string(i) + " must be a number";
    return x;
  }
  size_t size(size_t i) {
    const double x = num(i);
    if (!(x >= 0 && x < 9e15) || x != std::floor(x)) error = "argument " + std::to_string(i) + " must be a size";
    return static_cast<size_t>(x);
  }
  // A typed array of `type` with exactly `len` elements; nullptr when absent and optional.
  template <class T>
  T* arr(size_t i, napi_typedarray_type type, size_t len, bool optional = false) {
    Arr a = i < argc ? typed(env, v[i]) : Arr{};
    if (!a.present) {
      if (!optional && error.empty()) error = "argument " + std::to_string(i) + " must be a typed array";
      return nullptr;
    }
    if ((a.type != type || a.len != len) && error.empty())
      error = "argument " + std::to_string(i) + " has the wrong type or length (" + std::to_string(a.len) + ", expected " + std::to_string(len) + ")";
    return static_cast<T*>(a.data);
  }
  // Float32Array or Float64Array of `len` elements: its kind (0 f32, 1 f64, -1 absent).
  int kind(size_t i, size_t len, bool optional = false) {
    Arr a = i < argc ? typed(env, v[i]) : Arr{};
    if (!a.present) {
      if (!optional && error.empty()) error = "argument " + std::to_string(i) + " must be a Float32Array or Float64Array";
      return -1;
    }
    if (a.len != len || (a.type != napi_float32_array && a.type != napi_float64_array)) {
      if (error.empty()) error = "argument " + std::to_string(i) + " has the wrong type or length (" + std::to_string(a.len) + ", expected " + std::to_string(len) + ")";
      return -1;
    }
    return a.type == napi_float32_array ? 0 : 1;
  }
  void* data(size_t i) { return i < argc ? typed(env, v[i]).data : nullptr; }
  napi_value done() {
    if (!error.empty()) napi_throw_error(env, "FIELDCAL_NATIVE", ("native physics: " + error).c_str());
    napi_value u;
    napi_get_undefined(env, &u);
    return u;
  }
};

// ============================== GR4 ==============================
inline double dss1(double t, double x4) { return t > 0 && t < x4 ? (-kD * std::pow(t / x4, kD)) / x4 : 0; }
inline double dss2(double t, double x4) {
  if (t <= 0 || t >= 2 * x4) return 0;
  if (t <= x4) return (-0.5 * kD * std::pow(t / x4, kD)) / x4;
  return (-0.5 * kD * std::pow(2 - t / x4, kD - 1) * t) / (x4 * x4);
}
inline double iqr(double x) { return 1 / std::sqrt(std::sqrt(x)); }
inline double p35(double x) { return x * x * x * std::sqrt(x); }
void ordinates(double x4, int nh, double* o1, double* o2) {
  for (int i = 1; i <= nh; i++) o1[i - 1] = ss1(i, x4) - ss1(i - 1, x4);
  for (int i = 1; i <= 2 * nh; i++) o2[i - 1] = ss2(i, x4) - ss2(i - 1, x4);
}

template <class F>
struct Gr4Args {
  const F* P;
  const F* E;
  size_t n, steps;
  const double *X1, *X2, *X3, *X4;
  double percConst;
  int nh;
  double *S, *R, *uh1, *uh2;
  double* out[4];  // Q, AE, Perc, Exch (step-major, nullable)
  // adjoint only
  const double* gQ = nullptr;
  const double* gAE = nullptr;
  double* grad = nullptr;  // 6 x n: X1, X2, X3, X4, S0, R0
  double* guh1 = nullptr;
  double* guh2 = nullptr;
  double* gP = nullptr;
};

constexpr size_t kBlock = 32;

constexpr size_t kV = 16;  // cells per vectorised block

// Workspace of one block of kV cells: unit-hydrograph ordinates and stores slot-major (slot k of
// lane j at k * kV + j), parameters and states per lane.
struct Gr4Block {
  std::vector<double> o1, o2, s1, s2, oc1, oc2;
  alignas(64) double A[kV], X2[kV], X3[kV], S[kV], R[kV], m1[kV], m2[kV];
  int mm1 = 0, mm2 = 0;
  explicit Gr4Block(int nh) : o1(nh * kV), o2(2 * nh * kV), s1(nh * kV), s2(2 * nh * kV), oc1(nh), oc2(2 * nh) {}
};

// Loads cells [b0, b0 + nb) into the block; lanes past nb repeat the last cell (computed, never stored).
template <class F>
__attribute__((always_inline)) inline void gr4LoadBlock(const Gr4Args<F>& a, size_t b0, size_t nb, Gr4Block& w) {
  const int nh = a.nh;
  w.mm1 = 0;
  w.mm2 = 0;
  for (size_t j = 0; j < kV; j++) {
    const size_t c = b0 + std::min(j, nb - 1);
    ordinates(a.X4[c], nh, w.oc1.data(), w.oc2.data());
    for (int k = 0; k < nh; k++) w.o1[k * kV + j] = w.oc1[k], w.s1[k * kV + j] = a.uh1[c * nh + k];
    for (int k = 0; k < 2 * nh; k++) w.o2[k * kV + j] = w.oc2[k], w.s2[k * kV + j] = a.uh2[c * 2 * nh + k];
    w.A[j] = a.X1[c];
    w.X2[j] = a.X2[c];
    w.X3[j] = a.X3[c];
    w.S[j] = a.S[c];
    w.R[j] = a.R[c];
    const int l1 = uhLen1(a.X4[c], nh), l2 = uhLen2(a.X4[c], nh);
    w.m1[j] = l1;
    w.m2[j] = l2;
    w.mm1 = std::max(w.mm1, l1);
    w.mm2 = std::max(w.mm2, l2);
  }
}

// The forward over all steps of one loaded block: the step of gr4Step (gr4/forward.ts; airGR MOD_GR4J,
// Perrin et al. 2003 eqs. 3-23) with every branch as a select (both sides computed, the one gr4Step
// takes kept), each line of the step one SIMD loop over the
// block's lanes. With a tape, records each step's start S, R, uh1[1], uh2[1] and its tanh at
// tape[(5 t + q) kV + j] (what the reverse pass recomputes the step from). Stores the end state.
template <class F>
__attribute__((always_inline)) inline void gr4ForwardBlock(const Gr4Args<F>& a, size_t b0, size_t nb, Gr4Block& w,
                                                           double* tape) {
  const int nh = a.nh;
  const size_t n = a.n;
  const double PERC = a.percConst;
  double* const A = w.A;
  double* const X2 = w.X2;
  double* const X3 = w.X3;
  double* const S = w.S;
  double* const R = w.R;
  const double* const m1 = w.m1;
  const double* const m2 = w.m2;
  double* const s1 = w.s1.data();
  double* const s2 = w.s2.data();
  const double* const o1 = w.o1.data();
  const double* const o2 = w.o2.data();
  const int mm1 = w.mm1, mm2 = w.mm2;
  alignas(64) double h1[kV], h2[kV], pin[kV], ein[kV];
  alignas(64) double ae[kV], perc[kV], exch[kV], q[kV];
  for (size_t t = 0; t < a.steps; t++) {
    const size_t base = t * n + b0;
    if (tape) {
      double* tp = tape + 5 * t * kV;
      for (size_t j = 0; j < kV; j++) {
        tp[j] = S[j];
        tp[kV + j] = R[j];
        tp[2 * kV + j] = s1[kV + j];
        tp[3 * kV + j] = s2[kV + j];
      }
    }
    for (size_t j = 0; j < kV; j++) {
      const size_t jj = j < nb ? j : nb - 1;
      pin[j] = a.P[base + jj];
      ein[j] = a.E[base + jj];
    }
#pragma omp simd
    for (size_t j = 0; j < kV; j++) {
      const double p1 = pin[j], e = ein[j], Aj = A[j], Sj = S[j];
      const bool brA = p1 <= e;
      const double wsA = std::min((e - p1) / Aj, 13.0);
      const double wsB = std::min((p1 - e) / Aj, 13.0);
      const double tws = vtanh(brA ? wsA : wsB);
      if (tape) tape[(5 * t + 4) * kV + j] = tws;
      const double sr = Sj / Aj;
      const double er = (Sj * (2 - sr) * tws) / (1 + (1 - sr) * tws);
      const double ps = (Aj * (1 - sr * sr) * tws) / (1 + sr * tws);
      ae[j] = brA ? er + p1 : e;
      double s = brA ? Sj - er : Sj + ps;
      double pr = brA ? 0.0 : (p1 - e) - ps;
      s = s < 0 ? 0 : s;
      const double q2 = (s / Aj) * (s / Aj);
      const double pc = s * (1 - 1 / std::sqrt(std::sqrt(1 + (q2 * q2) / PERC)));
      S[j] = s - pc;
      pr += pc;
      perc[j] = pc;
      h1[j] = pr * kB;
      h2[j] = pr * (1 - kB);
    }
    for (int k = 0; k < mm1; k++) {
      double* sk = &s1[k * kV];
      const double* sn = &s1[(k + 1) * kV];
      const double* ok = &o1[k * kV];
#pragma omp simd
      for (size_t j = 0; j < kV; j++) sk[j] = k < m1[j] ? sn[j] + ok[j] * h1[j] : sk[j];
    }
#pragma omp simd
    for (size_t j = 0; j < kV; j++) s1[(nh - 1) * kV + j] = o1[(nh - 1) * kV + j] * h1[j];
    for (int k = 0; k < mm2; k++) {
      double* sk = &s2[k * kV];
      const double* sn = &s2[(k + 1) * kV];
      const double* ok = &o2[k * kV];
#pragma omp simd
      for (size_t j = 0; j < kV; j++) sk[j] = k < m2[j] ? sn[j] + ok[j] * h2[j] : sk[j];
    }
#pragma omp simd
    for (size_t j = 0; j < kV; j++) s2[(2 * nh - 1) * kV + j] = o2[(2 * nh - 1) * kV + j] * h2[j];
#pragma omp simd
    for (size_t j = 0; j < kV; j++) {
      const double Rj = R[j], x3 = X3[j], u1 = s1[j], u2 = s2[j];
      const double rr0 = Rj / x3;
      const double ex = X2[j] * (rr0 * rr0 * rr0 * std::sqrt(rr0));
      const double aexch1 = Rj + u1 + ex < 0 ? -Rj - u1 : ex;
      const double r1 = std::max(0.0, Rj + u1 + ex);
      const double rr = (r1 / x3) * (r1 / x3);
      const double qr = r1 * (1 - 1 / std::sqrt(std::sqrt(1 + rr * rr)));
      R[j] = r1 - qr;
      const double aexch2 = u2 + ex < 0 ? -u2 : ex;
      const double qd = std::max(0.0, u2 + ex);
      q[j] = std::max(0.0, qr + qd);
      exch[j] = aexch1 + aexch2;
    }
    const size_t ob = t * n + b0;
    if (a.out[0]) for (size_t j = 0; j < nb; j++) a.out[0][ob + j] = q[j];
    if (a.out[1]) for (size_t j = 0; j < nb; j++) a.out[1][ob + j] = ae[j];
    if (a.out[2]) for (size_t j = 0; j < nb; j++) a.out[2][ob + j] = perc[j];
    if (a.out[3]) for (size_t j = 0; j < nb; j++) a.out[3][ob + j] = exch[j];
  }
  for (size_t j = 0; j < nb; j++) {
    const size_t c = b0 + j;
    a.S[c] = S[j];
    a.R[c] = R[j];
    for (int k = 0; k < nh; k++) a.uh1[c * nh + k] = s1[k * kV + j];
    for (int k = 0; k < 2 * nh; k++) a.uh2[c * 2 * nh + k] = s2[k * kV + j];
  }
}

// GR4 forward over [c0, c1), kV cells at a time.
template <class F>
FIELDCAL_CLONES void gr4ForwardRange(const Gr4Args<F>& a, size_t c0, size_t c1) {
  Gr4Block w(a.nh);
  for (size_t b0 = c0; b0 < c1; b0 += kV) {
    const size_t nb = std::min(kV, c1 - b0);
    gr4LoadBlock(a, b0, nb, w);
    gr4ForwardBlock(a, b0, nb, w, nullptr);
  }
}



// Reverse pass of gr4WithGradient (gr4/adjoint.ts) over [c0, c1), kV cells at a time: the
// forward of each block with a tape (gr4ForwardBlock), then steps in reverse with the operations of
// gr4WithGradient (gr4/adjoint.ts) in the same order, every branch a select, unit-hydrograph gradients
// slot-major like the stores. The update of slot k + 1 < nh ... by lane is a select on k < m1 (slots
// past a lane's m1 stay zero in both gradient buffers, as in the scalar pass), and the last slot's
// term is added for every lane, as the scalar loop's jj = m1 iteration does.
template <class F>
FIELDCAL_CLONES void gr4AdjointRange(const Gr4Args<F>& a, size_t c0, size_t c1) {
  const int nh = a.nh;
  const size_t steps = a.steps, n = a.n;
  const double Bk = kB, PERC = a.percConst;
  Gr4Block w(nh);
  std::vector<double> tape(5 * steps * kV);
  std::vector<double> go1(nh * kV), go2(2 * nh * kV), ga1(nh * kV), ga2(2 * nh * kV), gb1(nh * kV), gb2(2 * nh * kV);
  alignas(64) double gS[kV], gR[kV], gX1[kV], gX2[kV], gX3[kV];
  alignas(64) double pin[kV], ein[kV], gqin[kV], gaein[kV];
  alignas(64) double vS1[kV], vS2[kV], vg[kV], vg4[kV], vpr[kV], vtws[kV], vnum[kV], vden[kV], vw[kV];
  alignas(64) double vgs1o[kV], vgs2o[kV], vgR[kV], vgpr[kV], vgP[kV];
  const double* const A = w.A;
  const double* const X2 = w.X2;
  const double* const X3 = w.X3;
  const double* const m1 = w.m1;
  const double* const m2 = w.m2;
  const double* const o1 = w.o1.data();
  const double* const o2 = w.o2.data();
  for (size_t b0 = c0; b0 < c1; b0 += kV) {
    const size_t nb = std::min(kV, c1 - b0);
    gr4LoadBlock(a, b0, nb, w);
    gr4ForwardBlock(a, b0, nb, w, tape.data());
    const int mm1 = w.mm1, mm2 = w.mm2;
    std::fill(go1.begin(), go1.end(), 0.0);
    std::fill(go2.begin(), go2.end(), 0.0);
    std::fill(ga1.begin(), ga1.end(), 0.0);
    std::fill(ga2.begin(), ga2.end(), 0.0);
    std::fill(gb1.begin(), gb1.end(), 0.0);
    std::fill(gb2.begin(), gb2.end(), 0.0);
    for (size_t j = 0; j < kV; j++) gS[j] = gR[j] = gX1[j] = gX2[j] = gX3[j] = 0;
    bool swapped = false;
    for (size_t tt = steps; tt-- > 0;) {
      const size_t base = tt * n + b0;
      const double* tp = &tape[5 * tt * kV];
      const double* G1 = swapped ? gb1.data() : ga1.data();
      const double* G2 = swapped ? gb2.data() : ga2.data();
      double* N1 = swapped ? ga1.data() : gb1.data();
      double* N2 = swapped ? ga2.data() : gb2.data();
      for (size_t j = 0; j < kV; j++) {
        const size_t jj = j < nb ? j : nb - 1;
        pin[j] = a.P[base + jj];
        ein[j] = a.E[base + jj];
        gqin[j] = a.gQ[base + jj];
        gaein[j] = a.gAE ? a.gAE[base + jj] : 0;
      }
      // the step recomputed from the tape, then its reverse down to the unit hydrographs
#pragma omp simd
      for (size_t j = 0; j < kV; j++) {
        const double Aj = A[j], X2j = X2[j], X3j = X3[j];
        const double S = tp[j], R = tp[kV + j];
        const double p1 = pin[j], e = ein[j];
        const bool branchA = p1 <= e;
        const double w0 = branchA ? (e - p1) / Aj : (p1 - e) / Aj;
        const double tws = tp[4 * kV + j];  // vtanh(std::min(w0, 13.0)), taped by the forward
        const double sr = S / Aj;
        const double numA = S * (2 - sr) * tws;
        const double denA = 1 + (1 - sr) * tws;
        const double numB = Aj * (1 - sr * sr) * tws;
        const double denB = 1 + sr * tws;
        const double num = branchA ? numA : numB;
        const double den = branchA ? denA : denB;
        const double S1 = branchA ? S - numA / denA : S + numB / denB;
        const double pr0 = branchA ? 0.0 : p1 - e - numB / denB;
        const double S2 = S1 < 0 ? 0 : S1;
        const double q2 = (S2 / Aj) * (S2 / Aj);
        const double g = 1 + (q2 * q2) / PERC;
        const double g4 = 1 / std::sqrt(std::sqrt(g));
        const double perc = S2 * (1 - g4);
        const double pr = pr0 + perc;
        const double s1o = tp[2 * kV + j] + o1[j] * Bk * pr;
        const double s2o = tp[3 * kV + j] + o2[j] * (1 - Bk) * pr;
        const double rr0 = R / X3j;
        const double p35r = rr0 * rr0 * rr0 * std::sqrt(rr0);
        const double exch = X2j * p35r;
        const double Rp = R + s1o + exch;
        const double R1 = std::max(0.0, Rp);
        const double rr = (R1 / X3j) * (R1 / X3j);
        const double h = 1 / std::sqrt(std::sqrt(1 + rr * rr));
        const double qr = R1 * (1 - h);
        const double x2 = s2o + exch;
        const double qd = std::max(0.0, x2);
        const double gq = qr + qd >= 0 ? gqin[j] : 0;
        double gExch = 0;
        const double gx2 = x2 >= 0 ? gq : 0;
        double gs2o = gx2;
        gExch += gx2;
        const double aq = gq - gR[j];
        const double dhdrr = (-0.5 * rr * h) / (1 + rr * rr);
        const double gR1 = gR[j] + aq * (1 - h - R1 * dhdrr * ((2 * R1) / (X3j * X3j)));
        double gx3 = gX3[j] + aq * (-R1 * dhdrr * ((-2 * R1 * R1) / (X3j * X3j * X3j)));
        const double gRp = Rp >= 0 ? gR1 : 0;
        double gRstart = gRp;
        double gs1o = gRp;
        gExch += gRp;
        gX2[j] += gExch * p35r;
        const double dexch = X2j * 3.5 * rr0 * rr0 * std::sqrt(rr0);
        gRstart += (gExch * dexch) / X3j;
        gx3 += gExch * dexch * (-R / (X3j * X3j));
        gX3[j] = gx3;
        gs1o += G1[j];
        gs2o += G2[j];
        vgs1o[j] = gs1o;
        vgs2o[j] = gs2o;
        vgR[j] = gRstart;
        vS1[j] = S1;
        vS2[j] = S2;
        vg[j] = g;
        vg4[j] = g4;
        vpr[j] = pr;
        vtws[j] = tws;
        vnum[j] = num;
        vden[j] = den;
        vw[j] = w0;
        vgpr[j] = 0;
      }
      // unit hydrograph 1: slots 0 .. m1 - 1, then the last slot nh - 1
#pragma omp simd
      for (size_t j = 0; j < kV; j++) N1[j] = 0;
      for (int k = 0; k < mm1; k++) {
        const double* gk1 = k == 0 ? vgs1o : &G1[k * kV];
        const double* ok = &o1[k * kV];
        double* qk = &go1[k * kV];
        double* nk = &N1[(k + 1) * kV];
#pragma omp simd
        for (size_t j = 0; j < kV; j++) {
          const bool on = k < m1[j];
          const double gk = gk1[j];
          nk[j] = on ? gk : 0.0;
          vgpr[j] = on ? vgpr[j] + gk * ok[j] * Bk : vgpr[j];
          qk[j] = on ? qk[j] + gk * Bk * vpr[j] : qk[j];
        }
      }
      {
        const double* gk1 = &G1[(nh - 1) * kV];
        const double* ok = &o1[(nh - 1) * kV];
        double* qk = &go1[(nh - 1) * kV];
#pragma omp simd
        for (size_t j = 0; j < kV; j++) {
          const double gk = gk1[j];
          vgpr[j] += gk * ok[j] * Bk;
          qk[j] += gk * Bk * vpr[j];
        }
      }
      // unit hydrograph 2: slots 0 .. m2 - 1, then the last slot 2 nh - 1
#pragma omp simd
      for (size_t j = 0; j < kV; j++) N2[j] = 0;
      for (int k = 0; k < mm2; k++) {
        const double* gk2 = k == 0 ? vgs2o : &G2[k * kV];
        const double* ok = &o2[k * kV];
        double* qk = &go2[k * kV];
        double* nk = &N2[(k + 1) * kV];
#pragma omp simd
        for (size_t j = 0; j < kV; j++) {
          const bool on = k < m2[j];
          const double gk = gk2[j];
          nk[j] = on ? gk : 0.0;
          vgpr[j] = on ? vgpr[j] + gk * ok[j] * (1 - Bk) : vgpr[j];
          qk[j] = on ? qk[j] + gk * (1 - Bk) * vpr[j] : qk[j];
        }
      }
      {
        const double* gk2 = &G2[(2 * nh - 1) * kV];
        const double* ok = &o2[(2 * nh - 1) * kV];
        double* qk = &go2[(2 * nh - 1) * kV];
#pragma omp simd
        for (size_t j = 0; j < kV; j++) {
          const double gk = gk2[j];
          vgpr[j] += gk * ok[j] * (1 - Bk);
          qk[j] += gk * (1 - Bk) * vpr[j];
        }
      }
      // percolation and the production store
#pragma omp simd
      for (size_t j = 0; j < kV; j++) {
        const double Aj = A[j];
        const double S = tp[j];
        const double p1 = pin[j], e = ein[j];
        const bool branchA = p1 <= e;
        const double S1 = vS1[j], S2 = vS2[j], g = vg[j], g4 = vg4[j], tws = vtws[j];
        const double num = vnum[j], den = vden[j], w0 = vw[j];
        const double gpr = vgpr[j];
        const double sr = S / Aj;
        const double gperc = gpr - gS[j];
        double gS2 = gS[j];
        const double A4 = Aj * Aj * Aj * Aj;
        const double dgdS2 = (4 * S2 * S2 * S2) / (A4 * PERC);
        const double dgdA = (-4 * S2 * S2 * S2 * S2) / (A4 * Aj * PERC);
        const double dpdg = (S2 * 0.25 * g4) / g;
        gS2 += gperc * (1 - g4 + dpdg * dgdS2);
        const double gx1 = gX1[j] + gperc * dpdg * dgdA;
        const double gS1 = S1 < 0 ? 0 : gS2;
        const double dtws = w0 > 13 ? 0 : 1 - tws * tws;
        const double dwdA = -w0 / Aj;
        const double gae = gaein[j];
        // branch A (p1 <= e): evaporation from the store
        const double ger = gae - gS1;
        const double aN_dsr = -S * tws;
        const double aD_dsr = -tws;
        const double der_dsr = (aN_dsr * den - num * aD_dsr) / (den * den);
        const double der_dtws = (S * (2 - sr) * den - num * (1 - sr)) / (den * den);
        const double der_dS = ((2 - sr) * tws) / den;
        const double gSA = gS1 + ger * (der_dS + der_dsr / Aj);
        const double gX1A = gx1 + ger * (der_dsr * (-S / (Aj * Aj)) + der_dtws * dtws * dwdA);
        const double gPA = gae - (ger * der_dtws * dtws) / Aj;
        // branch B: rain into the store
        const double gps = gS1 - gpr;
        const double bN_dsr = Aj * -2 * sr * tws;
        const double bD_dsr = tws;
        const double dps_dsr = (bN_dsr * den - num * bD_dsr) / (den * den);
        const double dps_dtws = (Aj * (1 - sr * sr) * den - num * sr) / (den * den);
        const double dps_dA = ((1 - sr * sr) * tws) / den;
        const double gSB = gS1 + (gps * dps_dsr) / Aj;
        const double gX1B = gx1 + gps * (dps_dA + dps_dsr * (-S / (Aj * Aj)) + dps_dtws * dtws * dwdA);
        const double gPB = gpr + (gps * dps_dtws * dtws) / Aj;
        gS[j] = branchA ? gSA : gSB;
        gX1[j] = branchA ? gX1A : gX1B;
        vgP[j] = branchA ? gPA : gPB;
        gR[j] = vgR[j];
      }
      if (a.gP)
        for (size_t j = 0; j < nb; j++) a.gP[base + j] = vgP[j];
      swapped = !swapped;
    }
    const double* G1 = swapped ? gb1.data() : ga1.data();
    const double* G2 = swapped ? gb2.data() : ga2.data();
    for (size_t j = 0; j < nb; j++) {
      const size_t c = b0 + j;
      const double x4 = a.X4[c];
      double gX4 = 0;
      for (int i = 1; i <= nh; i++) gX4 += go1[(i - 1) * kV + j] * (dss1(i, x4) - dss1(i - 1, x4));
      for (int i = 1; i <= 2 * nh; i++) gX4 += go2[(i - 1) * kV + j] * (dss2(i, x4) - dss2(i - 1, x4));
      a.grad[c] = gX1[j];
      a.grad[n + c] = gX2[j];
      a.grad[2 * n + c] = gX3[j];
      a.grad[3 * n + c] = gX4;
      a.grad[4 * n + c] = gS[j];
      a.grad[5 * n + c] = gR[j];
      if (a.guh1)
        for (int k = 0; k < nh; k++) a.guh1[c * nh + k] = G1[k * kV + j];
      if (a.guh2)
        for (int k = 0; k < 2 * nh; k++) a.guh2[c * 2 * nh + k] = G2[k * kV + j];
    }
  }
}

// gr4Forward(P, E, n, steps, X1, X2, X3, X4, percConst, nh, S, R, uh1, uh2, Q, AE, Perc, Exch)
// gr4Adjoint(same 18 arguments, gQ, gAE, grad[6n], guh1, guh2, gP)
template <class F>
napi_value gr4Call(Call& c, int kindPE, bool adjoint) {
  Gr4Args<F> a{};
  a.n = c.size(2);
  a.steps = c.size(3);
  const size_t n = a.n, sn = a.n * a.steps;
  a.P = static_cast<const F*>(c.data(0));
  a.E = static_cast<const F*>(c.data(1));
  a.X1 = c.arr<double>(4, napi_float64_array, n);
  a.X2 = c.arr<double>(5, napi_float64_array, n);
  a.X3 = c.arr<double>(6, napi_float64_array, n);
  a.X4 = c.arr<double>(7, napi_float64_array, n);
  a.percConst = c.num(8);
  a.nh = static_cast<int>(c.size(9));
  if (a.nh < 2 || a.nh > 100000) c.error = "nh out of range";
  if (!c.error.empty()) return c.done();
  a.S = c.arr<double>(10, napi_float64_array, n);
  a.R = c.arr<double>(11, napi_float64_array, n);
  a.uh1 = c.arr<double>(12, napi_float64_array, n * a.nh);
  a.uh2 = c.arr<double>(13, napi_float64_array, n * 2 * a.nh);
  for (int k = 0; k < 4; k++) a.out[k] = c.arr<double>(14 + k, napi_float64_array, sn, true);
  if (adjoint) {
    a.gQ = c.arr<double>(18, napi_float64_array, sn);
    a.gAE = c.arr<double>(19, napi_float64_array, sn, true);
    a.grad = c.arr<double>(20, napi_float64_array, 6 * n);
    a.guh1 = c.arr<double>(21, napi_float64_array, n * a.nh, true);
    a.guh2 = c.arr<double>(22, napi_float64_array, n * 2 * a.nh, true);
    a.gP = c.arr<double>(23, napi_float64_array, sn, true);
  }
  (void)kindPE;
  if (!c.error.empty()) return c.done();
  if (adjoint)
    parallelCells(n, [&](size_t c0, size_t c1) { gr4AdjointRange<F>(a, c0, c1); });
  else
    parallelCells(n, [&](size_t c0, size_t c1) { gr4ForwardRange<F>(a, c0, c1); });
  return c.done();
}

napi_value gr4Entry(napi_env env, napi_callback_info info, bool adjoint) {
  Call c(env, info);
  if (!c.error.empty()) return c.done();
  const size_t sn = c.size(2) * c.size(3);
  const int kp = c.kind(0, sn), ke = c.kind(1, sn);
  if (!c.error.empty()) return c.done();
  if (kp != ke) {
    c.error = "P and E must have the same element type";
    return c.done();
  }
  return kp == 0 ? gr4Call<float>(c, kp, adjoint) : gr4Call<double>(c, kp, adjoint);
}
napi_value Gr4Forward(napi_env env, napi_callback_info info) { return gr4Entry(env, info, false); }
napi_value Gr4Adjoint(napi_env env, napi_callback_info info) { return gr4Entry(env, info, true); }

// ============================== lr routing ==============================
// lrRoute(order, down, upStart, up, n, steps, runoff, a, e, llr, dt, mmToM3s, h, q, gQ, gRunoff, gLlr)
// Forward (routeLr) when gQ is absent: h updated in place. With gQ: routeLrWithGradient, h is h0 on
// entry and its adjoint on return.
template <class F>
FIELDCAL_CLONES void lrRun(const int32_t* order, const int32_t* down, const int32_t* upStart, const int32_t* up, size_t n,
                           size_t steps, const F* runoff, const double* a, const double* ee, const double* llr, double dt,
                           double mmToM3s, double* h, double* q, const double* gQ, double* gRunoff, double* gLlr) {
  if (!gQ) {
    std::vector<double> qup(n);
    for (size_t t = 0; t < steps; t++) {
      std::fill(qup.begin(), qup.end(), 0.0);
      const size_t base = t * n;
      for (size_t k = 0; k < n; k++) {
        const int32_t c = order[k];
        const double htmp = h[c] + qup[c] / mmToM3s;
        const double qrout = htmp * a[c];
        h[c] = htmp - qrout;
        const double qc = (qrout + runoff[base + c]) * mmToM3s;
        q[base + c] = qc;
        const int32_t d = down[c];
        if (d >= 0) qup[d] += qc;
      }
    }
    return;
  }
  std::vector<double> hTape(steps * n), qup(steps * n);
  std::vector<double> hh(h, h + n);
  for (size_t t = 0; t < steps; t++) {
    const size_t base = t * n;
    std::memcpy(&hTape[base], hh.data(), n * sizeof(double));
    for (size_t k = 0; k < n; k++) {
      const int32_t c = order[k];
      const double htmp = hh[c] + qup[base + c] / mmToM3s;
      const double qrout = htmp * a[c];
      hh[c] = htmp - qrout;
      const double qc = (qrout + runoff[base + c]) * mmToM3s;
      q[base + c] = qc;
      const int32_t d = down[c];
      if (d >= 0) qup[base + d] += qc;
    }
  }
  std::vector<double> gh(n, 0.0), ghPrev(n), gq(n);
  std::fill(gLlr, gLlr + n, 0.0);
  for (size_t t = steps; t-- > 0;) {
    const size_t base = t * n;
    for (size_t c = 0; c < n; c++) gq[c] = gQ[base + c];
    for (size_t k = n; k-- > 0;) {
      const int32_t c = order[k];
      const double gqc = gq[c];
      gRunoff[base + c] = gqc * mmToM3s;
      const double gqrout = gqc * mmToM3s;
      const double htmp = hTape[base + c] + qup[base + c] / mmToM3s;
      const double ghtmp = gqrout * a[c] + gh[c] * (1 - a[c]);
      const double ga = gqrout * htmp - gh[c] * htmp;
      gLlr[c] += (ga * (-ee[c] * dt)) / (60 * llr[c] * llr[c]);
      ghPrev[c] = ghtmp;
      const double gqup = ghtmp / mmToM3s;
      for (int32_t u = upStart[c]; u < upStart[c + 1]; u++) gq[up[u]] += gqup;
    }
    std::swap(gh, ghPrev);
  }
  std::memcpy(h, gh.data(), n * sizeof(double));
}

napi_value LrRoute(napi_env env, napi_callback_info info) {
  Call c(env, info);
  if (!c.error.empty()) return c.done();
  const size_t n = c.size(4), steps = c.size(5), sn = n * steps;
  const int32_t* order = c.arr<int32_t>(0, napi_int32_array, n);
  const int32_t* down = c.arr<int32_t>(1, napi_int32_array, n);
  const int32_t* upStart = c.arr<int32_t>(2, napi_int32_array, n + 1);
  Arr upA = typed(env, c.v[3]);
  const int kind = c.kind(6, sn);
  const double* a = c.arr<double>(7, napi_float64_array, n);
  const double* ee = c.arr<double>(8, napi_float64_array, n);
  const double* llr = c.arr<double>(9, napi_float64_array, n);
  const double dt = c.num(10), mm = c.num(11);
  double* h = c.arr<double>(12, napi_float64_array, n);
  double* q = c.arr<double>(13, napi_float64_array, sn);
  const double* gQ = c.arr<double>(14, napi_float64_array, sn, true);
  double* gRunoff = gQ ? c.arr<double>(15, napi_float64_array, sn) : nullptr;
  double* gLlr = gQ ? c.arr<double>(16, napi_float64_array, n) : nullptr;
  if (!upA.present || upA.type != napi_int32_array) c.error = "up must be an Int32Array";
  if (!c.error.empty()) return c.done();
  // the network must index inside its arrays: a bad one is refused, never read out of bounds
  const int32_t* up = static_cast<const int32_t*>(upA.data);
  for (size_t k = 0; k < n; k++) {
    if (order[k] < 0 || size_t(order[k]) >= n || down[k] < -1 || down[k] >= int32_t(n) || upStart[k] < 0 ||
        upStart[k] > upStart[k + 1])
      c.error = "the routing network is inconsistent";
  }
  if (size_t(upStart[n]) > upA.len) c.error = "the routing network is inconsistent";
  for (size_t k = 0; k < upA.len && c.error.empty(); k++)
    if (up[k] < 0 || size_t(up[k]) >= n) c.error = "the routing network is inconsistent";
  if (!c.error.empty()) return c.done();
  if (kind == 0)
    lrRun<float>(order, down, upStart, up, n, steps, static_cast<const float*>(c.data(6)), a, ee, llr, dt, mm, h, q, gQ,
                 gRunoff, gLlr);
  else
    lrRun<double>(order, down, upStart, up, n, steps, static_cast<const double*>(c.data(6)), a, ee, llr, dt, mm, h, q,
                  gQ, gRunoff, gLlr);
  return c.done();
}

// ============================== vic3l ==============================
// Parameters (8 x n, SoA): b, Ds, Dsmax, Ws, expt, Wm1, Wm2, Wm3. Constants: ksatDt, dt, wcr, wp,
// ddfDt, minRainTemp, maxSnowTemp, meltTemp, snow.
struct VicK {
  double ksatDt, dt, wcr, wp, ddfDt, minRain, maxSnow, meltTemp;
  bool snow;
};
struct VicP {
  double b, Ds, Dsmax, Ws, expt, Wm1, Wm2, Wm3;
};
inline VicP vicParams(const double* cp, size_t n, size_t c) {
  return {cp[c], cp[n + c], cp[2 * n + c], cp[3 * n + c], cp[4 * n + c], cp[5 * n + c], cp[6 * n + c], cp[7 * n + c]};
}
__attribute__((always_inline)) inline double drainageV(double k, double v, double expt) { return v > 0 ? k * vexp(expt * vlog(v)) : 0; }
inline double snowFraction(double T, const VicK& c) {
  if (T <= c.minRain) return 1;
  if (T >= c.maxSnow) return 0;
  return (c.maxSnow - T) / (c.maxSnow - c.minRain);
}

// vicStep (vic3l/kernel.ts): o = ET, R, Qb, W1, W2, W3, SWE.
inline void vicStep(double W1, double W2, double W3, double SWE, double P, double E, double T, const VicP& p,
                    const VicK& c, double* o) {
  double win = P;
  double swe = SWE;
  if (c.snow) {
    const double snowf = P * snowFraction(T, c);
    const double swe1 = SWE + snowf;
    const double pot = T > c.meltTemp ? c.ddfDt * (T - c.meltTemp) : 0;
    const double melt = pot < swe1 ? pot : swe1;
    swe = swe1 - melt;
    win = P - snowf + melt;
  }
  const double Wm = p.Wm1 + p.Wm2;
  const double Wt = W1 + W2;
  const double bp = 1 + p.b;
  const double im = bp * Wm;
  double R = 0;
  if (win > 0) {
    const double x = Wt < Wm ? Wt / Wm : 1;
    const double y = vexp(vlog(1 - x) / bp);
    const double w = y - win / im;
    R = w > 0 ? win - Wm + Wt + Wm * vexp(bp * vlog(w)) : win - Wm + Wt;
  }
  const double inf = win - R;
  const double cap1 = p.Wm1 - W1 > 0 ? p.Wm1 - W1 : 0;
  const double s1 = inf <= cap1 ? inf : cap1;
  const double W1a = W1 + s1;
  const double W2a = W2 + inf - s1;
  const double Wt2 = W1a + W2a;
  const double wcr = c.wcr * Wm;
  const double wp = c.wp * Wm;
  const double r = (Wt2 - wp) / (wcr - wp);
  const double beta = r <= 0 ? 0 : r >= 1 ? 1 : r;
  const double avail = Wt2 - wp > 0 ? Wt2 - wp : 0;
  const double pe = E * beta;
  const double ae = pe <= avail ? pe : avail;
  const double e1 = Wt2 > 0 ? (ae * W1a) / Wt2 : 0;
  const double W1b = W1a - e1;
  const double W2b = W2a - (ae - e1);
  const double k12 = drainageV(c.ksatDt, W1b / p.Wm1, p.expt);
  const double cap2 = p.Wm2 - W2b > 0 ? p.Wm2 - W2b : 0;
  const double q12 = k12 <= W1b ? (k12 <= cap2 ? k12 : cap2) : W1b <= cap2 ? W1b : cap2;
  const double W1c = W1b - q12;
  const double W2c = W2b + q12;
  const double k23 = drainageV(c.ksatDt, W2c / p.Wm2, p.expt);
  const double cap3 = p.Wm3 - W3 > 0 ? p.Wm3 - W3 : 0;
  const double q23 = k23 <= W2c ? (k23 <= cap3 ? k23 : cap3) : W2c <= cap3 ? W2c : cap3;
  const double W2d = W2c - q23;
  const double W3a = W3 + q23;
  const double z = W3a / p.Wm3;
  const double lin = (p.Ds * p.Dsmax) / p.Ws;
  double qraw = lin * z;
  if (z > p.Ws) {
    const double u = (z - p.Ws) / (1 - p.Ws);
    qraw += (p.Dsmax - lin) * u * u;
  }
  const double qd = qraw * c.dt;
  const double qb = qd <= W3a ? qd : W3a;
  o[0] = ae;
  o[1] = R;
  o[2] = qb;
  o[3] = W1c;
  o[4] = W2d;
  o[5] = W3a - qb;
  o[6] = swe;
}

// vicStep with every branch a select and vexp/vlog for exp/log, so a loop over cells vectorises.
template <bool Snow>
__attribute__((always_inline)) inline void vicStepV(double W1, double W2, double W3, double SWE, double P, double E, double T, const VicP& p,
                     const VicK& c, double& oET, double& oR, double& oQb, double& oW1, double& oW2, double& oW3,
                     double& oSWE) {
  const double frac = T <= c.minRain ? 1.0 : (T >= c.maxSnow ? 0.0 : (c.maxSnow - T) / (c.maxSnow - c.minRain));
  const double snowf = P * frac;
  const double swe1 = SWE + snowf;
  const double pot = T > c.meltTemp ? c.ddfDt * (T - c.meltTemp) : 0;
  const double melt = pot < swe1 ? pot : swe1;
  const double swe = Snow ? swe1 - melt : SWE;
  const double win = Snow ? P - snowf + melt : P;
  const double Wm = p.Wm1 + p.Wm2;
  const double Wt = W1 + W2;
  const double bp = 1 + p.b;
  const double im = bp * Wm;
  const double x = Wt < Wm ? Wt / Wm : 1;
  const double y = vexp(vlog(1 - x) / bp);
  const double w = y - win / im;
  const double Rw = w > 0 ? win - Wm + Wt + Wm * vexp(bp * vlog(w)) : win - Wm + Wt;
  const double R = win > 0 ? Rw : 0;
  const double inf = win - R;
  const double cap1 = p.Wm1 - W1 > 0 ? p.Wm1 - W1 : 0;
  const double s1 = inf <= cap1 ? inf : cap1;
  const double W1a = W1 + s1;
  const double W2a = W2 + inf - s1;
  const double Wt2 = W1a + W2a;
  const double wcr = c.wcr * Wm;
  const double wp = c.wp * Wm;
  const double r = (Wt2 - wp) / (wcr - wp);
  const double beta = r <= 0 ? 0 : r >= 1 ? 1 : r;
  const double avail = Wt2 - wp > 0 ? Wt2 - wp : 0;
  const double pe = E * beta;
  const double ae = pe <= avail ? pe : avail;
  const double e1 = Wt2 > 0 ? (ae * W1a) / Wt2 : 0;
  const double W1b = W1a - e1;
  const double W2b = W2a - (ae - e1);
  const double k12 = drainageV(c.ksatDt, W1b / p.Wm1, p.expt);
  const double cap2 = p.Wm2 - W2b > 0 ? p.Wm2 - W2b : 0;
  const double q12 = k12 <= W1b ? (k12 <= cap2 ? k12 : cap2) : W1b <= cap2 ? W1b : cap2;
  const double W1c = W1b - q12;
  const double W2c = W2b + q12;
  const double k23 = drainageV(c.ksatDt, W2c / p.Wm2, p.expt);
  const double cap3 = p.Wm3 - W3 > 0 ? p.Wm3 - W3 : 0;
  const double q23 = k23 <= W2c ? (k23 <= cap3 ? k23 : cap3) : W2c <= cap3 ? W2c : cap3;
  const double W2d = W2c - q23;
  const double W3a = W3 + q23;
  const double z = W3a / p.Wm3;
  const double lin = (p.Ds * p.Dsmax) / p.Ws;
  const double u = (z - p.Ws) / (1 - p.Ws);
  const double qraw = z > p.Ws ? lin * z + (p.Dsmax - lin) * u * u : lin * z;
  const double qd = qraw * c.dt;
  const double qb = qd <= W3a ? qd : W3a;
  oET = ae;
  oR = R;
  oQb = qb;
  oW1 = W1c;
  oW2 = W2d;
  oW3 = W3a - qb;
  oSWE = swe;
}

// Reciprocals of a cell's parameter-only divisors, for the reverse pass (vicStepAdjointV multiplies
// by them where vicStepAdjoint divides: within an ulp or two per term, not bit for bit).
struct VicInv {
  double Wm1, Wm2, Wm3, Ws, omw, den, Wm, im, bp;
};
inline VicInv vicInverses(const VicP& p, const VicK& c) {
  const double Wm = p.Wm1 + p.Wm2, bp = 1 + p.b;
  return {1 / p.Wm1, 1 / p.Wm2, 1 / p.Wm3, 1 / p.Ws, 1 / (1 - p.Ws), 1 / (c.wcr * Wm - c.wp * Wm), 1 / Wm, 1 / (bp * Wm), 1 / bp};
}

// The forward step of vicStepAdjoint (vic3l/kernel.ts) recomputed from the step's start state, then
// its reverse, with every branch a select (both sides computed, the one the scalar code takes kept),
// so a loop over a block of cells vectorises. Both halves multiply by the reciprocals in `iv` where
// the scalar code divides by a parameter (a division costs a dozen multiplications in a vector; 10 %
// of this step's time): the recomputed forward's values are within an ulp or two of the forward
// pass's, which alone sets the states (the tape), and only a tie at an ulp's distance from a branch
// point could take the other side of it. g: cotangents of ET, R, Qb, W1, W2, W3, SWE after the step
// (the loss's plus the carried state adjoint); aW1..aSWE: adjoint of the start state; gb..gExpt
// accumulated.
template <bool Snow>
__attribute__((always_inline)) inline void vicStepAdjointV(double W1, double W2, double W3, double SWE, double P, double E,
                                                           double T, const VicP& p, const VicK& c, double aET, double aR0,
                                                           double aQb, double aW1c, double aW2d, double aW3b, double aSWEend,
                                                           double& oW1, double& oW2, double& oW3, double& oSWE, double& gb,
                                                           double& gDs, double& gDsmax, double& gWs, double& gWm2,
                                                           double& gWm3, double& gExpt, const VicInv& iv) {
  // ---- forward ----
  const double frac = T <= c.minRain ? 1.0 : (T >= c.maxSnow ? 0.0 : (c.maxSnow - T) * (1 / (c.maxSnow - c.minRain)));
  const double snowf = P * frac;
  const double swe1 = Snow ? SWE + snowf : SWE;
  const double pot = Snow ? (T > c.meltTemp ? c.ddfDt * (T - c.meltTemp) : 0) : 0;
  const double melt = pot < swe1 ? pot : swe1;
  const double win = Snow ? P - snowf + melt : P;
  const double Wm = p.Wm1 + p.Wm2;
  const double Wt = W1 + W2;
  const double bp = 1 + p.b;
  const double x = Wt < Wm ? Wt * iv.Wm : 1;
  const double lomx = vlog(1 - x);
  const double y = vexp(lomx * iv.bp);
  const double w = y - win * iv.im;
  const double lw = vlog(w);
  const double wbp = vexp(bp * lw);
  const double Rw = w > 0 ? win - Wm + Wt + Wm * wbp : win - Wm + Wt;
  const double R = win > 0 ? Rw : 0;
  const double inf = win - R;
  const double cap1raw = p.Wm1 - W1;
  const double cap1 = cap1raw > 0 ? cap1raw : 0;
  const double s1 = inf <= cap1 ? inf : cap1;
  const double W1a = W1 + s1;
  const double W2a = W2 + inf - s1;
  const double Wt2 = W1a + W2a;
  const double wcr = c.wcr * Wm;
  const double wp = c.wp * Wm;
  const double r = (Wt2 - wp) * iv.den;
  const double availRaw = Wt2 - wp;
  const double avail = availRaw > 0 ? availRaw : 0;
  const double beta = r <= 0 ? 0 : r >= 1 ? 1 : r;
  const double pe = E * beta;
  const double ae = pe <= avail ? pe : avail;
  const double iWt2 = 1 / Wt2;
  const double e1 = Wt2 > 0 ? ae * W1a * iWt2 : 0;
  const double W1b = W1a - e1;
  const double W2b = W2a - (ae - e1);
  const double v12 = W1b * iv.Wm1;
  const double lv12 = vlog(v12);
  const double k12 = v12 > 0 ? c.ksatDt * vexp(p.expt * lv12) : 0;
  const double cap2raw = p.Wm2 - W2b;
  const double cap2 = cap2raw > 0 ? cap2raw : 0;
  // which term limits the drainage: 0 k12, 1 W1b, 2 cap2 (codes as doubles: one mask type for GCC)
  const double w12 = k12 <= W1b ? (k12 <= cap2 ? 0.0 : 2.0) : W1b <= cap2 ? 1.0 : 2.0;
  const double q12 = w12 == 0 ? k12 : w12 == 1 ? W1b : cap2;
  const double W2c = W2b + q12;
  const double v23 = W2c * iv.Wm2;
  const double lv23 = vlog(v23);
  const double k23 = v23 > 0 ? c.ksatDt * vexp(p.expt * lv23) : 0;
  const double cap3raw = p.Wm3 - W3;
  const double cap3 = cap3raw > 0 ? cap3raw : 0;
  const double w23 = k23 <= W2c ? (k23 <= cap3 ? 0.0 : 2.0) : W2c <= cap3 ? 1.0 : 2.0;
  const double q23 = w23 == 0 ? k23 : w23 == 1 ? W2c : cap3;
  const double W3a = W3 + q23;
  const double z = W3a * iv.Wm3;
  const double lin = p.Ds * p.Dsmax * iv.Ws;
  const double u = z > p.Ws ? (z - p.Ws) * iv.omw : 0;
  const double qraw = lin * z + (z > p.Ws ? (p.Dsmax - lin) * u * u : 0);
  // ---- reverse ----
  double aWm2 = 0, aWm3 = 0, aWm = 0, aExpt = 0, ab = 0;
  const double aqb = aQb - aW3b;
  const double aqraw = qraw * c.dt <= W3a ? aqb * c.dt : 0;
  double aW3a = qraw * c.dt <= W3a ? aW3b : aW3b + aqb;
  {
    const double u2 = z > p.Ws ? u * u : 0;
    const double alin = aqraw * (z - u2);
    const double dq_du = 2 * (p.Dsmax - lin) * u;
    const double aWs0 = -alin * p.Ds * p.Dsmax * iv.Ws * iv.Ws;
    const double aWs = z > p.Ws ? aWs0 + aqraw * dq_du * (z - 1) * iv.omw * iv.omw : aWs0;
    const double az0 = aqraw * lin;
    const double az = z > p.Ws ? az0 + aqraw * dq_du * iv.omw : az0;
    gDsmax = aqraw != 0 ? gDsmax + (aqraw * u2 + alin * p.Ds * iv.Ws) : gDsmax;
    gDs = aqraw != 0 ? gDs + alin * p.Dsmax * iv.Ws : gDs;
    gWs = aqraw != 0 ? gWs + aWs : gWs;
    aWm3 = aqraw != 0 ? aWm3 - az * W3a * iv.Wm3 * iv.Wm3 : aWm3;
    aW3a = aqraw != 0 ? aW3a + az * iv.Wm3 : aW3a;
  }
  const double aq23 = aW3a - aW2d;
  double aW2c = aW2d;
  double aW3 = aW3a;
  {
    const double dk = (k23 * p.expt) / v23;
    // conditions as one comparison of a selected value (GCC vectorises selects of values, not of masks)
    const double d = w23 == 0 ? v23 : 0.0;          // d > 0: q23 = k23 and v23 > 0
    const double cut = w23 == 2 ? cap3raw : 0.0;    // cut > 0: q23 = cap3 > 0
    aW2c = d > 0 ? aW2c + aq23 * dk * iv.Wm2 : w23 == 1 ? aW2c + aq23 : aW2c;
    aWm2 = d > 0 ? aWm2 - aq23 * dk * W2c * iv.Wm2 * iv.Wm2 : aWm2;
    aExpt = d > 0 ? aExpt + aq23 * k23 * lv23 : aExpt;
    aWm3 = cut > 0 ? aWm3 + aq23 : aWm3;
    aW3 = cut > 0 ? aW3 - aq23 : aW3;
  }
  const double aq12 = aW2c - aW1c;
  double aW1b = aW1c;
  double aW2b = aW2c;
  {
    const double dk = (k12 * p.expt) / v12;
    const double d = w12 == 0 ? v12 : 0.0;
    const double cut = w12 == 2 ? cap2raw : 0.0;
    aW1b = d > 0 ? aW1b + aq12 * dk * iv.Wm1 : w12 == 1 ? aW1b + aq12 : aW1b;
    aExpt = d > 0 ? aExpt + aq12 * k12 * lv12 : aExpt;
    aWm2 = cut > 0 ? aWm2 + aq12 : aWm2;
    aW2b = cut > 0 ? aW2b - aq12 : aW2b;
  }
  double aW1a = aW1b;
  double aW2a = aW2b;
  const double ae1 = aW2b - aW1b;
  double aae = aET - aW2b;
  {
    const double s = ae1 * ae * iWt2 * iWt2;
    aae = Wt2 > 0 ? aae + ae1 * W1a * iWt2 : aae;
    aW1a = Wt2 > 0 ? aW1a + s * W2a : aW1a;
    aW2a = Wt2 > 0 ? aW2a - s * W1a : aW2a;
  }
  {
    const double abeta = aae * E;
    // 0: ae = pe on the ramp of beta, 1: ae = avail > 0, 2: no sensitivity
    // ramp < 1: ae = pe with 0 < r < 1; capped > 0: ae = avail > 0
    const double ramp = pe <= avail ? (r > 0 ? r : 2.0) : 2.0;
    const double capped = pe <= avail ? 0.0 : availRaw;
    const double aWt2 = ramp < 1 ? abeta * iv.den : capped > 0 ? aae : 0;
    const double awp = ramp < 1 ? abeta * (Wt2 - wcr) * iv.den * iv.den : capped > 0 ? 0 - aae : 0;
    const double awcr = ramp < 1 ? 0 - abeta * (Wt2 - wp) * iv.den * iv.den : 0;
    aWm += awcr * c.wcr + awp * c.wp;
    aW1a += aWt2;
    aW2a += aWt2;
  }
  double aW1 = aW1a;
  double aW2 = aW2a;
  const double as1 = aW1a - aW2a;
  const double ainf = inf <= cap1 ? aW2a + as1 : aW2a;
  aW1 = inf <= cap1 ? aW1 : cap1raw > 0 ? aW1 - as1 : aW1;
  const double aR = aR0 - ainf;
  double awin = ainf;
  {
    const double wb = wbp / w;
    const double aw = aR * Wm * bp * wb;
    const double aim = aw * win * iv.im * iv.im;
    const double omx = 1 - x;
    const double ax = (-aw * y * iv.bp) / omx;
    // w > 0
    const double awinP = awin + aR * (1 - wb);
    double aWmP = aWm + aR * (wbp - 1);
    double abP = ab + aR * Wm * wbp * lw;
    abP += aim * Wm;
    aWmP += aim * bp;
    abP = omx > 0 ? abP + -aw * y * lomx * iv.bp * iv.bp : abP;  // omx > 0: x < 1
    aWmP = omx > 0 ? aWmP - ax * Wt * iv.Wm * iv.Wm : aWmP;
    const double aWt = w > 0 ? (omx > 0 ? aR + ax * iv.Wm : aR) : aR;
    // w <= 0
    const double awinN = awin + aR;
    const double aWmN = aWm - aR;
    awin = win > 0 ? (w > 0 ? awinP : awinN) : awin;
    aWm = win > 0 ? (w > 0 ? aWmP : aWmN) : aWm;
    ab = win > 0 ? (w > 0 ? abP : ab) : ab;
    aW1 = win > 0 ? aW1 + aWt : aW1;
    aW2 = win > 0 ? aW2 + aWt : aW2;
  }
  aWm2 += aWm;
  const double amelt = awin - aSWEend;
  oSWE = Snow ? (pot < swe1 ? aSWEend : aSWEend + amelt) : aSWEend;
  oW1 = aW1;
  oW2 = aW2;
  oW3 = aW3;
  gb += ab;
  gWm2 += aWm2;
  gWm3 += aWm3;
  gExpt += aExpt;
}

VicK vicConstants(const double* k) {
  return {k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7], k[8] != 0};
}

// The lines of a block's kV values at p (kV * sizeof(X) bytes) into the cache (software prefetch:
// a block walks the steps at a stride of a whole step, n cells, further than the hardware prefetchers
// follow, so without it every step waits on memory for each array it reads).
template <class X>
__attribute__((always_inline)) inline void prefetchBlock(const X* p, bool write) {
  for (size_t b = 0; b < kV * sizeof(X); b += 64) {
    if (write) __builtin_prefetch(reinterpret_cast<const char*>(p) + b, 1, 3);
    else __builtin_prefetch(reinterpret_cast<const char*>(p) + b, 0, 3);
  }
}

// How many steps ahead of the one computed the vic3l loops prefetch (a step of a 16-cell block takes
// a few hundred nanoseconds, about a memory latency).
constexpr size_t kAhead = 4;

// Forward over steps [t0, t1) for cells [c0, c1): state (4 x n) in place; fluxes ET, R, Qb at slot
// (t - t0) and end-of-step states at slot (t - t0 + shift) of the output arrays (nullable; with
// shift 1 the start state goes to slot 0 too: the adjoint's tape).
template <class F, class S>
FIELDCAL_CLONES void vicForwardRange(const double* cp, const VicK& k, size_t n, const F* P, const F* E, const F* T,
                                     size_t t0, size_t t1, double* st, S* const* out, int shift, size_t c0, size_t c1) {
  double o[7];
  alignas(64) double ov[7][kV];
  const F zeros[kV] = {};
  // whole blocks of kV cells: one SIMD loop per step (vicStepV); the rest cell by cell (vicStep)
  size_t cv = c0;
  for (; cv + kV <= c1; cv += kV) {
    if (shift)
      for (int s = 0; s < 4; s++)
        if (out[3 + s])
          for (size_t c = cv; c < cv + kV; c++) out[3 + s][c] = static_cast<S>(st[s * n + c]);
    for (size_t t = t0; t < t1; t++) {
      const size_t base = t * n + cv, fo = (t - t0) * n + cv, so = (t - t0 + shift) * n + cv;
      double* w1 = st + cv;
      double* w2 = st + n + cv;
      double* w3 = st + 2 * n + cv;
      double* sw = st + 3 * n + cv;
      const double* pc = cp + cv;
      const F* Tp = T ? T + base : zeros;
      const VicK kc = k;  // a local copy: its fields are loop invariants the vectoriser can broadcast
      const F* Pp = P + base;
      const F* Ep = E + base;
      if (t + kAhead < t1) {
        const size_t d = kAhead * n;
        prefetchBlock(Pp + d, false);
        prefetchBlock(Ep + d, false);
        if (T) prefetchBlock(Tp + d, false);
        for (int s = 0; s < 3; s++)
          if (out[s]) prefetchBlock(out[s] + fo + d, true);
        for (int s = 3; s < 7; s++)
          if (out[s]) prefetchBlock(out[s] + so + d, true);
      }
      if (kc.snow) {
#pragma omp simd
        for (size_t j = 0; j < kV; j++) {
          const VicP p{pc[j], pc[n + j], pc[2 * n + j], pc[3 * n + j], pc[4 * n + j], pc[5 * n + j], pc[6 * n + j], pc[7 * n + j]};
          vicStepV<true>(w1[j], w2[j], w3[j], sw[j], Pp[j], Ep[j], Tp[j], p, kc, ov[0][j], ov[1][j], ov[2][j], ov[3][j],
                         ov[4][j], ov[5][j], ov[6][j]);
          w1[j] = ov[3][j];
          w2[j] = ov[4][j];
          w3[j] = ov[5][j];
          sw[j] = ov[6][j];
        }
      } else {
#pragma omp simd
        for (size_t j = 0; j < kV; j++) {
          const VicP p{pc[j], pc[n + j], pc[2 * n + j], pc[3 * n + j], pc[4 * n + j], pc[5 * n + j], pc[6 * n + j], pc[7 * n + j]};
          vicStepV<false>(w1[j], w2[j], w3[j], sw[j], Pp[j], Ep[j], Tp[j], p, kc, ov[0][j], ov[1][j], ov[2][j], ov[3][j],
                          ov[4][j], ov[5][j], ov[6][j]);
          w1[j] = ov[3][j];
          w2[j] = ov[4][j];
          w3[j] = ov[5][j];
          sw[j] = ov[6][j];
        }
      }
      for (int s = 0; s < 3; s++)
        if (out[s])
          for (size_t j = 0; j < kV; j++) out[s][fo + j] = static_cast<S>(ov[s][j]);
      for (int s = 3; s < 7; s++)
        if (out[s])
          for (size_t j = 0; j < kV; j++) out[s][so + j] = static_cast<S>(ov[s][j]);
    }
  }
  c0 = cv;
  for (size_t b0 = c0; b0 < c1; b0 += kBlock) {
    const size_t b1 = std::min(c1, b0 + kBlock);
    VicP pp[kBlock];
    for (size_t c = b0; c < b1; c++) pp[c - b0] = vicParams(cp, n, c);
    if (shift)
      for (int s = 0; s < 4; s++)
        if (out[3 + s])
          for (size_t c = b0; c < b1; c++) out[3 + s][c] = static_cast<S>(st[s * n + c]);
    for (size_t t = t0; t < t1; t++) {
      const size_t base = t * n, fo = (t - t0) * n, so = (t - t0 + shift) * n;
      for (size_t c = b0; c < b1; c++) {
        vicStep(st[c], st[n + c], st[2 * n + c], st[3 * n + c], P[base + c], E[base + c], T ? T[base + c] : 0,
                pp[c - b0], k, o);
        st[c] = o[3];
        st[n + c] = o[4];
        st[2 * n + c] = o[5];
        st[3 * n + c] = o[6];
        for (int s = 0; s < 3; s++)
          if (out[s]) out[s][fo + c] = static_cast<S>(o[s]);
        for (int s = 3; s < 7; s++)
          if (out[s]) out[s][so + c] = static_cast<S>(o[s]);
      }
    }
  }
}

// vicForward(cp, k, n, P, E, T, t0, t1, state, ET, R, Qb, W1, W2, W3, SWE, shift)
template <class F, class S>
void vicForwardCall(Call& c, size_t n, size_t t0, size_t t1, const VicK& k, const double* cp, double* st,
                    napi_typedarray_type stype, size_t outLen, int shift) {
  S* out[7];
  // fluxes: one slot per step; states: one more with shift 1 (the tape's start state)
  for (int s = 0; s < 7; s++) out[s] = c.arr<S>(9 + s, stype, s < 3 ? (t1 - t0) * n : outLen, true);
  if (!c.error.empty()) return;
  const F* P = static_cast<const F*>(c.data(3));
  const F* E = static_cast<const F*>(c.data(4));
  const F* T = static_cast<const F*>(c.data(5));
  parallelCells(n, [&](size_t c0, size_t c1) { vicForwardRange<F, S>(cp, k, n, P, E, T, t0, t1, st, out, shift, c0, c1); });
}

// The forcing of a vic3l call: P, E (and T when given) of one type, at least steps x n long.
int vicForcing(Call& c, size_t n, size_t steps) {
  Arr p = typed(c.env, c.v[3]), e = typed(c.env, c.v[4]), t = typed(c.env, c.v[5]);
  auto ok = [&](const Arr& a) {
    return a.present && a.type == p.type && a.len >= steps * n && (a.type == napi_float32_array || a.type == napi_float64_array);
  };
  if (!ok(p) || !ok(e) || (t.present && !ok(t))) {
    c.error = "forcing must be Float32Array or Float64Array of one type, steps x cells long";
    return -1;
  }
  return p.type == napi_float32_array ? 0 : 1;
}

napi_value VicForward(napi_env env, napi_callback_info info) {
  Call c(env, info);
  if (!c.error.empty()) return c.done();
  const size_t n = c.size(2), t0 = c.size(6), t1 = c.size(7);
  const double* cp = c.arr<double>(0, napi_float64_array, 8 * n);
  const double* kk = c.arr<double>(1, napi_float64_array, 9);
  double* st = c.arr<double>(8, napi_float64_array, 4 * n);
  const int shift = static_cast<int>(c.num(16)) ? 1 : 0;
  if (t1 < t0) c.error = "t1 < t0";
  if (!c.error.empty()) return c.done();
  const int fk = vicForcing(c, n, t1);
  if (fk < 0) return c.done();
  // outputs: all present ones of one type (Float32Array or Float64Array)
  int sk = -1;
  for (int s = 0; s < 7; s++) {
    Arr o = typed(env, c.v[9 + s]);
    if (o.present) sk = o.type == napi_float32_array ? 0 : 1;
  }
  const size_t outLen = (t1 - t0 + shift) * n;
  const VicK k = vicConstants(kk);
  if (fk == 0 && sk == 0) vicForwardCall<float, float>(c, n, t0, t1, k, cp, st, napi_float32_array, outLen, shift);
  else if (fk == 0) vicForwardCall<float, double>(c, n, t0, t1, k, cp, st, napi_float64_array, outLen, shift);
  else if (sk == 0) vicForwardCall<double, float>(c, n, t0, t1, k, cp, st, napi_float32_array, outLen, shift);
  else vicForwardCall<double, double>(c, n, t0, t1, k, cp, st, napi_float64_array, outLen, shift);
  return c.done();
}

// One step's inputs of a block for vicAdjointBlocks: start state, forcing and the loss's cotangents
// (output s of the step at g[s * stride + j]; only the outputs in `mask` are read, and zeroed once
// read, the others count as 0). Kept out of line: with the block's two cases (whole or partial)
// inside the loop body GCC no longer vectorises the step. Whole blocks prefetch the same lines of
// step (t - kAhead) when `ahead` (the forcing's and the tape's offsets minus kAhead steps).
template <class F, class S>
__attribute__((noinline)) void vicAdjointLoad(const S* const* tw, size_t so, const F* P, const F* E, const F* T,
                                              size_t base, double* gv, size_t stride, size_t nb, double (*st)[kV],
                                              double (*fv)[kV], double (*gl)[kV], unsigned mask, size_t n, bool ahead) {
  if (nb == kV) {
    if (ahead) {
      const size_t d = kAhead * n;
      for (int s = 0; s < 4; s++) prefetchBlock(tw[s] + so - d, false);
      prefetchBlock(P + base - d, false);
      prefetchBlock(E + base - d, false);
      if (T) prefetchBlock(T + base - d, false);
      for (int s = 0; s < 7; s++)
        if (mask >> s & 1) prefetchBlock(gv + s * stride - d, true);
    }
    for (int s = 0; s < 4; s++)
      for (size_t j = 0; j < kV; j++) st[s][j] = static_cast<double>(tw[s][so + j]);
    for (size_t j = 0; j < kV; j++) fv[0][j] = static_cast<double>(P[base + j]);
    for (size_t j = 0; j < kV; j++) fv[1][j] = static_cast<double>(E[base + j]);
    for (size_t j = 0; j < kV; j++) fv[2][j] = T ? static_cast<double>(T[base + j]) : 0.0;
    for (int s = 0; s < 7; s++) {
      if (!(mask >> s & 1)) {
        for (size_t j = 0; j < kV; j++) gl[s][j] = 0;
        continue;
      }
      double* g = gv + s * stride;
      for (size_t j = 0; j < kV; j++) gl[s][j] = g[j];
      for (size_t j = 0; j < kV; j++) g[j] = 0;
    }
    return;
  }
  // a partial block: lanes past nb repeat the last cell
  for (size_t j = 0; j < kV; j++) {
    const size_t jj = std::min(j, nb - 1);
    for (int s = 0; s < 4; s++) st[s][j] = static_cast<double>(tw[s][so + jj]);
    fv[0][j] = static_cast<double>(P[base + jj]);
    fv[1][j] = static_cast<double>(E[base + jj]);
    fv[2][j] = T ? static_cast<double>(T[base + jj]) : 0.0;
  }
  for (int s = 0; s < 7; s++) {
    if (!(mask >> s & 1)) {
      for (size_t j = 0; j < kV; j++) gl[s][j] = 0;
      continue;
    }
    double* g = gv + s * stride;
    for (size_t j = 0; j < kV; j++) gl[s][j] = g[std::min(j, nb - 1)];
    for (size_t j = 0; j < nb; j++) g[j] = 0;
  }
}

// Reverse pass of vic3lWithGradient (vic3l/index.ts) over steps [t0, t1) for cells [c0, c1): blocks
// of kV cells (lanes past the range repeat its last cell, computed and never stored), steps in
// reverse inside each block, one SIMD loop per step (vicStepAdjointV). The start state of step t is
// tape slot (t - t0 + slot0); gv holds the loss's cotangents [output][t - t0][cell] (gvSteps steps
// per output; only the outputs in `mask`) and is zeroed as it is read (ready for the next chunk); adj (4 x n: adjoint of the state after step t1 - 1 on
// entry, before step t0 on return) and gp (7 x n) carry between calls.
template <class F, class S, bool Snow>
__attribute__((always_inline)) inline void vicAdjointBlocks(const double* cp, const VicK& k, size_t n, const F* P,
                                                            const F* E, const F* T, size_t t0, size_t t1,
                                                            const S* const* tw, size_t slot0, double* gv, size_t gvSteps,
                                                            unsigned mask, double* adj, double* gpAll, size_t c0, size_t c1) {
  alignas(64) double pv[8][kV], st[4][kV], fv[3][kV], gl[7][kV], av[4][kV], gq[7][kV], inv[9][kV];
  for (size_t b0 = c0; b0 < c1; b0 += kV) {
    const size_t nb = std::min(kV, c1 - b0);
    for (size_t j = 0; j < kV; j++) {
      const size_t c = b0 + std::min(j, nb - 1);
      for (int s = 0; s < 8; s++) pv[s][j] = cp[s * n + c];
      for (int s = 0; s < 4; s++) av[s][j] = adj[s * n + c];
      for (int s = 0; s < 7; s++) gq[s][j] = gpAll[s * n + c];
      const VicInv iv = vicInverses(vicParams(cp, n, c), k);
      const double ivs[9] = {iv.Wm1, iv.Wm2, iv.Wm3, iv.Ws, iv.omw, iv.den, iv.Wm, iv.im, iv.bp};
      for (int s = 0; s < 9; s++) inv[s][j] = ivs[s];
    }
    for (size_t t = t1; t-- > t0;) {
      const size_t base = t * n + b0, so = (t - t0 + slot0) * n + b0;
      vicAdjointLoad(tw, so, P, E, T, base, gv + (t - t0) * n + b0, gvSteps * n, nb, st, fv, gl, mask, n,
                     t >= t0 + kAhead);
      const VicK kc = k;  // a local copy: its fields are loop invariants the vectoriser can broadcast
#pragma omp simd
      for (size_t j = 0; j < kV; j++) {
        const VicP p{pv[0][j], pv[1][j], pv[2][j], pv[3][j], pv[4][j], pv[5][j], pv[6][j], pv[7][j]};
        const VicInv iv{inv[0][j], inv[1][j], inv[2][j], inv[3][j], inv[4][j], inv[5][j], inv[6][j], inv[7][j], inv[8][j]};
        vicStepAdjointV<Snow>(st[0][j], st[1][j], st[2][j], st[3][j], fv[0][j], fv[1][j], fv[2][j], p, kc, gl[0][j],
                              gl[1][j], gl[2][j], gl[3][j] + av[0][j], gl[4][j] + av[1][j], gl[5][j] + av[2][j],
                              gl[6][j] + av[3][j], av[0][j], av[1][j], av[2][j], av[3][j], gq[0][j], gq[1][j], gq[2][j],
                              gq[3][j], gq[4][j], gq[5][j], gq[6][j], iv);
      }
    }
    for (size_t j = 0; j < nb; j++) {
      const size_t c = b0 + j;
      for (int s = 0; s < 4; s++) adj[s * n + c] = av[s][j];
      for (int s = 0; s < 7; s++) gpAll[s * n + c] = gq[s][j];
    }
  }
}

template <class F, class S>
FIELDCAL_CLONES void vicAdjointRange(const double* cp, const VicK& k, size_t n, const F* P, const F* E, const F* T,
                                     size_t t0, size_t t1, const S* const* tw, size_t slot0, double* gv, size_t gvSteps,
                                     unsigned mask, double* adj, double* gp, size_t c0, size_t c1) {
  if (k.snow) vicAdjointBlocks<F, S, true>(cp, k, n, P, E, T, t0, t1, tw, slot0, gv, gvSteps, mask, adj, gp, c0, c1);
  else vicAdjointBlocks<F, S, false>(cp, k, n, P, E, T, t0, t1, tw, slot0, gv, gvSteps, mask, adj, gp, c0, c1);
}

template <class F, class S>
void vicAdjointCall(Call& c, size_t n, size_t t0, size_t t1, const VicK& k, const double* cp, napi_typedarray_type stype,
                    size_t tapeLen, size_t slot0, double* gv, size_t gvSteps, unsigned mask, double* adj, double* gp) {
  const S* tw[4];
  for (int s = 0; s < 4; s++) tw[s] = c.arr<S>(8 + s, stype, tapeLen);
  if (!c.error.empty()) return;
  if ((slot0 + (t1 - t0)) * n > tapeLen) {
    c.error = "tape slots out of range";
    return;
  }
  const F* P = static_cast<const F*>(c.data(3));
  const F* E = static_cast<const F*>(c.data(4));
  const F* T = static_cast<const F*>(c.data(5));
  parallelCells(n, [&](size_t c0, size_t c1) {
    vicAdjointRange<F, S>(cp, k, n, P, E, T, t0, t1, tw, slot0, gv, gvSteps, mask, adj, gp, c0, c1);
  });
}

// vicAdjoint(cp, k, n, P, E, T, t0, t1, W1, W2, W3, SWE (tape: start states, step t at slot
// t - t0 + slot0), slot0, gv (7 x gvSteps x n cotangents, step t at t - t0, zeroed on return), adj
// (4 x n in/out), gp (7 x n accumulated: b, Ds, Dsmax, Ws, Wm2, Wm3, expt)[, mask, gvSteps]): mask
// (bits 0..6, default all) names the outputs whose cotangents may be nonzero, the others are neither
// read nor zeroed; gvSteps (default t1 - t0, at least that) is gv's length per output in steps.
napi_value VicAdjoint(napi_env env, napi_callback_info info) {
  Call c(env, info);
  if (!c.error.empty()) return c.done();
  const size_t n = c.size(2), t0 = c.size(6), t1 = c.size(7), slot0 = c.size(12);
  if (t1 < t0) c.error = "t1 < t0";
  const size_t mask = c.argc > 16 ? c.size(16) : 127;
  const size_t gvSteps = c.argc > 17 ? c.size(17) : t1 - t0;
  if (c.error.empty() && mask > 127) c.error = "mask must be in 0 .. 127";
  if (c.error.empty() && gvSteps < t1 - t0) c.error = "gvSteps < t1 - t0";
  if (!c.error.empty()) return c.done();
  const double* cp = c.arr<double>(0, napi_float64_array, 8 * n);
  const double* kk = c.arr<double>(1, napi_float64_array, 9);
  double* gv = c.arr<double>(13, napi_float64_array, 7 * gvSteps * n);
  double* adj = c.arr<double>(14, napi_float64_array, 4 * n);
  double* gp = c.arr<double>(15, napi_float64_array, 7 * n);
  if (!c.error.empty()) return c.done();
  const int fk = vicForcing(c, n, t1);
  if (fk < 0) return c.done();
  Arr w = typed(env, c.v[8]);
  if (!w.present || (w.type != napi_float32_array && w.type != napi_float64_array)) {
    c.error = "tape must be Float32Array or Float64Array";
    return c.done();
  }
  const int sk = w.type == napi_float32_array ? 0 : 1;
  const VicK k = vicConstants(kk);
  if (fk == 0 && sk == 0) vicAdjointCall<float, float>(c, n, t0, t1, k, cp, w.type, w.len, slot0, gv, gvSteps, static_cast<unsigned>(mask), adj, gp);
  else if (fk == 0) vicAdjointCall<float, double>(c, n, t0, t1, k, cp, w.type, w.len, slot0, gv, gvSteps, static_cast<unsigned>(mask), adj, gp);
  else if (sk == 0) vicAdjointCall<double, float>(c, n, t0, t1, k, cp, w.type, w.len, slot0, gv, gvSteps, static_cast<unsigned>(mask), adj, gp);
  else vicAdjointCall<double, double>(c, n, t0, t1, k, cp, w.type, w.len, slot0, gv, gvSteps, static_cast<unsigned>(mask), adj, gp);
  return c.done();
}

napi_value SetPhysicsThreads(napi_env env, napi_callback_info info) {
  Call c(env, info);
  const double x = c.num(0);
  if (c.error.empty() && x >= 1 && x <= 1024) g_threads = static_cast<int>(x);
  c.error.clear();
  napi_value r;
  napi_create_int32(env, g_threads, &r);
  return r;
}

// The instruction set the kernels' clones were picked for on this CPU.
napi_value PhysicsInfo(napi_env env, napi_callback_info) {
  std::string isa = "x86-64 baseline";
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) isa = "avx512f clone";
  else if (__builtin_cpu_supports("avx2")) isa = "avx2 clone";
#endif
  napi_value r;
  napi_create_string_utf8(env, isa.c_str(), NAPI_AUTO_LENGTH, &r);
  return r;
}

}  // namespace

void registerPhysics(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"gr4Forward", nullptr, Gr4Forward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gr4Adjoint", nullptr, Gr4Adjoint, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"lrRoute", nullptr, LrRoute, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"vicForward", nullptr, VicForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"vicAdjoint", nullptr, VicAdjoint, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setPhysicsThreads", nullptr, SetPhysicsThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"physicsInfo", nullptr, PhysicsInfo, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}

}  // namespace physics
}  // namespace fieldcal
