#!/usr/bin/env bash
# A fleet on one machine: N agents, each in its own network namespace (a veth pair to the
# host) and UTS namespace (its own host name, eu-node-<i>), all sending OTLP/HTTP to one
# receiver on the host side. Checks that every agent's records arrive under its own
# host.name, then kills the receiver, causes events during the outage, restarts it, and checks
# that every event caused during the outage still arrives from every agent (the exporter's
# retries and queue; nothing may be lost within its limits); then, during a second outage,
# restarts one agent: its on-disk spool (EUNOMIA_OTLP_SPOOL_DIR) must carry what it had not
# delivered into the new process, which replays it.
#
#   sudo scripts/fleet-rehearsal.sh [N]        (N agents, default 3; needs a built ./build)
#
# Environment: EU_AGENT_BIN (default build/eunomia-agent), EU_FLEET_PKG (a bootstrap package,
# default build/plugins/bootstrap/package.json), EU_FLEET_OUTAGE_S (default 5).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
n=${1:-3}
agent=${EU_AGENT_BIN:-$src/build/eunomia-agent}
pkg=${EU_FLEET_PKG:-$src/build/plugins/bootstrap/package.json}
outage=${EU_FLEET_OUTAGE_S:-5}
fail() { echo "fleet: FAIL: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "needs root (network namespaces, BPF)"
[ -x "$agent" ] || fail "no agent at $agent"
[ -f "$pkg" ] || fail "no package at $pkg"

tag=$$
work=$(mktemp -d /tmp/eu-fleet-XXXXXX)
state=$work/receiver.json
port=0 # the receiver picks a free one at its first start and keeps it
recv_pid=
agent_pids=()
cleanup() {
	for p in "${agent_pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	[ -n "$recv_pid" ] && kill -9 "$recv_pid" 2>/dev/null || true
	for i in $(seq 1 "$n"); do
		ip netns del "euf${tag}_$i" 2>/dev/null || true
		ip link del "eufh${tag}_$i" 2>/dev/null || true
	done
	if [ -z "${EU_FLEET_KEEP:-}" ]; then rm -rf "$work"; else echo "fleet: kept $work"; fi
}
trap cleanup EXIT

start_receiver() {
	rm -f "$state.ready"
	python3 "$src/tests/ship/otlp_fleet_receiver.py" --port "$port" --state "$state" \
		2>>"$work/receiver.err" &
	recv_pid=$!
	local deadline=$((SECONDS + 30))
	until [ -f "$state.ready" ]; do
		kill -0 "$recv_pid" 2>/dev/null || fail "receiver died: $(cat "$work/receiver.err")"
		[ $SECONDS -lt $deadline ] || fail "receiver not listening"
		sleep 0.1
	done
	port=$(cat "$state.ready")
}

# markers: copies of /bin/true whose unique names the bootstrap package reports
make_markers() { # prefix count
	for k in $(seq 1 "$2"); do cp /bin/true "$work/bin/eu_fleet_${tag}_$1_$k"; done
}
run_markers() { for k in $(seq 1 "$2"); do "$work/bin/eu_fleet_${tag}_$1_$k"; done; }

# every host has every marker of a phase: prints what is missing, or nothing
missing() { # prefix count
	python3 - "$state" "$n" "$tag" "$1" "$2" <<'EOF'
import json, os, sys
path, n, tag, prefix, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
hosts = json.load(open(path))["hosts"] if os.path.exists(path) else {}
for i in range(1, n + 1):
    h = hosts.get(f"eu-node-{i}", {"markers": []})
    want = {f"eu_fleet_{tag}_{prefix}_{k}" for k in range(1, count + 1)}
    lack = want - set(h["markers"])
    if lack:
        print(f"eu-node-{i}: {len(lack)} of {count} missing")
EOF
}
wait_all() { # prefix count timeout_s
	local deadline=$((SECONDS + $3)) m
	while m=$(missing "$1" "$2"); [ -n "$m" ]; do
		[ $SECONDS -lt $deadline ] || fail "phase $1: $m (receiver saw: $(cat "$state" 2>/dev/null | head -c 2000))"
		sleep 0.2
	done
}

# agent i, logging to node<i>/<log>: its own host name through its UTS namespace (host.name
# comes from uname), an attribute of ours through the standard variable, a spool directory
start_agent() { # i log
	local i=$1 ns=euf${tag}_$1 net=10.$((200 + tag % 50)).$1
	OTEL_RESOURCE_ATTRIBUTES="k8s.node.name=eu-node-$i,fleet.tag=$tag" \
	OTEL_BLRP_SCHEDULE_DELAY=200 EUNOMIA_OTLP_SPOOL_DIR="$work/node$i/spool" \
		ip netns exec "$ns" unshare --uts sh -c \
		'hostname "$0" && exec "$@"' "eu-node-$i" \
		"$agent" --watch "$work/node$i/watch" --sink "otlp:http://$net.1:$port" \
		>"$work/node$i/out" 2>"$work/node$i/$2" &
	agent_pids[$((i - 1))]=$!
}
wait_ready() { # i log
	local deadline=$((SECONDS + 60))
	until grep -q "ready:" "$work/node$1/$2"; do
		kill -0 "${agent_pids[$(($1 - 1))]}" 2>/dev/null || fail "agent $1 died: $(cat "$work/node$1/$2")"
		[ $SECONDS -lt $deadline ] || fail "agent $1 not ready: $(cat "$work/node$1/$2")"
		sleep 0.1
	done
	grep -q "1 package loaded, 0 failed" "$work/node$1/$2" || fail "agent $1: $(cat "$work/node$1/$2")"
}

mkdir -p "$work/bin"
bash "$src/scripts/mount-fs.sh" >/dev/null 2>&1 || true
start_receiver
echo "fleet: receiver on port $port"

for i in $(seq 1 "$n"); do
	ns=euf${tag}_$i host_if=eufh${tag}_$i peer_if=eufa${tag}_$i
	net=10.$((200 + tag % 50)).$i
	ip netns add "$ns"
	ip link add "$host_if" type veth peer name "$peer_if"
	ip link set "$peer_if" netns "$ns"
	ip addr add "$net.1/30" dev "$host_if"
	ip link set "$host_if" up
	ip -n "$ns" addr add "$net.2/30" dev "$peer_if"
	ip -n "$ns" link set "$peer_if" up
	ip -n "$ns" link set lo up
	mkdir -p "$work/node$i/watch"
	cp "$pkg" "$work/node$i/watch/bootstrap.json"
	start_agent "$i" err
done
for i in $(seq 1 "$n"); do wait_ready "$i" err; done
echo "fleet: $n agents ready"

k=10
make_markers a $k
make_markers b $k
make_markers c $k
run_markers a $k
wait_all a $k 60
echo "fleet: phase a: every agent delivered all $k events under its own host.name"

kill -9 "$recv_pid"
wait "$recv_pid" 2>/dev/null || true
recv_pid=
run_markers b $k
# the outage lasts long enough for every agent's batch to be attempted and refused
sleep "$outage"
start_receiver
wait_all b $k 120
echo "fleet: phase b: events caused while the receiver was down arrived from every agent"

# phase c: the receiver goes down again and agent 1 is restarted during the outage: what it
# had not delivered is in its spool, and the new process replays it once the receiver is back
kill -9 "$recv_pid"
wait "$recv_pid" 2>/dev/null || true
recv_pid=
run_markers c $k
sleep "$outage"
kill -TERM "${agent_pids[0]}"
rc=0
wait "${agent_pids[0]}" || rc=$?
[ "$rc" -eq 0 ] || fail "agent 1 exit $rc on SIGTERM: $(tail -5 "$work/node1/err")"
spooled=$(ls "$work/node1/spool" | wc -l)
[ "$spooled" -gt 0 ] || fail "agent 1 stopped during the outage with an empty spool: $(tail -5 "$work/node1/err")"
grep "sink otlp logs (final):" "$work/node1/err" | tail -1 | grep -q " 0 shutdown$" ||
	fail "agent 1 dropped records at shutdown: $(grep 'sink otlp logs (final):' "$work/node1/err")"
start_agent 1 err2
wait_ready 1 err2
start_receiver
wait_all c $k 120
echo "fleet: phase c: agent 1, restarted during an outage, replayed its spool ($spooled batch files)"

for i in $(seq 1 "$n"); do kill -TERM "${agent_pids[$((i - 1))]}"; done
for i in $(seq 1 "$n"); do
	log=err
	[ "$i" -eq 1 ] && log=err2
	rc=0
	wait "${agent_pids[$((i - 1))]}" || rc=$?
	[ "$rc" -eq 0 ] || fail "agent $i exit $rc: $(tail -5 "$work/node$i/$log")"
	# the outage was felt (retries) and cost nothing (no drop)
	line=$(grep "counters: sink otlp" "$work/node$i/$log" | tail -1)
	grep -Eq "dropped 0[,: ]" <<<"$line" || fail "agent $i dropped records: $line"
	exp=$(cat "$work/node$i"/err* | grep "sink otlp logs (final):")
	[ "$(grep -c . <<<"$exp")" -eq "$(grep -c "dropped 0: 0 queue_full, 0 not_retryable, 0 retries_exhausted, 0 spool_full, 0 shutdown" <<<"$exp")" ] ||
		fail "agent $i dropped records: $exp"
	grep -Eq " [1-9][0-9]* retried," <<<"$exp" || fail "agent $i never retried (no outage?): $exp"
	echo "fleet: agent $i: $(tail -1 <<<"$exp" | sed 's/^[^:]*: //')"
	# queued and exported over every run of this agent (agent 1 ran twice)
	cat "$work/node$i"/err* | grep "sink otlp logs (final):" |
		sed -E 's/.*: ([0-9]+) queued, ([0-9]+) exported.*/\1 \2/' |
		awk '{q += $1; e += $2} END {print q, e}' >"$work/node$i/exported"
done
agent_pids=()
python3 - "$state" "$n" "$tag" "$work" <<'EOF'
import json, sys
st = json.load(open(sys.argv[1]))
n, tag = int(sys.argv[2]), sys.argv[3]
for i in range(1, n + 1):
    h = st["hosts"][f"eu-node-{i}"]
    a = h["attributes"]
    queued, exported = map(int, open(f"{sys.argv[4]}/node{i}/exported").read().split())
    # every record taken was exported (agent 1's second run exported what its first run
    # spooled) and received; a retry after a lost answer may deliver one twice, never fewer
    assert queued == exported, (i, queued, exported)
    assert h["records"] >= exported, (i, h["records"], exported)
    assert a.get("k8s.node.name") == f"eu-node-{i}", a
    assert a.get("fleet.tag") == tag, a
    print(f"fleet: eu-node-{i}: {queued} records taken, {exported} exported, {h['records']} received; attributes host.name={a['host.name']} "
          f"k8s.node.name={a['k8s.node.name']} service.name={a.get('service.name')}")
extra = [h for h in st["hosts"] if not h.startswith("eu-node-")]
assert not extra, f"records under unexpected host names: {extra}"
assert st["bad"] == 0, "undecodable requests"
EOF
echo "fleet: PASS ($n agents, receiver outage ${outage}s)"
