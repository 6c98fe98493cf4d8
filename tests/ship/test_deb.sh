#!/usr/bin/env bash
# The .deb: built by cpack from this build, its control data (Depends from the libraries we
# really link, conffiles, maintainer scripts), its file list; installed with dpkg into a
# scratch root (maintainer scripts run chrootless with DPKG_ROOT), the installed unit
# verified there, and the installed agent run on the installed bootstrap plugin until it
# records an exec; then purged. Needs root (BPF), dpkg-dev (dpkg-shlibdeps) and cpack.
set -euo pipefail
: "${EU_BINARY_DIR:?}" "${EU_SOURCE_DIR:?}"
fail() { echo "FAIL: $*" >&2; exit 1; }
for tool in cpack dpkg-deb dpkg-shlibdeps dpkg lintian; do
	command -v "$tool" >/dev/null || fail "$tool is missing (scripts/install-deps.sh installs it)"
done

work=$(mktemp -d /tmp/eu-ship-deb-XXXXXX)
agent_pid=
cleanup() {
	[ -n "$agent_pid" ] && kill -9 "$agent_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# 1. build the package from this build tree
(cd "$EU_BINARY_DIR" && cpack -G DEB -B "$work/out") >"$work/cpack.log" 2>&1 ||
	{ cat "$work/cpack.log"; fail "cpack -G DEB failed"; }
deb=$(ls "$work"/out/eunomia-agent_*.deb)
echo "built $(basename "$deb") and $(cd "$work/out" && ls libeunomia*.deb | tr '\n' ' ')"

# lintian, as a distribution would run it: no errors or warnings in any of the packages
# (informational tags such as hardening flags are printed, not failed on)
lintian --fail-on error,warning --tag-display-limit 0 "$work"/out/*.deb >"$work/lintian.log" 2>&1 ||
	{ cat "$work/lintian.log"; fail "lintian"; }
grep -v 'running with root privileges' "$work/lintian.log" || true
for pkg in eunomia-agent libeunomia0 libeunomia-dev; do
	[ -f "$work/out/${pkg}_$(dpkg-deb -f "$deb" Version)_$(dpkg-deb -f "$deb" Architecture).deb" ] ||
		fail "package $pkg was not built"
done

# the Debian package owning a library (merged /usr: dpkg knows one of /lib and /usr/lib)
pkg_of() {
	local real p
	real=$(readlink -f "$1")
	for p in "$real" "$1" "${real#/usr}" "/usr${1#/usr}" "${1#/usr}" "/usr${real#/usr}"; do
		if dpkg -S "$p" >/dev/null 2>&1; then
			dpkg -S "$p" | awk -F: 'NR == 1 {print $1}'
			return 0
		fi
	done
}

# 2. control: every library the binaries link comes from a Debian package named in Depends
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
[ "$(dpkg-deb -f "$deb" Package)" = eunomia-agent ] || fail "package name"
dpkg-deb -x "$deb" "$work/x"
for bin in eunomia-agent ecc; do
	libs=$(readelf -d "$work/x/usr/bin/$bin" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p')
	[ -n "$libs" ] || fail "$bin: no NEEDED libraries read"
	for lib in $libs; do
		path=$(ldconfig -p | awk -v l="$lib" '$1 == l && !p {print $NF; p = 1}')
		[ -n "$path" ] || fail "$bin: $lib not found by ldconfig"
		pkg=$(pkg_of "$path")
		[ -n "$pkg" ] || fail "$lib: no Debian package owns $path"
		# the name as a literal (libstdc++6 has regex characters)
		grep -Eq "(^|, )$(sed 's/[][\.*^$+?(){}|]/\\&/g' <<<"$pkg")( |,|$)" <<<"$depends" ||
			fail "$bin links $lib (package $pkg) but Depends lacks it: $depends"
	done
done
mkdir "$work/ctrl"
dpkg-deb -e "$deb" "$work/ctrl"
grep -qx /etc/eunomia/eunomia.yaml "$work/ctrl/conffiles" || fail "eunomia.yaml is not a conffile"
for s in postinst prerm postrm; do
	[ -x "$work/ctrl/$s" ] || fail "maintainer script $s missing"
done

# 3. the file list
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's#^\./#/#; s#/$##' >"$work/files"
want=(/usr/bin/eunomia-agent /usr/bin/ecli /usr/bin/ecc /etc/eunomia/eunomia.yaml /etc/eunomia.d
      /usr/lib/systemd/system/eunomia-agent.service /usr/share/doc/eunomia-agent/README.md
      /usr/share/doc/eunomia-agent/copyright /usr/share/doc/eunomia-agent/changelog.gz
      /usr/share/man/man1/eunomia-agent.1.gz /usr/share/man/man1/ecc.1.gz
      /usr/share/man/man1/ecli.1.gz)
for p in bootstrap opensnoop runqlat sigsnoop tcpstates bashreadline unlinksnoop; do
	want+=("/usr/share/eunomia/plugins/$p/package.json")
done
for f in "${want[@]}"; do
	grep -qx "$f" "$work/files" || fail "$f is not in the package: $(cat "$work/files")"
done
if grep -q "/usr/local\|$EU_BINARY_DIR" "$work/files"; then fail "build paths in the package"; fi
# the library is in its own packages, not in the agent's
if grep -q "libeunomia\|/usr/include" "$work/files"; then fail "library files in eunomia-agent"; fi
# stripped, with a debug link to the debug information kept in the build tree
for bin in eunomia-agent ecc; do
	readelf -S "$work/x/usr/bin/$bin" >"$work/sections"
	if grep -q '\.symtab\|\.debug_info' "$work/sections"; then fail "$bin is not stripped"; fi
	grep -q '\.gnu_debuglink' "$work/sections" || fail "$bin has no debug link"
done
zcat "$work/x/usr/share/man/man1/eunomia-agent.1.gz" | grep -q 'Usage: eunomia.-agent' ||
	fail "the eunomia-agent manual page lacks the --watch usage"

# 4. install into a scratch root with dpkg itself (scripts chrootless: DPKG_ROOT is set)
root=$work/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/triggers"
touch "$root/var/lib/dpkg/status"
dpkg --root="$root" --log=/dev/null --force-depends --force-script-chrootless -i "$deb" \
	>"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -i into $root"; }
[ "$(dpkg-query --root="$root" -W -f='${Status}' eunomia-agent)" = "install ok installed" ] ||
	fail "not installed: $(dpkg-query --root="$root" -W eunomia-agent)"
[ -d "$root/etc/eunomia.d" ] || fail "/etc/eunomia.d missing"
[ -z "$(ls -A "$root/etc/eunomia.d")" ] || fail "/etc/eunomia.d not empty"
[ "$(readlink "$root/usr/bin/ecli")" = eunomia-agent ] || fail "ecli is not a link to eunomia-agent"
# (into files first: grep -q closing a pipe early would make pipefail hide a match)
readelf -d "$root/usr/bin/eunomia-agent" >"$work/dynamic"
if grep -q 'RPATH\|RUNPATH' "$work/dynamic"; then fail "installed agent has an rpath"; fi
env -u LD_LIBRARY_PATH ldd "$root/usr/bin/eunomia-agent" >"$work/ldd"
if grep -q "not found" "$work/ldd"; then fail "unresolved libraries: $(cat "$work/ldd")"; fi
grep -q '^ExecStart=/usr/bin/eunomia-agent --config /etc/eunomia/eunomia.yaml$' \
	"$root/usr/lib/systemd/system/eunomia-agent.service" || fail "installed unit's ExecStart"

# 5. the installed unit passes systemd-analyze verify in that root (host units for targets)
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$root/lib/systemd" "$root/bin"
	cp -a /lib/systemd/system "$root/lib/systemd/"
	cp /bin/kill "$root/bin/kill"
	out=$(systemd-analyze verify --root="$root" --man=no \
		/usr/lib/systemd/system/eunomia-agent.service 2>&1) || fail "verify: $out"
	[ -z "$out" ] || fail "verify warnings: $out"
	rm -rf "$root/lib/systemd/system" "$root/bin/kill"
else
	fail "systemd-analyze is not installed (scripts/install-deps.sh installs systemd)"
fi

# 6. the installed agent: its default config validates, and it runs the installed plugin
(cd "$root" && "$root/usr/bin/eunomia-agent" --check-config --config "$root/etc/eunomia/eunomia.yaml") \
	>"$work/check.log" 2>&1 || { cat "$work/check.log"; fail "--check-config of the default config"; }
grep -q "OK: 1 watch directory, 1 sink" "$work/check.log" || fail "check: $(cat "$work/check.log")"
bash "$EU_SOURCE_DIR/scripts/mount-fs.sh" >/dev/null 2>&1 || true
mkdir -p "$work/watch" "$work/bin"
cp "$root/usr/share/eunomia/plugins/bootstrap/package.json" "$work/watch/bootstrap.json"
exe=$work/bin/eu_deb_$$
cp /bin/true "$exe"
"$root/usr/bin/eunomia-agent" --watch "$work/watch" --sink "file:$work/events.jsonl" \
	>"$work/agent.out" 2>"$work/agent.err" &
agent_pid=$!
deadline=$((SECONDS + 60))
until grep -q "ready:" "$work/agent.err"; do
	kill -0 "$agent_pid" 2>/dev/null || fail "agent exited: $(cat "$work/agent.err")"
	[ $SECONDS -lt $deadline ] || fail "agent not ready: $(cat "$work/agent.err")"
	sleep 0.1
done
grep -q "ready: watching 1 directory, 1 package loaded, 0 failed" "$work/agent.err" ||
	fail "$(cat "$work/agent.err")"
until [ -s "$work/events.jsonl" ] && grep -q "\"filename\":\"$exe\"" "$work/events.jsonl"; do
	kill -0 "$agent_pid" 2>/dev/null || fail "agent exited: $(cat "$work/agent.err")"
	[ $SECONDS -lt $deadline ] || fail "no exec record of $exe: $(tail -5 "$work/events.jsonl" 2>/dev/null)"
	"$exe"
	sleep 0.2
done
line=$(grep -m1 "\"filename\":\"$exe\"" "$work/events.jsonl")
grep -q '"package":"bootstrap"' <<<"$line" || fail "record: $line"
kill -TERM "$agent_pid"
wait "$agent_pid" || fail "agent exit code $? after SIGTERM: $(cat "$work/agent.err")"
agent_pid=
echo "installed agent recorded: $line"

# 7. purge: files, the empty /etc/eunomia.d and the conffile go
dpkg --root="$root" --log=/dev/null --force-script-chrootless -P eunomia-agent \
	>"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -P"; }
for f in /usr/bin/eunomia-agent /etc/eunomia.d /etc/eunomia/eunomia.yaml \
	 /usr/lib/systemd/system/eunomia-agent.service; do
	[ ! -e "$root$f" ] || fail "$f left after purge"
done
echo "PASS: deb build, control, files, dpkg install, unit verify, installed agent run, purge"
