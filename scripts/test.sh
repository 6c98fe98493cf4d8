#!/usr/bin/env bash
# Runs every test: installs dependencies, builds, mounts tracefs/bpffs, then the unit tests,
# the integration tests (root: they load real BPF programs) and a bounded fuzzing pass.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
if [ "$(id -u)" -ne 0 ]; then
  echo "test: integration tests load BPF programs and need root; run as root" >&2
  exit 1
fi
bash scripts/mount-fs.sh
build=${EU_BUILD_DIR:-build}
ctest --test-dir "$build" --output-on-failure -L unit
ctest --test-dir "$build" --output-on-failure -L integration
bash scripts/fuzz.sh "${EU_FUZZ_SECONDS:-20}"
echo "test: all tests passed"
