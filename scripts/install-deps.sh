#!/usr/bin/env bash
# Installs everything eunomia-agent needs to build, run and test on Debian 12.
# Idempotent: packages already present are skipped by apt; safe to run on every CI pass.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ca-certificates curl
  libbpf-dev libelf-dev zlib1g-dev libdeflate-dev libisal-dev libuv1-dev libcurl4-openssl-dev
  libprotobuf-c-dev protobuf-c-compiler protobuf-compiler openssl libcjson-dev libcriterion-dev libssl-dev libyaml-dev
  libmicrohttpd-dev
  clang llvm bpftool libclang-rt-14-dev
  # issue 15: the Wasm runtime (wabt's interpreter) and building wasm32-wasi test modules
  wabt wasi-libc lld libclang-rt-14-dev-wasm32 xxd
  iproute2 procps bash python3
  # issue 11: <sys/sdt.h> for the USDT attach test
  systemtap-sdt-dev
  # issue 5: promtool (check metrics) and a real Prometheus server for the metrics tests
  prometheus
  libsystemd-dev systemd dpkg-dev yamllint python3-yaml util-linux
  # issue 12: the Kubernetes manifests validated against a schema of the API types they use
  python3-jsonschema
  # the .debs: manual pages from --help, and lintian in the tests
  help2man lintian
  # issue 15: OCI registries for the pull/push/run REF tests (open, htpasswd and token auth)
  docker-registry apache2-utils openssl python3-jwt python3-cryptography
  # the OTLP/gRPC tests: a real gRPC server (grpcio) with the official protos (python3-protobuf)
  python3-grpcio python3-protobuf
  # the README's code blocks found by a CommonMark parser (tests/ship/test_readme_blocks.py)
  cmark
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: need root to install: ${missing[*]}" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
