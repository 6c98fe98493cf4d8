#!/usr/bin/env bash
# The main job on a fresh machine: install dependencies, build, mount tracefs, and run the
# agent on a bundled plugin (process exec/exit) with events on stdout. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
bash scripts/mount-fs.sh || true
exec ./build/eunomia-agent run build/plugins/bootstrap/package.json "$@"
