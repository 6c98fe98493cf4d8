#!/usr/bin/env bash
# Runs every test: installs dependencies, builds, mounts tracefs/bpffs, then the unit tests,
# the integration tests (root: they load real BPF programs), under CI=true the daemon's
# integration tests again under ASan+UBSan (scripts/sanitize.sh), and a bounded fuzzing pass.
# The compatibility corpus (upstream's package metadata, not part of the repository) is
# taken from EU_COMPAT_DIR, else ../shared/compat; without it its tests are not run (said
# loudly), and under CI=true its absence is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
compat=${EU_COMPAT_DIR:-../shared/compat}
if [ -f "$compat/bootstrap.meta.json" ]; then
  EU_COMPAT_DIR=$(cd "$compat" && pwd)
  export EU_COMPAT_DIR
  echo "test: compatibility corpus: $EU_COMPAT_DIR (its tests run with the unit tests)"
else
  unset EU_COMPAT_DIR
  {
    echo "test: ************************************************************************"
    echo "test: NOT RUN: the corpus tests (tests/corpus): no compatibility corpus at $compat"
    echo "test: set EU_COMPAT_DIR=DIR (upstream's *.meta.json files) to run them"
    echo "test: ************************************************************************"
  } >&2
  if [ "${CI:-}" = true ]; then
    echo "test: CI=true requires the compatibility corpus" >&2
    exit 1
  fi
fi
bash scripts/install-deps.sh
bash scripts/build.sh
if [ "${CI:-}" = true ]; then
  # the builds users and distributions make, warnings as errors: gcc Release (-O3 finds
  # what -O2 does not) and clang (the fuzz build below is clang too, a Debug build with sanitizers)
  echo "test: CI: gcc Release and clang RelWithDebInfo builds" >&2
  EU_BUILD_DIR=build-release bash scripts/build.sh -DCMAKE_BUILD_TYPE=Release \
    -DEU_BUILD_TESTS=OFF -DEU_BUILD_PLUGINS=OFF
  CC=clang EU_BUILD_DIR=build-clang bash scripts/build.sh -DEU_BUILD_TESTS=OFF \
    -DEU_BUILD_PLUGINS=OFF
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "test: integration tests load BPF programs and need root; run as root" >&2
  exit 1
fi
bash scripts/mount-fs.sh
build=${EU_BUILD_DIR:-build}
ctest --test-dir "$build" --output-on-failure -L unit
ctest --test-dir "$build" --output-on-failure -L integration
if [ "${CI:-}" = true ]; then
  # the daemon, watcher, API, OTLP and spool tests again, against ASan+UBSan builds
  bash scripts/sanitize.sh
fi
bash scripts/fuzz.sh "${EU_FUZZ_SECONDS:-20}"
if [ -n "${EU_COMPAT_DIR:-}" ]; then
  echo "test: all tests passed"
else
  echo "test: all tests passed, but the corpus tests were NOT run (no $compat)" >&2
fi
