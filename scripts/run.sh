#!/usr/bin/env bash
# The main job on a fresh machine: install dependencies, build, mount tracefs, and run the
# daemon on every bundled plugin (copied into build/eunomia.d, the watched directory), with
# one JSON record per event on stdout. Ctrl-C stops it. Extra arguments go to the agent
# (e.g. --sink file:/tmp/events.jsonl, --log-level debug).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
bash scripts/mount-fs.sh || true
watch=build/eunomia.d
mkdir -p "$watch"
for pkg in build/plugins/*/package.json; do
  name=$(basename "$(dirname "$pkg")")
  cp "$pkg" "$watch/$name.json.tmp" && mv "$watch/$name.json.tmp" "$watch/$name.json"
done
exec ./build/eunomia-agent --watch "$watch" "$@"
