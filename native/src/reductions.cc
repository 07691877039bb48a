// Reductions: the sum over the middle axis of an [outer, reduce, inner] view (tfjs's Sum and Mean
// run one pass per run of adjacent reduced axes).
#include <vector>

#include "common.h"

namespace fieldcal {

// reduceSum(x, outer, reduce, inner, out): out[o, i] = sum_r x[o, r, i] (accumulated in double).
napi_value ReduceSum(napi_env env, napi_callback_info info) {
  Args<5> a(env, info);
  if (!a) return napiFailed(env);
  float* X = a.f32(0);
  float* Y = a.f32(4);
  const int64_t outer = a.int64(1), red = a.int64(2), inner = a.int64(3);
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

}  // namespace fieldcal
