#!/usr/bin/env bash
# OCI registries as users meet them: three real registries (Debian's docker-registry) on
# loopback — open, HTTP Basic (htpasswd), and Bearer tokens from a token service (as Docker
# Hub and GHCR do it) — and `push`, `pull`, `run REF` against them, checked by value: the
# bytes round-trip, the run decodes an exec this test caused, the manifest says what the
# layer is, upstream ecli's Wasm manifest is read, and a missing tag, a corrupted blob and
# refused logins each fail with exit 1 and a message that names the cause. Root (BPF).
set -euo pipefail
: "${EU_AGENT_BIN:?}" "${EU_PLUGIN_BUILD_DIR:?}" "${EU_SOURCE_DIR:?}"
fail() { echo "FAIL: $*" >&2; exit 1; }
for tool in docker-registry htpasswd openssl curl /usr/bin/python3; do
	command -v "$tool" >/dev/null || fail "$tool is missing (scripts/install-deps.sh installs it)"
done
/usr/bin/python3 -c 'import jwt, cryptography' 2>/dev/null ||
	fail "python3-jwt and python3-cryptography are missing (scripts/install-deps.sh)"

A=$EU_AGENT_BIN
PKG=$EU_PLUGIN_BUILD_DIR/bootstrap/package.json
work=$(mktemp -d /tmp/eu-oci-XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do { kill "$p"; wait "$p"; } 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
	for _ in $(seq 1 100); do
		curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
		sleep 0.1
	done
	fail "nothing listens on 127.0.0.1:$1 ($2)"
}
# registry NAME PORT [AUTH-YAML]
registry() {
	mkdir -p "$work/$1"
	cat >"$work/$1/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $work/$1/data
http:
  addr: 127.0.0.1:$2
${3:-}
YAML
	docker-registry serve "$work/$1/config.yml" >"$work/$1/log" 2>&1 &
	pids+=($!)
	wait_port "$2" "registry $1"
}
probe_seen() { # probe_seen PATTERN FILE: run the probe until FILE shows PATTERN (10 s at most)
	for _ in $(seq 1 40); do
		sleep 0.25
		"$work/eu-oci-probe" || true
		grep -q -- "$1" "$2" 2>/dev/null && return 0
	done
	return 1
}
expect_fail() { # expect_fail PATTERN CMD...: exit 1 and PATTERN in stderr
	local pat=$1
	shift
	local rc=0
	"$@" >"$work/out" 2>"$work/err" || rc=$?
	[ "$rc" -eq 1 ] || fail "'$*' exited $rc, expected 1: $(cat "$work/err")"
	grep -q -- "$pat" "$work/err" || fail "'$*' did not say '$pat': $(cat "$work/err")"
}

open_port=$(free_port)
registry open "$open_port"
R=localhost:$open_port

# 1. push, then pull: the same bytes, the digest printed, the media type in the manifest
ref_out=$("$A" push "$PKG" "$R/eunomia/bootstrap:v1" 2>"$work/err") || fail "push: $(cat "$work/err")"
case "$ref_out" in "$R/eunomia/bootstrap:v1@sha256:"*) ;; *) fail "push printed '$ref_out'" ;; esac
digest=${ref_out#*@}
"$A" pull "$R/eunomia/bootstrap:v1" -o "$work/pulled.json" 2>"$work/err" || fail "pull: $(cat "$work/err")"
cmp -s "$PKG" "$work/pulled.json" || fail "the pulled package differs from the pushed one"
manifest=$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
	"http://$R/v2/eunomia/bootstrap/manifests/v1")
echo "$manifest" | grep -q '"mediaType":"application/vnd.eunomia.package.v1+json"' ||
	fail "the layer's media type is not ours: $manifest"
# by digest, and into the layer's own file name by default
(cd "$work" && mkdir -p cwd && cd cwd && "$A" pull "$R/eunomia/bootstrap@$digest" 2>"$work/err") ||
	fail "pull by digest: $(cat "$work/err")"
cmp -s "$PKG" "$work/cwd/package.json" || fail "pull by digest did not write ./package.json"
echo "ok: push/pull round-trip ($digest)"

# 2. run REF: events decoded by value
cp /bin/false "$work/eu-oci-probe"
"$A" run "$R/eunomia/bootstrap:v1" --json --duration 8 >"$work/run.out" 2>"$work/run.err" &
run_pid=$!
pids+=("$run_pid")
probe_seen "\"comm\":\"eu-oci-probe\",\"filename\":\"$work/eu-oci-probe\"" "$work/run.out" || fail "run REF decoded no exec of the probe: $(cat "$work/run.err")"
kill -INT "$run_pid"
wait "$run_pid" || fail "run REF exited non-zero after SIGINT: $(cat "$work/run.err")"
echo "ok: run REF decoded the probe's exec"

