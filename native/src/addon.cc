// Fieldcal native kernels: tfjs's heaviest CPU kernels on oneDNN (Intel/UXL oneDNN 2.x, Debian's
// libdnnl), called through N-API on the CPU backend's own Float32Arrays (no copies). Layouts are
// tfjs's: activations NHWC, filters HWIO, matmul operands row-major with optional transposes.
// Primitives are cached by shape, so a training loop pays their creation once.
//
// This file registers the module's exports; each kernel family is in its own file (convolution,
// matmul, elementwise, reductions, copies, batchnorm, lstm), with the shared helpers in common.h.
#include <sstream>

#include "common.h"
#include "gr4sets.h"
#include "fields.h"
#include "linalg.h"
#include "physics.h"

namespace fieldcal {
namespace {

napi_value SetThreads(napi_env env, napi_callback_info info) {
  Args<1> a(env, info);
  if (!a) return napiFailed(env);
  const int32_t n = a.int32(0, 1);
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
      {"adamUpdate", nullptr, AdamUpdate, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"copyRows", nullptr, CopyRows, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"lstmForward", nullptr, LstmForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"lstmInfer", nullptr, LstmInfer, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"lstmGradRecompute", nullptr, LstmGradRecompute, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"lstmBackward", nullptr, LstmBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"keptWeightStats", nullptr, KeptWeightStats, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  // conv takes a bias operand and a weight token (an addon built before them ignores both, so the
  // JavaScript side passes a bias only where this is true)
  napi_value yes;
  napi_get_boolean(env, true, &yes);
  napi_set_named_property(env, exports, "convBias", yes);
  physics::registerPhysics(env, exports);
  linalg::registerLinalg(env, exports);
  fields::registerFields(env, exports);
  gr4sets::registerGr4Sets(env, exports);
  return exports;
}

}  // namespace
}  // namespace fieldcal

NAPI_MODULE(NODE_GYP_MODULE_NAME, fieldcal::Init)
