// Lumped GR4J over many parameter sets with the squared error in the same pass: gr4sets.cc.
#pragma once

#include <node_api.h>

namespace fieldcal {
namespace gr4sets {

// Adds gr4SetsSse to the module's exports.
void registerGr4Sets(napi_env env, napi_value exports);

}  // namespace gr4sets
}  // namespace fieldcal
