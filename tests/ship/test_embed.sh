#!/usr/bin/env bash
# libeunomia as an embedder meets it: `cmake --install` into a scratch prefix, then the
# README's embedding program built with `pkg-config --cflags --libs libeunomia` alone and run
# on the installed bootstrap plugin until it decodes an exec and an exit that this test
# caused (checked by value), linked against libeunomia.so and against libeunomia.a. Also: the
# exported symbols are exactly the functions of the installed headers, only those headers are
# installed and each compiles on its own naming nothing of the daemon, and neither the library
# nor ecc pulls in a daemon dependency (microhttpd, systemd, yaml, curl). Root: BPF.
set -euo pipefail
: "${EU_BINARY_DIR:?}" "${EU_SOURCE_DIR:?}"
fail() { echo "FAIL: $*" >&2; exit 1; }
work=$(mktemp -d /tmp/eu-ship-embed-XXXXXX)
pid=
cleanup() {
	if [ -n "$pid" ]; then { kill -9 "$pid"; wait "$pid"; } 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

prefix=$work/prefix
cmake --install "$EU_BINARY_DIR" --prefix "$prefix" >"$work/install.log" 2>&1 ||
	{ cat "$work/install.log"; fail "cmake --install failed"; }
pc=$(find "$prefix" -name libeunomia.pc | head -n 1)
[ -n "$pc" ] || fail "no libeunomia.pc installed under $prefix"
export PKG_CONFIG_PATH=$(dirname "$pc")
libdir=$(pkg-config --variable=libdir libeunomia)
[ -f "$libdir/libeunomia.a" ] || fail "libeunomia.a is not installed in $libdir"
so=$(readlink -f "$libdir/libeunomia.so")
[ -f "$so" ] || fail "libeunomia.so is not installed in $libdir"

# exported symbols == functions declared in the installed headers: every defined dynamic
# symbol (functions and data alike; the version node EUNOMIA_0 aside), so nothing internal
# leaks past the version script
incdir=$(pkg-config --variable=includedir libeunomia)
grep -ho '\beu_[a-z0-9_]*(' "$incdir"/eunomia/*.h | tr -d '(' | sort -u >"$work/declared"
nm -D --defined-only "$so" | awk '$2 != "A" {sub(/@.*/, "", $3); print $3}' | sort -u >"$work/exported"
if ! diff -u "$work/declared" "$work/exported" >"$work/exports.diff"; then
	cat "$work/exports.diff"
	fail "libeunomia.so's exports differ from include/eunomia/*.h (update agent/libeunomia.map)"
fi
echo "exports: $(wc -l <"$work/exported") functions, as declared"

for dep in microhttpd systemd yaml curl; do
	if ldd "$so" | grep -q "lib$dep"; then fail "libeunomia.so links lib$dep"; fi
