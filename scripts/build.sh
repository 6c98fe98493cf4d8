#!/usr/bin/env bash
# Configures and builds into ./build (or $EU_BUILD_DIR), warnings as errors (the developers'
# and CI's build; a plain cmake build leaves them warnings). Build output goes to stderr, so
# scripts whose stdout is the product (run.sh) stay clean. Extra args go to cmake configure.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${EU_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEU_WERROR=ON "$@" >/dev/null
cmake --build "$build" -j"$(nproc)" >&2