# 3. what goes wrong says so
expect_fail "no tag nope in repository eunomia/bootstrap" "$A" pull "$R/eunomia/bootstrap:nope" -o -
expect_fail "no tag nope" "$A" run "$R/eunomia/bootstrap:nope"
layer=$(echo "$manifest" | sed 's/.*"layers":\[{[^}]*"digest":"sha256:\([0-9a-f]*\)".*/\1/')
blob=$work/open/data/docker/registry/v2/blobs/sha256/${layer:0:2}/$layer/data
[ -f "$blob" ] || fail "cannot find the layer's blob in the registry's storage ($blob)"
printf 'X' | dd of="$blob" bs=1 seek=100 conv=notrunc status=none
expect_fail "do not match the manifest" "$A" pull "$R/eunomia/bootstrap:v1" -o "$work/bad.json"
[ ! -e "$work/bad.json" ] || fail "a corrupted layer was written to disk"
expect_fail "not a package (JSON), a .tar package or a Wasm module" "$A" push /bin/true "$R/x/y:v1"
echo "ok: missing tag, corrupted blob and a non-package are refused"

# 4. Wasm modules, and upstream ecli's manifest (wasm config type, empty config blob)
printf '\0asm\1\0\0\0' >"$work/tiny.wasm"
"$A" push "$work/tiny.wasm" "$R/eunomia/tiny:v1" >/dev/null 2>"$work/err" || fail "push wasm: $(cat "$work/err")"
curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$R/v2/eunomia/tiny/manifests/v1" |
	grep -q '"mediaType":"application/vnd.wasm.content.layer.v1+wasm"' || fail "the module's layer type is not Wasm's"
