// Float64 linear algebra on Debian's OpenBLAS, opened at first use (linalg.cc).
#pragma once

#include <node_api.h>

namespace fieldcal {
namespace linalg {

// Adds linalgLoad, gramF64, gemmF64, symEigF64 and eofAnomalies to the module's exports.
void registerLinalg(napi_env env, napi_value exports);

}  // namespace linalg
}  // namespace fieldcal
