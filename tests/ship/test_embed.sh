#!/usr/bin/env bash
# libeunomia as an embedder meets it: `cmake --install` into a scratch prefix, then the
# README's embedding program built with `pkg-config --cflags --libs libeunomia` alone and run
# on the installed bootstrap plugin until it decodes an exec and an exit that this test
# caused (checked by value). Also: the exported symbols are exactly the functions of the
# installed headers, each header compiles on its own, and the library pulls in no daemon
# dependency (microhttpd, systemd, yaml, curl). Root: the program loads BPF.
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

# exported symbols == functions declared in the installed headers
incdir=$(pkg-config --variable=includedir libeunomia)
grep -ho '\beu_[a-z0-9_]*(' "$incdir"/eunomia/*.h | tr -d '(' | sort -u >"$work/declared"
nm -D --defined-only "$so" | awk '$2 == "T" {sub(/@.*/, "", $3); print $3}' | sort -u >"$work/exported"
if ! diff -u "$work/declared" "$work/exported" >"$work/exports.diff"; then
	cat "$work/exports.diff"
	fail "libeunomia.so's exports differ from include/eunomia/*.h (update agent/libeunomia.map)"
fi
echo "exports: $(wc -l <"$work/exported") functions, as declared"

for dep in microhttpd systemd yaml curl; do
	if ldd "$so" | grep -q "lib$dep"; then fail "libeunomia.so links lib$dep"; fi
done
for h in "$incdir"/eunomia/*.h; do
	echo "#include <eunomia/$(basename "$h")>" >"$work/one.c"
	# shellcheck disable=SC2046
	cc -Wall -Werror -fsyntax-only $(pkg-config --cflags libeunomia) "$work/one.c" ||
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

pkg=$prefix/share/eunomia/plugins/bootstrap/package.json
[ -f "$pkg" ] || fail "the bootstrap plugin is not installed ($pkg)"
"$work/embed" "$pkg" 8 >"$work/out" 2>"$work/err" &
pid=$!
cp /bin/false "$work/eu-embed-probe"
# the first runs may come before the programs are attached: run the probe until both its
# exec and its exit have been decoded
exec_re="\"comm\":\"eu-embed-probe\",\"filename\":\"$work/eu-embed-probe\",\"exit_event\":0"
exit_re='"exit_code":1,.*"comm":"eu-embed-probe","filename":"","exit_event":1'
ok=
for _ in $(seq 1 40); do
	sleep 0.25
	kill -0 "$pid" 2>/dev/null || { cat "$work/err"; fail "embed exited early"; }
	"$work/eu-embed-probe" || true
	if grep -q "$exec_re" "$work/out" && grep -q "$exit_re" "$work/out"; then ok=1; break; fi
done
[ -n "$ok" ] || { cat "$work/err"; grep eu-embed "$work/out" | head -4
	fail "embed did not decode the probe's exec (filename) and exit (exit_code 1)"; }
echo "embed: decoded the probe's exec and exit (exit_code 1) through the installed library"
