// Shared by the physics kernel files (physics.cc, gr4sets.cc): the vectorisable elementary
// functions (no libm call, so GCC vectorises the loops that use them) and GR4J's constants and unit
// hydrograph ordinates. Header-only and always inlined, so each file's target clones compile them for
// their own instruction set.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace fieldcal {
namespace kernels {

// exp(x): Cody-Waite reduction by ln 2 (fdlibm's split constants) and the degree-13 Taylor
// polynomial on |r| <= ln2/2 (truncation < 5e-18 relative); 2^k built in the exponent bits. Within
// 2 ulp of a correctly rounded exp (checked against glibc in the tests through the kernels).
// Arguments are clamped to [-708, 709] (below, the true value is under 4e-308).
__attribute__((always_inline)) inline double vexp(double x0) {
  const double x = x0 < -708.0 ? -708.0 : (x0 > 709.0 ? 709.0 : x0);
  const double kf = std::floor(x * 1.4426950408889634 + 0.5);
  const double r = (x - kf * 6.93147180369123816490e-01) - kf * 1.90821492927058770002e-10;
  double p = 1.0 / 6227020800.0;
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  // 2^k: k sits in the low bits of kf + 1.5·2^52
  const double shifted = kf + 6755399441055744.0;
  int64_t bits;
  std::memcpy(&bits, &shifted, 8);
  const int64_t e = ((bits & 0xFFFFFFFF) ^ 0x80000000) - 0x80000000;  // sign-extend the low 32 bits
  const int64_t sb = (e + 1023) << 52;
  double scale;
  std::memcpy(&scale, &sb, 8);
  return x0 < -745.2 ? 0.0 : p * scale;
}

// log(x): x = m 2^e with m in [sqrt(1/2), sqrt(2)), log x = e ln2 + 2 atanh(s), s = (m-1)/(m+1),
// the atanh series to s^23 (|s| <= 0.1716: truncation < 1e-18). -inf at 0, NaN below; subnormals
// rescaled first.
__attribute__((always_inline)) inline double vlog(double x) {
  const bool sub = x < 2.2250738585072014e-308;
  const double xs = sub ? x * 18014398509481984.0 : x;  // 2^54
  int64_t bits;
  std::memcpy(&bits, &xs, 8);
  // the biased exponent as a double without an int64 -> double conversion (none in AVX2):
  // its bits under 2^52's exponent, minus 2^52
  const int64_t eraw = ((bits >> 52) & 0x7ff) | 0x4330000000000000LL;
  double ed;
  std::memcpy(&ed, &eraw, 8);
  const int64_t mb = (bits & 0xFFFFFFFFFFFFFLL) | 0x3FF0000000000000LL;
  double m;
  std::memcpy(&m, &mb, 8);
  const bool big = m > 1.4142135623730951;
  m = big ? m * 0.5 : m;
  const double e = (ed - 4503599627370496.0 - 1023.0) + (big ? 1.0 : 0.0) - (sub ? 54.0 : 0.0);
  const double sv = (m - 1) / (m + 1);
  const double z = sv * sv;
  double p = 1.0 / 23;
  p = p * z + 1.0 / 21;
  p = p * z + 1.0 / 19;
  p = p * z + 1.0 / 17;
  p = p * z + 1.0 / 15;
  p = p * z + 1.0 / 13;
  p = p * z + 1.0 / 11;
  p = p * z + 1.0 / 9;
  p = p * z + 1.0 / 7;
  p = p * z + 1.0 / 5;
  p = p * z + 1.0 / 3;
  const double r = e * 6.93147180369123816490e-01 + (2 * sv + (2 * sv * z * p + e * 1.90821492927058770002e-10));
  return x > 0 ? r : (x == 0 ? -HUGE_VAL : std::numeric_limits<double>::quiet_NaN());
}

// tanh(w) for w >= 0 as (1 - e^-2w) / (1 + e^-2w). For small w the relative error grows like
// ulp / w, but GR4 multiplies tanh by a store level, so the absolute error stays an ulp of the store.
__attribute__((always_inline)) inline double vtanh(double w) {
  const double t = vexp(-2.0 * w);
  return (1.0 - t) / (1.0 + t);
}

// ---- GR4J ----
// Constants of gr4/forward.ts (airGR: D = 2.5, B = 0.9) and its unit hydrographs SS1 and SS2.
constexpr double kD = 2.5;
constexpr double kB = 0.9;

inline double ss1(double t, double x4) {
  if (t <= 0) return 0;
  if (t < x4) return std::pow(t / x4, kD);
  return 1;
}
inline double ss2(double t, double x4) {
  if (t <= 0) return 0;
  if (t <= x4) return 0.5 * std::pow(t / x4, kD);
  if (t < 2 * x4) return 1 - 0.5 * std::pow(2 - t / x4, kD);
  return 1;
}
inline int uhLen1(double x4, int nh) { return std::max(1, std::min(nh - 1, static_cast<int>(std::floor(x4 + 1)))); }
inline int uhLen2(double x4, int nh) { return std::max(1, std::min(2 * nh - 1, 2 * static_cast<int>(std::floor(x4 + 1)))); }


}  // namespace kernels
}  // namespace fieldcal
