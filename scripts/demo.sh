#!/usr/bin/env bash
# The README's main command: set up on a fresh clone, then calibrate the bundled Lez data with
# HDA-PR and write parameter GeoTIFFs and the report to ./fieldcal-demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node bin/fieldcal.mjs demo --out fieldcal-demo "$@"
