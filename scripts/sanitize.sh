#!/usr/bin/env bash
# The daemon under AddressSanitizer + UBSan (undefined behaviour aborts, leaks are reported):
# builds the agent and the daemon's integration tests (daemon, watcher churn, API, OTLP
# exporter and spool) into build-san (EU_SANITIZE=ON), with the BPF objects of the regular
# build (plugins are not rebuilt), and runs them there: the daemon they start and the exporter
# code they link are both instrumented. Any sanitizer report fails the run, even one a test
# did not notice: reports go to files that are checked here. Root (the tests load BPF); the
# regular build (EU_BUILD_DIR, default build) must be built first. scripts/test.sh runs this
# under CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${EU_BUILD_DIR:-build}" && pwd)
san=${EU_SAN_BUILD_DIR:-build-san}
# the tests that start the daemon or link the exporter (641 s of tests here, beside a build of
# the agent and these tests)
pattern='^integration/test_((daemon|api|otlp)_.*|metrics_otlp)$'
cmake -S . -B "$san" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEU_WERROR=ON -DEU_SANITIZE=ON \
  -DEU_BUILD_PLUGINS=OFF -DEU_BPF_BUILD_DIR="$build" >/dev/null
targets=(eunomia-agent)
for src in tests/integration/test_*.c; do
  name=$(basename "$src" .c)
  if [[ integration/$name =~ $pattern ]]; then
    targets+=("integration_$name")
  fi
done
cmake --build "$san" -j"$(nproc)" --target "${targets[@]}" >&2
reports=$(mktemp -d /tmp/eu-san-XXXXXX)
trap 'rm -rf "$reports"' EXIT
# the tests start the daemon as $san's eunomia-agent (EU_AGENT_BIN of that build)
export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1"
rc=0
ctest --test-dir "$san" --output-on-failure -L integration -R "$pattern" || rc=$?
if compgen -G "$reports/*" >/dev/null; then
  echo "sanitize: sanitizer reports:" >&2
  cat "$reports"/* >&2
  rc=1
fi
if [ "$rc" -eq 0 ]; then
  echo "sanitize: daemon, watcher, API, OTLP and spool integration tests clean under ASan+UBSan"
fi
exit "$rc"
