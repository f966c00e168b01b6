#!/usr/bin/env bash
# Lint and render the Helm chart and the kustomize base, for reading or feeding to other
# validators (kubeconform, kube-linter, ...). The checks live in hack/k8s/test
# (`make test-deploy`); this script only shows what the chart makes.
#
#   hack/k8s/render.sh [OUT_DIR]      # default .tools/render
#
# Writes OUT_DIR/chart-defaults.yaml, chart-full.yaml (charts/tau/ci/full-values.yaml),
# chart-cluster.yaml (cluster mode: replicaCount=3, with the NetworkPolicy) and deploy.yaml. Uses $HELM and $KUSTOMIZE (else .tools/bin, else $PATH; kustomize falls
# back to `kubectl kustomize`).
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$root/.tools/render}"
pick() { # pick VAR NAME
	local v="${!1:-}"
	if [ -n "$v" ]; then echo "$v"; elif [ -x "$root/.tools/bin/$2" ]; then echo "$root/.tools/bin/$2"; else command -v "$2" || true; fi
}
helm="$(pick HELM helm)"
kustomize="$(pick KUSTOMIZE kustomize)"
[ -n "$helm" ] || { echo "render.sh: helm not found (make k8s-tools)" >&2; exit 1; }

mkdir -p "$out"
chart="$root/charts/tau"
"$helm" lint --strict "$chart" --set certificate.generate=true
"$helm" lint --strict "$chart" --values "$chart/ci/full-values.yaml"
"$helm" lint --strict "$chart" --set certificate.generate=true,replicaCount=3,networkPolicy.enabled=true
"$helm" template tau "$chart" --namespace tau --set certificate.generate=true >"$out/chart-defaults.yaml"
"$helm" template tau "$chart" --namespace tau --values "$chart/ci/full-values.yaml" >"$out/chart-full.yaml"
"$helm" template tau "$chart" --namespace tau --set certificate.generate=true,replicaCount=3,networkPolicy.enabled=true \
	>"$out/chart-cluster.yaml"
if [ -n "$kustomize" ]; then
	"$kustomize" build "$root/deploy" >"$out/deploy.yaml"
else
	kubectl kustomize "$root/deploy" >"$out/deploy.yaml"
fi
echo "rendered into $out:"
ls -1 "$out"
