#!/usr/bin/env bash
# Builds the libFuzzer targets with clang into build-fuzz and runs each for a bounded time
# (seconds per target, default 20), seeded with our packages and, when present, the
# compatibility corpus (EU_COMPAT_DIR, else ../shared/compat).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DEU_WERROR=ON -DEU_BUILD_FUZZ=ON -DEU_BUILD_TESTS=OFF -DEU_BUILD_PLUGINS=OFF \
  -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-fuzz -j"$(nproc)"
for bin in build-fuzz/tests/fuzz/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  corpus=build-fuzz/corpus/$name
  mkdir -p "$corpus"
  seeds=tests/fuzz/seeds/$name
  dirs=("$corpus")
  [ -d "$seeds" ] && dirs+=("$seeds")
  case "$name" in
    fuzz_wasm*)
      [ -d build/tests/wasm ] && dirs+=(build/tests/wasm) ;;
    fuzz_package*)
      compat=${EU_COMPAT_DIR:-../shared/compat}
      [ -d "$compat/meta-only" ] && dirs+=("$compat" "$compat/meta-only")
      [ -d build/plugins ] && dirs+=(build/plugins) ;;
  esac
  echo "fuzz: $name for ${seconds}s"
  # a finding's input is kept under build-fuzz/artifacts and the report printed in full
  artifacts=build-fuzz/artifacts/$name/
  mkdir -p "$artifacts"
  log=build-fuzz/$name.log
  if ! "$bin" -max_total_time="$seconds" -max_len=262144 -timeout=10 -print_final_stats=0 \
    -artifact_prefix="$artifacts" "${dirs[@]}" >"$log" 2>&1; then
    grep -v '^libbpf: ' "$log" | tail -n 80 >&2
    echo "fuzz: $name failed; its input is in $artifacts (replay: $bin FILE)" >&2
    exit 1
  fi
  tail -n 1 "$log"
done
echo "fuzz: no crashes"