done
# only the embedding API is installed, and it names nothing of the daemon around it
extra=$(find "$incdir" -type f ! -path "$incdir/eunomia/*.h")
[ -z "$extra" ] || fail "installed beside eunomia/*.h: $extra"
if grep -nE '\beu_sinks?_|\byaml_|\bcurl_|\bCURL|\bMHD_|\bsd_notify|otlp_' "$incdir"/eunomia/*.h; then
	fail "an installed header exposes the daemon's sinks, YAML, curl, microhttpd or systemd"
fi
for h in "$incdir"/eunomia/*.h; do
	echo "#include <eunomia/$(basename "$h")>" >"$work/one.c"
	# shellcheck disable=SC2046
	cc -std=c11 -pedantic -Wall -Werror -fsyntax-only $(pkg-config --cflags libeunomia) "$work/one.c" ||
		fail "installed header eunomia/$(basename "$h") does not compile on its own"
done

# the README's program, exactly as printed there
awk '/^```c$/ {inblock = 1; n = 0; next}
     inblock && /^```$/ {inblock = 0; if (found) exit; next}
     inblock {n++; if (n == 1 && $0 ~ /^\/\* embed\.c:/) found = 1; if (found) print}' \
	"$EU_SOURCE_DIR/README.md" >"$work/embed.c"
[ -s "$work/embed.c" ] || fail "README.md has no \`\`\`c block starting with /* embed.c:"
# shellcheck disable=SC2046
cc -Wall -Wextra -Werror -o "$work/embed" "$work/embed.c" \
	$(pkg-config --cflags --libs libeunomia) -Wl,-rpath,"$libdir" ||
	fail "the README's embed.c does not build with pkg-config alone"

# static: the same program against libeunomia.a, its dependencies from --static (the
# README's second command line); nothing of libeunomia.so may be needed
# shellcheck disable=SC2046
cc -Wall -Wextra -Werror -o "$work/embed-static" "$work/embed.c" \
	$(pkg-config --static --cflags --libs libeunomia | sed 's/-leunomia\b/-l:libeunomia.a/') ||
	fail "the README's embed.c does not link statically with pkg-config --static alone"
if readelf -d "$work/embed-static" | grep -q 'NEEDED.*libeunomia'; then
	fail "embed-static needs libeunomia.so"
fi

# ecc links libeunomia alone: none of the daemon's libraries, no C++ (wabt)
for dep in microhttpd systemd yaml curl protobuf-c stdc++; do
	if readelf -d "$EU_BINARY_DIR/ecc/ecc" | grep -q "NEEDED.*lib$dep"; then
		fail "ecc needs lib$dep: it must link only libeunomia"
	fi
done

pkg=$prefix/share/eunomia/plugins/bootstrap/package.json
[ -f "$pkg" ] || fail "the bootstrap plugin is not installed ($pkg)"
cp /bin/false "$work/eu-embed-probe"
# runs one build of the program until it decodes the probe's exec and exit (the first runs
# may come before the programs are attached)
run_embed() {
	local bin=$1 out=$work/out-$(basename "$1")
	"$bin" "$pkg" 8 >"$out" 2>"$work/err" &
	pid=$!
	local exec_re="\"comm\":\"eu-embed-probe\",\"filename\":\"$work/eu-embed-probe\",\"exit_event\":0"
	local exit_re='"exit_code":1,.*"comm":"eu-embed-probe","filename":"","exit_event":1'
	local ok=
	for _ in $(seq 1 40); do
		sleep 0.25
		kill -0 "$pid" 2>/dev/null || { cat "$work/err"; fail "$bin exited early"; }
		"$work/eu-embed-probe" || true
		if grep -q "$exec_re" "$out" && grep -q "$exit_re" "$out"; then ok=1; break; fi
	done
	{ kill "$pid"; wait "$pid"; } 2>/dev/null || true
	pid=
	[ -n "$ok" ] || { cat "$work/err"; grep eu-embed "$out" | head -4
		fail "$(basename "$bin") did not decode the probe's exec (filename) and exit (exit_code 1)"; }
	echo "$(basename "$bin"): decoded the probe's exec and exit (exit_code 1) through the installed library"
}
run_embed "$work/embed"
run_embed "$work/embed-static"

# the package's options after the seconds reach the kernel: bootstrap with min_duration_ns
# set reports no exec at all, only exits that lasted that long (every process lasts 1 ns)
exit_re='"exit_code":1,.*"comm":"eu-embed-probe","filename":"","exit_event":1'
"$work/embed" "$pkg" 8 --min_duration_ns 1 >"$work/out-param" 2>"$work/err" &
pid=$!
seen=
for _ in $(seq 1 40); do
	sleep 0.25
	kill -0 "$pid" 2>/dev/null || { cat "$work/err"; fail "embed --min_duration_ns 1 exited early"; }
	"$work/eu-embed-probe" || true
	if grep -q "$exit_re" "$work/out-param"; then seen=1; break; fi
done
{ kill "$pid"; wait "$pid"; } 2>/dev/null || true
pid=
[ -n "$seen" ] || { cat "$work/err"; fail "embed --min_duration_ns 1 did not report the probe's exit"; }
if grep -q '"exit_event":0' "$work/out-param"; then
	fail "embed --min_duration_ns 1 reported an exec: the option did not reach the program"
fi
echo "embed: the package option --min_duration_ns reached the program (exits only, no exec)"

# what cannot run says so and exits 1: an unknown option, a missing package
if "$work/embed" "$pkg" 1 --no_such_option 1 >/dev/null 2>"$work/err"; then
	fail "embed accepted an unknown package option"
fi
grep -q "no_such_option" "$work/err" || { cat "$work/err"; fail "the unknown option is not named"; }
if "$work/embed" "$work/no-such-package.json" 1 >/dev/null 2>"$work/err"; then
	fail "embed ran a package that does not exist"
fi
grep -q "no-such-package.json" "$work/err" || { cat "$work/err"; fail "the missing package is not named"; }
echo "embed: an unknown option and a missing package are refused, each named"
