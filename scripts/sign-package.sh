#!/usr/bin/env bash
# Signs eunomia packages for an agent started with --require-signatures DIR.
#
#   scripts/sign-package.sh genkey NAME          # NAME.key (private, 0600) + NAME.pem (public:
#                                                # copy it into the agent's trusted-keys DIR)
#   scripts/sign-package.sh sign KEY FILE...     # writes FILE.sig (raw 64-byte ed25519)
#   scripts/sign-package.sh verify PEM FILE...   # checks FILE.sig as the agent will
#
# The signature covers the file's exact bytes; re-sign after any change. Put FILE.sig in the
# watched directory before FILE (or rename FILE into place last).
set -euo pipefail

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[ $# -ge 2 ] || usage
cmd=$1; shift
case "$cmd" in
genkey)
  name=$1
  (umask 077 && openssl genpkey -algorithm ed25519 -out "$name.key")
  openssl pkey -in "$name.key" -pubout -out "$name.pem"
  echo "private key: $name.key  public key: $name.pem"
  ;;
sign)
  key=$1; shift
  [ $# -ge 1 ] || usage
  for f in "$@"; do
    openssl pkeyutl -sign -inkey "$key" -rawin -in "$f" -out "$f.sig.tmp"
    mv "$f.sig.tmp" "$f.sig"
    echo "signed $f -> $f.sig"
  done
  ;;
verify)
  pem=$1; shift
  [ $# -ge 1 ] || usage
  rc=0
  for f in "$@"; do
    if openssl pkeyutl -verify -pubin -inkey "$pem" -rawin -in "$f" -sigfile "$f.sig" >/dev/null; then
      echo "$f: good signature"
    else
      echo "$f: BAD signature" >&2; rc=1
    fi
  done
  exit $rc
  ;;
*) usage ;;
esac
