#!/usr/bin/env bash
# Runs a freshly built tau-server on free loopback ports, sends it some traffic with the tau CLI
# (good and bad requests, so every metric family has samples), and checks its /metrics with
# `promtool check metrics`. Usage: hack/check-metrics.sh PROMTOOL
set -euo pipefail
promtool=$1
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/tau-metrics.XXXXXX")
pid=
cleanup() {
	[[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

cd "$root"
go build -o "$work/tau-server" ./cmd/tau-server
go build -o "$work/tau" ./cmd/tau
port=$(free_port) http=$(free_port)
TAU_LISTEN_ADDRESS=127.0.0.1:$port TAU_HTTP_ADDRESS=127.0.0.1:$http TAU_DATA_DIR="$work/data" \
	TAU_LOG_LEVEL=warn "$work/tau-server" 2>"$work/server.log" &
pid=$!
export TAU_LISTEN_ADDRESS=127.0.0.1:$port
for _ in $(seq 100); do "$work/tau" ping >/dev/null 2>&1 && break; sleep 0.1; done
"$work/tau" create metrics.check >/dev/null
"$work/tau" append metrics.check 1 0.5 >/dev/null
"$work/tau" append metrics.check 1 0.5 >/dev/null 2>&1 || true # out_of_order, on purpose
"$work/tau" query nosuch 1 >/dev/null 2>&1 || true              # series_not_found
"$work/tau" bench -c 4 -n 2000 -t append,query,ping -q >/dev/null
curl -fsS "http://127.0.0.1:$http/metrics" >"$work/metrics.txt"
families=$(grep -c '^# TYPE tau_' "$work/metrics.txt")
"$promtool" check metrics <"$work/metrics.txt"
echo "check-metrics: promtool check metrics passed on $families tau_ metric families"

# The Grafana dashboard's queries must be valid PromQL: promtool parses them as recording rules
# (Grafana's variables replaced by plain values first). Rows have no queries; a collapsed row
# holds its panels.
python3 - "$root/deploy/grafana/tau-dashboard.json" >"$work/dashboard-rules.yml" <<'PY'
import json, sys
dash = json.load(open(sys.argv[1]))
panels = [q for p in dash["panels"] for q in [p] + p.get("panels", [])]
print("groups:\n- name: dashboard\n  rules:")
for p in panels:
    for i, t in enumerate(p.get("targets", [])):
        expr = t["expr"].replace("$__rate_interval", "5m").replace("$job", ".*").replace("$instance", ".*")
        print("  - record: dashboard:panel%d_%d" % (p["id"], i))
        print("    expr: %s" % json.dumps(expr))
PY
"$promtool" check rules "$work/dashboard-rules.yml"