(cd "$work/cwd" && "$A" pull "$R/eunomia/tiny:v1" 2>"$work/err") || fail "pull wasm: $(cat "$work/err")"
cmp -s "$work/tiny.wasm" "$work/cwd/tiny.wasm" || fail "the pulled module differs"
# as upstream's ecli pushes: wasm config media type over an empty config blob
up=$work/upstream.wasm
printf '\0asm\1\0\0\0\0\0\0\0' >"$up"
up_digest=sha256:$(sha256sum "$up" | cut -d' ' -f1)
empty_digest=sha256:$(printf '' | sha256sum | cut -d' ' -f1)
for blob_file in "$up" /dev/null; do
	d=sha256:$(sha256sum <"$blob_file" | cut -d' ' -f1)
	loc=$(curl -s -D - -o /dev/null -X POST "http://$R/v2/upstream/mod/blobs/uploads/" |
		tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
	case "$loc" in /*) loc=http://$R$loc ;; esac
	sep='?'
	case "$loc" in *'?'*) sep='&' ;; esac
	curl -sf -X PUT -H 'Content-Type: application/octet-stream' --data-binary @"$blob_file" \
		"$loc${sep}digest=${d/:/%3A}" >/dev/null || fail "uploading an upstream-style blob"
done
cat >"$work/up-manifest.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.wasm.config.v1+json","digest":"$empty_digest","size":0},"layers":[{"mediaType":"application/vnd.wasm.content.layer.v1+wasm","digest":"$up_digest","size":$(stat -c %s "$up")}]}
JSON
curl -sf -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
	--data-binary @"$work/up-manifest.json" "http://$R/v2/upstream/mod/manifests/latest" >/dev/null ||
	fail "storing an upstream-style manifest"
"$A" pull "$R/upstream/mod:latest" -o "$work/up-pulled.wasm" 2>"$work/err" || fail "pull upstream's: $(cat "$work/err")"
cmp -s "$up" "$work/up-pulled.wasm" || fail "upstream's module came back different"
echo "ok: Wasm modules, ours and upstream's manifests"

# 4b. run REF of a Wasm module (one of our wasm-bpf test modules): the image's bytes say it is
# a module, which then runs and prints the bootstrap rows, the probe's exec among them
module=$EU_PLUGIN_BUILD_DIR/../tests/wasm/bootstrap.wasm
[ -f "$module" ] || fail "the test module $module is not built"
"$A" push "$module" "$R/eunomia/wasmboot:v1" >/dev/null 2>"$work/err" || fail "push module: $(cat "$work/err")"
"$A" run "$R/eunomia/wasmboot:v1" >"$work/wrun.out" 2>"$work/wrun.err" &
wrun_pid=$!
pids+=("$wrun_pid")
probe_seen "EXEC  eu-oci-probe .*$work/eu-oci-probe" "$work/wrun.out" || fail "run REF of a module printed no exec row of the probe: $(head -3 "$work/wrun.out"; cat "$work/wrun.err")"
head -1 "$work/wrun.out" | grep -q '^TIME     EVENT COMM' || fail "the module's header row is missing"
kill -INT "$wrun_pid"
wait "$wrun_pid" || true
echo "ok: run REF of a Wasm module"

# 5. HTTP Basic (htpasswd): no login, a wrong one, --user, the docker config
basic_port=$(free_port)
htpasswd -Bbn alice s3cret >"$work/htpasswd" 2>/dev/null
registry basic "$basic_port" "auth:
  htpasswd:
    realm: eunomia-test
    path: $work/htpasswd"
B=localhost:$basic_port
expect_fail "asks for a login" "$A" push "$PKG" "$B/team/bootstrap:v1"
expect_fail "refused the login of the user from --user" "$A" push "$PKG" "$B/team/bootstrap:v1" --user alice:wrong
"$A" push "$PKG" "$B/team/bootstrap:v1" --user alice:s3cret >/dev/null 2>"$work/err" || fail "basic push: $(cat "$work/err")"
mkdir -p "$work/docker"
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$B" "$(printf alice:s3cret | base64)" >"$work/docker/config.json"
DOCKER_CONFIG=$work/docker "$A" pull "$B/team/bootstrap:v1" -o "$work/basic.json" 2>"$work/err" ||
	fail "pull with the docker config's login: $(cat "$work/err")"
cmp -s "$PKG" "$work/basic.json" || fail "basic: the pulled package differs"
expect_fail "asks for a login" env HOME="$work" DOCKER_CONFIG= "$A" pull "$B/team/bootstrap:v1" -o -
echo "ok: HTTP Basic logins"

# 6. Bearer tokens from a token service
token_port=$(free_port)
reg_port=$(free_port)
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -days 2 \
	-subj "/CN=eunomia-test-token" 2>/dev/null
/usr/bin/python3 "$EU_SOURCE_DIR/tests/integration/oci/token_server.py" "$token_port" \
	"$work/key.pem" "$work/cert.pem" bob:hunter2 eunomia-test eunomia-registry >"$work/ts.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$token_port/" && break; sleep 0.1; done
registry token "$reg_port" "auth:
  token:
    realm: http://127.0.0.1:$token_port/token
    service: eunomia-registry
    issuer: eunomia-test
    rootcertbundle: $work/cert.pem"
T=localhost:$reg_port
expect_fail "asks for a login for a token" "$A" push "$PKG" "$T/team/bootstrap:v1"
expect_fail "login refused by http://127.0.0.1:$token_port/token" "$A" push "$PKG" "$T/team/bootstrap:v1" -u bob:nope
"$A" push "$PKG" "$T/team/bootstrap:v1" -u bob:hunter2 >/dev/null 2>"$work/err" || fail "bearer push: $(cat "$work/err")"
EUNOMIA_REGISTRY_USER=bob:hunter2 "$A" pull "$T/team/bootstrap:v1" -o "$work/token.json" 2>"$work/err" ||
	fail "bearer pull: $(cat "$work/err")"
cmp -s "$PKG" "$work/token.json" || fail "bearer: the pulled package differs"
echo "ok: Bearer tokens"

# 6b. TLS: a registry with a certificate of its own CA: refused without --ca-file, trusted
# with it (and https is tried first on loopback, http only when the registry has no TLS)
tls_port=$(free_port)
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/tls.key" -out "$work/tls.crt" -days 2 \
	-subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
mkdir -p "$work/tls"
cat >"$work/tls/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $work/tls/data
http:
  addr: 127.0.0.1:$tls_port
  tls:
    certificate: $work/tls.crt
    key: $work/tls.key
YAML
docker-registry serve "$work/tls/config.yml" >"$work/tls/log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -sk -o /dev/null "https://127.0.0.1:$tls_port/v2/" && break; sleep 0.1; done
S=localhost:$tls_port
expect_fail "certificate" "$A" push "$PKG" "$S/team/bootstrap:v1"
"$A" push "$PKG" "$S/team/bootstrap:v1" --ca-file "$work/tls.crt" >/dev/null 2>"$work/err" ||
	fail "TLS push with --ca-file: $(cat "$work/err")"
EUNOMIA_REGISTRY_CA_FILE=$work/tls.crt "$A" pull "$S/team/bootstrap:v1" -o "$work/tls.json" 2>"$work/err" ||
	fail "TLS pull: $(cat "$work/err")"
cmp -s "$PKG" "$work/tls.json" || fail "TLS: the pulled package differs"
echo "ok: TLS registries"

# 7. the daemon's API loads an image (POST /v1/programs?image=REF, `ctl load REF`), pulled on
# its thread pool, with the signature rule of files
d=$work/daemon
mkdir -p "$d/watch" "$d/keys"
(cd "$d" && bash "$EU_SOURCE_DIR/scripts/sign-package.sh" genkey "$d/keys/team" >/dev/null)
rm -f "$d/keys/team.key.pub"
# other bytes than the package above, whose blob this test corrupted in the registry
{ cat "$PKG"; echo; } >"$d/signed.json"
(cd "$d" && bash "$EU_SOURCE_DIR/scripts/sign-package.sh" sign "$d/keys/team.key" "$d/signed.json" >/dev/null)
mv "$d/keys/team.key" "$d/team.key"
"$A" --watch "$d/watch" --api "unix:$d/sock" --sink "file:$d/events.jsonl" \
	--require-signatures "$d/keys" >"$d/out" 2>"$d/err" &
daemon_pid=$!
pids+=("$daemon_pid")
for _ in $(seq 1 100); do [ -S "$d/sock" ] && break; sleep 0.1; done
[ -S "$d/sock" ] || fail "the daemon's API socket did not appear: $(cat "$d/err")"
ctl() { "$A" ctl --api "unix:$d/sock" "$@"; }
"$A" push "$d/signed.json" "$R/eunomia/signed:v1" >/dev/null 2>"$work/err" || fail "push signed: $(cat "$work/err")"
expect_fail "signature" ctl load "$R/eunomia/signed:v1" --name img
ctl load "$R/eunomia/signed:v1" --name img --sig "$d/signed.json.sig" >"$d/load.json" 2>"$work/err" ||
	fail "ctl load REF: $(cat "$work/err")"
grep -q '"name":"img".*"state":"loaded"' "$d/load.json" || fail "ctl load REF answered $(cat "$d/load.json")"
expect_fail "no tag nope" ctl load "$R/eunomia/signed:nope" --name img2
probe_seen "\"comm\":\"eu-oci-probe\",\"filename\":\"$work/eu-oci-probe\"" "$d/events.jsonl" || fail "the image loaded through the API recorded no exec of the probe: $(head -c 600 "$d/events.jsonl" 2>&1; tail -5 "$d/err")"
# a Wasm module image: the same signature rule; named after the repository; it runs on its
# own thread and its rows reach the sink as records
cp "$module" "$d/wboot.wasm"
(cd "$d" && bash "$EU_SOURCE_DIR/scripts/sign-package.sh" sign "$d/team.key" "$d/wboot.wasm" >/dev/null)
"$A" push "$d/wboot.wasm" "$R/eunomia/wboot:v1" >/dev/null 2>"$work/err" || fail "push module: $(cat "$work/err")"
expect_fail "signature" ctl load "$R/eunomia/wboot:v1"
ctl load "$R/eunomia/wboot:v1" --sig "$d/wboot.wasm.sig" >"$d/wload.json" 2>"$work/err" ||
	fail "ctl load REF of a module: $(cat "$work/err")"
grep -q '"name":"wboot".*"state":"loaded"' "$d/wload.json" || fail "ctl load REF of a module answered $(cat "$d/wload.json")"
probe_seen "\"package\":\"wboot\".*\"event\":\"stdout\".*EXEC  eu-oci-probe  *[0-9][0-9]*  *[0-9][0-9]*  *$work/eu-oci-probe\"" "$d/events.jsonl" ||
	fail "the module image loaded through the API recorded no exec row of the probe: $(grep wboot "$d/events.jsonl" | head -3; tail -5 "$d/err")"
ctl unload wboot >/dev/null 2>"$work/err" || fail "ctl unload wboot: $(cat "$work/err")"
kill -TERM "$daemon_pid"
wait "$daemon_pid" || fail "the daemon exited non-zero: $(tail -5 "$d/err")"
echo "ok: the API loads images, packages and modules (signature required, missing tag refused)"
echo "oci registry: all checks passed"
