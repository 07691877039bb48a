#!/usr/bin/env bash
# Installs what Fieldcal needs on a fresh Debian machine and builds it.
#   scripts/setup.sh            npm dependencies + build (enough for `fieldcal serve`)
#   scripts/setup.sh --test     also the system packages the tests use (Chromium, GDAL, Redis)
# Idempotent: a second run skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
for a in "$@"; do
  case "$a" in
    --test) want_test=1 ;;
    *) echo "setup: unknown option $a" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

# Node 20.19+ (Vite 7 and the ESM build need it).
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' || {
  echo "setup: Node >= 20.19 is required (found $(node --version))" >&2; exit 1; }

# System packages: only for the tests (Chromium drives the UI, GDAL is the GeoTIFF reference).
if [ "$want_test" = 1 ]; then
  missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  command -v gdalinfo >/dev/null 2>&1 || missing+=(gdal-bin)
  # the NetCDF tests write their fixtures with scipy.io.netcdf_file (tests/fixtures/netcdf/make_issue15.py)
  python3 -c 'import scipy.io' >/dev/null 2>&1 || missing+=(python3-scipy)
  # the sweep queue tests (BullMQ) start their own redis-server on a free loopback port, with a password
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      say "installing ${missing[*]} with apt-get"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
      echo "setup: missing system packages: ${missing[*]}" >&2
      echo "       install them (Debian/Ubuntu: sudo apt-get install ${missing[*]}) and run again" >&2
      exit 1
    fi
  fi
fi

# npm dependencies, reinstalled only when package-lock.json changes. Electron's binary and
# tfjs-node's libtensorflow download from outside the npm registry: skip/tolerate them.
stamp=node_modules/.fieldcal-lock.sha256
lock_sha=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sha" ]; then
  # `npm install` against the committed lock file, not `npm ci`: npm 11 here writes lock files
  # without other platforms' optional packages (@rollup/rollup-*), which `npm ci` then refuses.
  say "npm install (from package-lock.json)"
  ELECTRON_SKIP_BINARY_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error
  sha256sum package-lock.json | cut -d" " -f1 > "$stamp"
fi
node -e "require('better-sqlite3')" 2>/dev/null || {
  say "rebuilding better-sqlite3 for Node $(node --version)"
  npm rebuild better-sqlite3 --loglevel=error
}

# Native kernels (cpu-native backend): oneDNN from Debian, built from source here. Without them
# the app runs on tfjs's JavaScript `cpu` backend and says so (`fieldcal info`).
if [ ! -f /usr/include/oneapi/dnnl/dnnl.hpp ] || ! command -v g++ >/dev/null 2>&1 || ! command -v make >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing libdnnl-dev g++ make with apt-get (native kernels)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libdnnl-dev g++ make >/dev/null ||
      say "could not install libdnnl-dev: the cpu-native backend will be unavailable"
  else
    say "libdnnl-dev (oneDNN) is not installed: install it (sudo apt-get install libdnnl-dev) for the cpu-native backend"
  fi
fi
# Float64 BLAS/LAPACK for the metrics (joint-EOF Gram product and eigenproblem): Debian's OpenBLAS,
# opened by the addon at run time (native/src/linalg.cc), so the addon builds without it.
if [ ! -e /usr/lib/x86_64-linux-gnu/libopenblas.so.0 ] && ! ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so\.0'; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing libopenblas0-pthread with apt-get (metrics linear algebra)"
    apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libopenblas0-pthread >/dev/null ||
      say "could not install libopenblas0-pthread: the metrics run their JavaScript linear algebra"
  else
    say "OpenBLAS is not installed (sudo apt-get install libopenblas0-pthread): the metrics run their JavaScript linear algebra"
  fi
fi
if scripts/build-native.sh; then
  say "native kernels ready (cpu-native backend)"
else
  say "native kernels NOT built (see above): Fieldcal runs on the JavaScript cpu backend"
fi

say "building (electron-vite)"
npx electron-vite build --logLevel warn 2>&1 | grep -v -E 'annotation that Rollup|comment will be removed|^\s*$|^"|^ \*|^in "node_modules' >&2 || true
[ -f out/main/cli.js ] && [ -f out/renderer/index.html ] || { echo "setup: build failed" >&2; exit 1; }
