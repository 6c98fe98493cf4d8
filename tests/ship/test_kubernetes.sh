#!/usr/bin/env bash
# deploy/kubernetes offline: yamllint, `kubectl kustomize` (client-side build of the
# kustomization; kubectl is not in Debian 12, so it runs only where installed), and
# check_k8s_schema.py: every object against a JSON schema of the Kubernetes API types used
# (closed objects: a misspelt field fails), and check_deploy.py: what the agent relies on, the
# ConfigMap's config and the DaemonSet's arguments fed to the built agent's --check-config.
set -euo pipefail
: "${EU_SOURCE_DIR:?}"
cd "$EU_SOURCE_DIR/deploy"
command -v yamllint >/dev/null || { echo "FAIL: yamllint is missing (Debian package yamllint)"; exit 1; }
yamllint -s -c .yamllint . && echo "yamllint: deploy/ clean"
if command -v kubectl >/dev/null; then
	out=$(kubectl kustomize kubernetes/) || { echo "FAIL: kubectl kustomize"; exit 1; }
	kinds=$(grep -c '^kind:' <<<"$out")
	[ "$kinds" -ge 8 ] || { echo "FAIL: kustomize produced $kinds objects"; exit 1; }
	echo "kubectl kustomize: $kinds objects"
else
	echo "kubectl is not installed (not in Debian 12): kustomize build not checked"
fi
python3 -c 'import jsonschema' 2>/dev/null ||
	{ echo "FAIL: python3-jsonschema is missing (Debian package python3-jsonschema)"; exit 1; }
python3 "$EU_SOURCE_DIR/tests/ship/check_k8s_schema.py" kubernetes
python3 "$EU_SOURCE_DIR/tests/ship/check_deploy.py" kubernetes
