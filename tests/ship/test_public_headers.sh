#!/usr/bin/env bash
# Every installed header (include/eunomia, the embedding API) compiles alone in an
# embedder's strictest setting: -std=c11 -pedantic without _GNU_SOURCE, warnings as errors,
# with gcc and with clang. A header that pulls in a library needing POSIX or GNU extensions
# (libuv's <uv.h> wants pthread_rwlock_t) fails here. No root, no build needed.
set -euo pipefail
: "${EU_SOURCE_DIR:?}"
work=$(mktemp -d /tmp/eu-headers-XXXXXX)
trap 'rm -rf "$work"' EXIT
n=0
for cc in gcc clang; do
	command -v "$cc" >/dev/null || { echo "FAIL: $cc is not installed" >&2; exit 1; }
	for h in "$EU_SOURCE_DIR"/include/eunomia/*.h; do
		name=$(basename "$h")
		printf '#include <eunomia/%s>\nint main(void) { return 0; }\n' "$name" >"$work/one.c"
		if ! "$cc" -std=c11 -pedantic -Wall -Wextra -Werror -fsyntax-only \
			-I"$EU_SOURCE_DIR/include" "$work/one.c" 2>"$work/err"; then
			cat "$work/err" >&2
			echo "FAIL: eunomia/$name does not compile alone with $cc -std=c11 -pedantic" >&2
			exit 1
		fi
		n=$((n + 1))
	done
done
echo "ok: $n header compilations (gcc and clang, -std=c11 -pedantic -Werror)"
