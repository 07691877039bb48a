#!/usr/bin/env bash
# The README's test command: installs what it needs, then typecheck, lint, build, unit and
# end-to-end tests. Ends with one summary line "tests: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
export CI="${CI:-}"
bash scripts/setup.sh --test || exit 1

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
failed_steps=()

step "typecheck (tsc + svelte-check)"
npm run --silent typecheck || failed_steps+=(typecheck)
step "lint (eslint + prettier)"
npm run --silent lint || failed_steps+=(lint)
npm run --silent format:check || failed_steps+=(format)

step "tests (vitest: unit + e2e in Chromium)"
mkdir -p test-results
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json
vitest_rc=$?
[ $vitest_rc = 0 ] || failed_steps+=(vitest)

summary=$(node -e '
  const fs = require("fs");
  try {
    const r = JSON.parse(fs.readFileSync("test-results/vitest.json", "utf8"));
    console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
  } catch { console.log("tests: 0 passed, 1 failed"); }
')
echo
if [ ${#failed_steps[@]} -gt 0 ]; then echo "failed steps: ${failed_steps[*]}"; fi
echo "$summary"
[ ${#failed_steps[@]} = 0 ]
