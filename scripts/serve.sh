#!/usr/bin/env bash
# The README's main command: set up on a fresh clone, then start `fieldcal serve` and print its URL.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node bin/fieldcal.mjs serve "$@"
