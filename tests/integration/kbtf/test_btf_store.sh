#!/usr/bin/env bash
# The trimmed-BTF store as `run` meets it: the first run of a package leaves a trimmed BTF in
# the store (written off the load's path), the next run loads from it instead of parsing the
# kernel's BTF, and both decode an exec this test caused by value. A corrupt entry, an entry
# another user could have written and a store directory that is not private are each ignored
# (the last one said at the default log level) and the load goes on as without a store.
# Root (BPF).
set -euo pipefail
: "${EU_AGENT_BIN:?}" "${EU_PLUGIN_BUILD_DIR:?}"
fail() { echo "FAIL: $*" >&2; exit 1; }

A=$EU_AGENT_BIN
PKG=$EU_PLUGIN_BUILD_DIR/bootstrap/package.json
work=$(mktemp -d /tmp/eu-btfstore-XXXXXX)
runpid=
cleanup() {
	[ -n "$runpid" ] && { kill "$runpid"; wait "$runpid"; } 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
store=$work/store
export EUNOMIA_BTF_CACHE_DIR=$store
cp /bin/true "$work/eu-store-probe"

# an entry that is BTF (the magic), not garbage
entry_good() {
	local f
	for f in "$store"/*.btf; do
		[ -f "$f" ] && head -c 2 "$f" | od -An -tx1 | grep -q "9f eb" && return 0
	done
	return 1
}

# run_once NAME [WAIT_FOR_ENTRY]: one `run --json`, an exec of the probe once attached; the
# output in $work/NAME.{out,err}. With WAIT_FOR_ENTRY, stays until the store has an entry.
run_once() {
	local name=$1 wait_entry=${2:-}
	"$A" run "$PKG" --json --log-level debug >"$work/$name.out" 2>"$work/$name.err" &
	runpid=$!
	local i
	for i in $(seq 1 300); do
		grep -q "attached" "$work/$name.err" && break
		kill -0 "$runpid" 2>/dev/null || fail "$name: run exited early: $(cat "$work/$name.err")"
		sleep 0.1
	done
	grep -q "attached" "$work/$name.err" || fail "$name: not attached in 30 s"
	for i in $(seq 1 50); do
		"$work/eu-store-probe"
		grep -q '"filename":"[^"]*eu-store-probe"' "$work/$name.out" && break
		sleep 0.1
	done
	if [ -n "$wait_entry" ]; then
		for i in $(seq 1 600); do
			entry_good && break
			sleep 0.1
		done
	fi
	kill -INT "$runpid"
	wait "$runpid" || fail "$name: run exited $?: $(tail -5 "$work/$name.err")"
	runpid=
	grep -q '"filename":"[^"]*eu-store-probe"' "$work/$name.out" ||
		fail "$name: the probe's exec was not decoded: $(head -c 600 "$work/$name.out")"
	grep '"filename":"[^"]*eu-store-probe"' "$work/$name.out" | head -1 |
		grep -q '"comm":"eu-store-probe"' || fail "$name: wrong comm for the probe's exec"
}

# 1. first run: libbpf's own lookup, then the entry appears
run_once first wait
grep -q "CO-RE target: libbpf" "$work/first.err" || fail "first: $(grep CO-RE "$work/first.err")"
entry=$(ls "$store"/*.btf 2>/dev/null | head -1)
[ -n "$entry" ] || fail "the first run left no trimmed BTF in $store"
[ "$(stat -c %a "$store")" = 700 ] || fail "store mode $(stat -c %a "$store"), want 700"
[ "$(stat -c %a "$entry")" = 600 ] || fail "entry mode $(stat -c %a "$entry"), want 600"
entry_good || fail "the entry is not BTF (no magic)"

# 2. second run: from the store
run_once second
grep -q "CO-RE target: trimmed, from the store" "$work/second.err" ||
	fail "second: not loaded from the store: $(grep CO-RE "$work/second.err")"

# 3. a corrupt entry is a miss, and is replaced by a good one
head -c 331 /dev/urandom >"$entry"
run_once corrupt wait
grep -q "CO-RE target: libbpf" "$work/corrupt.err" ||
	fail "corrupt: the garbage entry was used: $(grep CO-RE "$work/corrupt.err")"
entry_good || fail "corrupt: the garbage entry was not replaced by a trimmed BTF"

# 4. an entry others may write is a miss
chmod 0666 "$entry"
run_once writable
grep -q "CO-RE target: libbpf" "$work/writable.err" ||
	fail "writable: a group/world-writable entry was used"
chmod 0600 "$entry"

# 5. a store directory that is not private is not used, and says so at the default level
chmod 0777 "$store"
"$A" run "$PKG" --json --duration 1 >"$work/open.out" 2>"$work/open.err" ||
	fail "open: run failed: $(tail -3 "$work/open.err")"
grep -q "trimmed BTF store $store is not private" "$work/open.err" ||
	fail "open: no warning about the store: $(cat "$work/open.err")"
chmod 0700 "$store"

# 6. EUNOMIA_BTF_CACHE_DIR= (empty): no store at all
EUNOMIA_BTF_CACHE_DIR= run_once nostore
grep -q "CO-RE target: libbpf" "$work/nostore.err" || fail "nostore: a store was used"
echo "ok: trimmed BTF store (first run fills it, second loads from it, bad entries ignored)"
