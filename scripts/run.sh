#!/usr/bin/env bash
# The main job on a fresh machine: install dependencies, build, mount tracefs, and run the
# daemon on bundled plugins (copied into build/eunomia.d, the watched directory), one line per
# event on stdout. Ctrl-C stops it. Everything else (install and build output, the agent's
# log) goes to stderr, so stdout holds only the events.
#
#   ./scripts/run.sh [PLUGIN...|all] [-- AGENT-ARGS...]
#
# Default plugins: the ones whose events a person causes and can follow as they scroll by:
# bootstrap (processes started and ended), sigsnoop (signals), tcpstates (TCP connections),
# unlinksnoop (deleted files), bashreadline (lines typed into bash). Left out unless named:
# opensnoop (every file open on the machine: tens of thousands a minute, ~95 % of all events
# when everything runs) and runqlat (a latency histogram every second; read it with
# `build/eunomia-agent run build/plugins/runqlat/package.json`).
# Arguments from the first one starting with '-' (a leading `--` is dropped) go to the
# agent, e.g. `./scripts/run.sh opensnoop -- --sink file:/tmp/events.jsonl`.
set -euo pipefail
cd "$(dirname "$0")/.."
defaults=(bootstrap sigsnoop tcpstates unlinksnoop bashreadline)
plugins=()
while [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; do
  plugins+=("$1")
  shift
done
[ "${1:-}" = "--" ] && shift
bash scripts/install-deps.sh >&2
EU_BUILD_TARGETS='eunomia-agent eu_plugins' bash scripts/build.sh
bash scripts/mount-fs.sh >&2 || true
available=$(ls build/plugins/*/package.json | xargs -n1 dirname | xargs -n1 basename | tr '\n' ' ')
if [ ${#plugins[@]} -eq 0 ]; then
  plugins=("${defaults[@]}")
elif [ "${plugins[*]}" = all ]; then
  read -r -a plugins <<<"$available"
fi
for name in "${plugins[@]}"; do
  if [ ! -f "build/plugins/$name/package.json" ]; then
    echo "run: no plugin named '$name'; the plugins are: $available(or 'all')" >&2
    exit 2
  fi
done
watch=build/eunomia.d
mkdir -p "$watch"
# the watched directory holds exactly the plugins asked for (a previous run's stay otherwise)
find "$watch" -maxdepth 1 -name '*.json' -delete
for name in "${plugins[@]}"; do
  cp "build/plugins/$name/package.json" "$watch/$name.json.tmp"
  mv "$watch/$name.json.tmp" "$watch/$name.json"
done
echo "run: watching $watch with ${plugins[*]} (Ctrl-C stops)" >&2
exec ./build/eunomia-agent --watch "$watch" "$@"
