#!/bin/bash
# The README's sink key tables are what `eunomia-agent --help-sinks` prints from the plugins'
# key tables: a key added, renamed or re-described in code without the README fails here.
set -euo pipefail
: "${EU_SOURCE_DIR:?}" "${EU_AGENT_BIN:?}"
help=$(mktemp)
doc=$(mktemp)
trap 'rm -f "$help" "$doc"' EXIT
strip_blank_tail() { sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'; }
"$EU_AGENT_BIN" --help-sinks | strip_blank_tail >"$help"
first=$(head -n1 "$help")
# the README's copy: from the first plugin's heading through the last table row
awk -v first="$first" '
	$0 == first { on = 1 }
	on && /^## / { exit }
	on { print }
' "$EU_SOURCE_DIR/README.md" | strip_blank_tail >"$doc"
[ -s "$doc" ] || { echo "README.md has no '$first' section"; exit 1; }
if ! diff -u "$doc" "$help"; then
	echo "README.md's sink tables differ from --help-sinks (above: - README, + code);"
	echo "paste the output of 'eunomia-agent --help-sinks' into README.md"
	exit 1
fi
echo "README sink tables match --help-sinks ($(grep -c '^| `' "$help") keys)"
