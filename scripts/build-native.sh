#!/usr/bin/env bash
# Builds native/ (the oneDNN kernels of the cpu-native tfjs backend) with node-gyp, offline:
# Node's own headers (nodedir) and npm's bundled node-gyp; libdnnl-dev from Debian.
# Exit status 0 when built or up to date; 1 (with the reason) when it cannot be built.
set -euo pipefail
cd "$(dirname "$0")/.."
out=native/build/Release/fieldcal_native.node
if [ -f "$out" ] && [ -z "$(find native/src native/binding.gyp -newer "$out" 2>/dev/null)" ]; then
  exit 0
fi
[ -f /usr/include/oneapi/dnnl/dnnl.hpp ] || { echo "build-native: oneDNN headers missing (apt-get install libdnnl-dev)" >&2; exit 1; }
command -v g++ >/dev/null && command -v make >/dev/null || { echo "build-native: g++ and make are needed" >&2; exit 1; }
nodedir=$(node -p "require('path').resolve(process.execPath, '../..')")
[ -f "$nodedir/include/node/node_api.h" ] || { echo "build-native: Node headers not found under $nodedir/include/node" >&2; exit 1; }
gyp=$(node -p "require.resolve('node-gyp/bin/node-gyp.js', { paths: [require('path').resolve(process.execPath, '../../lib/node_modules/npm/node_modules')] })" 2>/dev/null) ||
  { echo "build-native: npm's bundled node-gyp not found" >&2; exit 1; }
node "$gyp" rebuild --directory native --nodedir="$nodedir" --loglevel=error >&2
node -e "require('./$out')" || { echo "build-native: the addon built but does not load" >&2; exit 1; }
