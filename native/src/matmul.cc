// Matrix products on oneDNN: tfjs's BatchMatMul (row-major operands, optional transposes, a batch
// of 1 broadcast).
#include <algorithm>
#include <string>

#include "common.h"

namespace fieldcal {

// matmul(a, [batchA, rowsA, colsA], b, [batchB, rowsB, colsB], transposeA, transposeB, out [batch, M, N])
napi_value MatMul(napi_env env, napi_callback_info info) {
  Args<7> a(env, info);
  if (!a) return napiFailed(env);
  if (a.count < 7) return fail(env, "matmul needs 7 arguments");
  float* A = a.f32(0);
  float* B = a.f32(2);
  float* C = a.f32(6);
  if (!A || !B || !C) return fail(env, "matmul operands must be Float32Arrays");
  auto as = a.ints(1), bs = a.ints(3);
  const bool ta = a.boolean(4), tb = a.boolean(5);
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
      dnnl::matmul::primitive_desc pd(md, userScratchpad(), eng());
      c.prim = dnnl::matmul(pd);
      c.scratch = pd.scratchpad_desc();
    });
    execute(*c, DNNL_ARG_SRC, A, DNNL_ARG_WEIGHTS, B, DNNL_ARG_DST, C);
  } catch (const dnnl::error& e) {
    return unsupported(env, e);
  }
  return nullptr;
}

}  // namespace fieldcal
