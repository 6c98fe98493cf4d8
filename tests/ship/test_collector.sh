#!/usr/bin/env bash
# deploy/otel-collector.yaml: lint, and the pipeline structure the agent's data goes through
# (otelcol itself is not packaged in Debian, so it is not run here).
set -euo pipefail
: "${EU_SOURCE_DIR:?}"
cd "$EU_SOURCE_DIR/deploy"
command -v yamllint >/dev/null || { echo "FAIL: yamllint is missing (Debian package yamllint)"; exit 1; }
yamllint -s -c .yamllint otel-collector.yaml kubernetes/otel-collector.yaml
python3 "$EU_SOURCE_DIR/tests/ship/check_deploy.py" collector
