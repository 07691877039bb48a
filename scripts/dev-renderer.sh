#!/usr/bin/env bash
# Builds only the renderer into a folder of your choice and serves it from source (no full build):
#   bash scripts/dev-renderer.sh /tmp/r1 [serve args...]
# Several developers can each use their own folder; `fieldcal serve` finds it through FIELDCAL_RENDERER_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(realpath -m "${1:?usage: dev-renderer.sh OUT_DIR [serve args]}")"
shift
npx vite build --config scripts/vite.renderer.mjs --outDir "$out" --emptyOutDir --logLevel warn
FIELDCAL_RENDERER_DIR="$out" exec node --import tsx --import ./scripts/raw-loader.mjs src-main/cli/index.ts serve "$@"
