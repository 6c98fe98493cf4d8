#!/usr/bin/env bash
# The fleet rehearsal (scripts/fleet-rehearsal.sh) on this build: 3 agents in their own
# network and UTS namespaces, one OTLP receiver on the host side, a receiver outage.
set -euo pipefail
: "${EU_SOURCE_DIR:?}" "${EU_BINARY_DIR:?}" "${EU_AGENT_BIN:?}"
EU_FLEET_PKG=$EU_BINARY_DIR/plugins/bootstrap/package.json \
	exec bash "$EU_SOURCE_DIR/scripts/fleet-rehearsal.sh" 3
