#!/usr/bin/env bash
# Configures and builds into ./build (or $EU_BUILD_DIR), warnings as errors (the developers'
# and CI's build; a plain cmake build leaves them warnings). Build output goes to stderr, so
# scripts whose stdout is the product (run.sh) stay clean. Extra args go to cmake configure.
# EU_BUILD_TARGETS (space-separated) builds only those targets: run.sh needs the agent and
# the plugins, not the test suite, whose up-to-date check alone takes a minute on a busy
# machine.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${EU_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEU_WERROR=ON "$@" >/dev/null
targets=()
for t in ${EU_BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build" -j"$(nproc)" "${targets[@]}" >&2
