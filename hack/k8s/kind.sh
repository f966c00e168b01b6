#!/usr/bin/env bash
# A local Kubernetes cluster with kind, running Tau from the chart: a recipe for a developer
# machine with Docker, kind, kubectl and helm (it cannot run where there is no Docker engine;
# `make test-k8s` checks the chart against a bare API server instead).
#
#   hack/k8s/kind.sh up       # cluster "tau", image built and loaded, chart installed, helm test
#   hack/k8s/kind.sh ping     # port-forward the Service and `tau ping` through it
#   hack/k8s/kind.sh down     # delete the cluster
#
# Environment: KIND_CLUSTER (tau), NAMESPACE (tau), IMAGE (ghcr.io/taudb/tau:dev),
# DOCKERFILE (Dockerfile), HELM (helm), KUBECTL (kubectl), TAU (tau, the CLI, for ping).
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
cluster="${KIND_CLUSTER:-tau}"
ns="${NAMESPACE:-tau}"
image="${IMAGE:-ghcr.io/taudb/tau:dev}"
dockerfile="${DOCKERFILE:-$root/Dockerfile}"
helm="${HELM:-helm}"
kubectl="${KUBECTL:-kubectl}"
tau="${TAU:-tau}"
ctx="kind-$cluster"

up() {
	if ! kind get clusters | grep -qx "$cluster"; then
		kind create cluster --name "$cluster" --wait 120s
	fi
	# .dockerignore keeps .git out of the context: the version goes in as build args.
	docker build -t "$image" -f "$dockerfile" \
		--build-arg VERSION="$(git -C "$root" describe --tags --always --dirty 2>/dev/null || echo devel)" \
		--build-arg REVISION="$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)" \
		--build-arg BUILD_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$root"
	kind load docker-image "$image" --name "$cluster"
	# The namespace enforces Pod Security "restricted", as the tests do.
	"$kubectl" --context "$ctx" create namespace "$ns" --dry-run=client -o yaml |
		"$kubectl" --context "$ctx" apply -f -
	"$kubectl" --context "$ctx" label --overwrite namespace "$ns" \
		pod-security.kubernetes.io/enforce=restricted pod-security.kubernetes.io/warn=restricted
	"$helm" --kube-context "$ctx" upgrade --install tau "$root/charts/tau" --namespace "$ns" \
		--set image.repository="${image%:*}" --set image.tag="${image##*:}" --set image.pullPolicy=Never \
		--set certificate.generate=true \
		--wait --timeout 5m
	"$helm" --kube-context "$ctx" test tau --namespace "$ns" --logs
}

ping() {
	local cert
	cert="$(mktemp)"
	trap 'rm -f "$cert"; kill "${pf:-0}" 2>/dev/null || true' EXIT
	"$kubectl" --context "$ctx" -n "$ns" get secret tau-certificate -o jsonpath='{.data.certificate}' | base64 -d >"$cert"
	"$kubectl" --context "$ctx" -n "$ns" port-forward svc/tau 7701:7701 7702:7702 >/dev/null &
	pf=$!
	sleep 2
	curl -fsS http://127.0.0.1:7702/readyz && echo
	"$tau" --addr 127.0.0.1:7701 --cert-file "$cert" ping
}

down() {
	kind delete cluster --name "$cluster"
}

case "${1:-}" in
up | ping | down) "$1" ;;
*)
	sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
