// Native physics kernels (gr4, vic3l, lr routing; forward and adjoint): physics.cc.
#pragma once

#include <node_api.h>

namespace fieldcal {
namespace physics {

// Adds gr4Forward, gr4Adjoint, lrRoute, vicForward, vicAdjoint, setPhysicsThreads and
// physicsInfo to the module's exports.
void registerPhysics(napi_env env, napi_value exports);

}  // namespace physics
}  // namespace fieldcal
