// Per-step SSIM and FSS of the evaluation summary, threaded across steps (fields.cc).
#pragma once

#include <node_api.h>

namespace fieldcal {
namespace fields {

// Adds stepSpatial to the module's exports.
void registerFields(napi_env env, napi_value exports);

}  // namespace fields
}  // namespace fieldcal
