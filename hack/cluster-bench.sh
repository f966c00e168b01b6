#!/usr/bin/env bash
# Issue 19's measurements, in one run on this machine: tau bench against one node and against
# a 3-member cluster on loopback (APPEND and QUERY_POINT at P=1 and P=16, APPEND_BATCH
# points/s), the time writes take to resume over FAILOVERS leader SIGKILLs (median, worst),
# the time a member that missed CATCHUP points takes to serve them all, and each process' RSS.
# Every server gets a fresh temp dir; all run with TAU_FSYNC=always.
#
# Knobs (environment): DURATION per test (5s), CONNS (50), FAILOVERS (20), CATCHUP (10000000),
# SKIP ("" or any of "bench failover catchup").
set -euo pipefail

DURATION=${DURATION:-5s}
CONNS=${CONNS:-50}
FAILOVERS=${FAILOVERS:-20}
CATCHUP=${CATCHUP:-10000000}
SKIP=${SKIP:-}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tau-cluster-bench.XXXXXX")
declare -A PID
cleanup() {
	for p in "${PID[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT

(cd "$ROOT" && go build -o "$WORK/bin/" ./cmd/tau-server ./cmd/tau)
SERVER=$WORK/bin/tau-server
TAU=$WORK/bin/tau

# Ports: member i listens on 1770i (TAU), 1780i (HTTP), 1790i (peers); the single node on
# 17711 / 17811.
IC="m0=127.0.0.1:17900,m1=127.0.0.1:17901,m2=127.0.0.1:17902"

start_member() { # i [TAU_INITIAL_CLUSTER]
	local i=$1 ic=${2:-$IC}
	TAU_INITIAL_CLUSTER=$ic TAU_NODE_NAME=m$i TAU_PEER_ADDRESS=127.0.0.1:1790$i \
		TAU_LISTEN_ADDRESS=127.0.0.1:1770$i TAU_HTTP_ADDRESS=127.0.0.1:1780$i \
		TAU_DATA_DIR=$WORK/m$i TAU_LOG_LEVEL=warn "$SERVER" >>"$WORK/m$i.log" 2>&1 &
	PID[m$i]=$!
}

ready() { # http address
	until curl -sf "http://$1/readyz" >/dev/null; do sleep 0.05; done
}

leader() {
	for i in 0 1 2; do
		if curl -s "http://127.0.0.1:1780$i/metrics" 2>/dev/null | grep -q '^tau_cluster_is_leader 1'; then
			echo "$i"
			return
		fi
	done
}

rss() { awk '/VmRSS/ {printf "%.0f MiB", $2/1024}' "/proc/$1/status"; }

bench() { # label addr
	"$TAU" bench --addr "$2" -q --csv -d "$DURATION" -c "$CONNS" -P "$3" -t "$4" -series 100 --timeout 10m |
		awk -F, -v who="$1" -v p="$3" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
			{ printf "%-8s %-7s P=%-3s %12.0f ops/s %12.0f points/s  p99 %s\n", who, $col["test"], p, $col["requests_per_second"], $col["points_per_second"], $col["p99_ms"] " ms" }'
}

if [[ " $SKIP " != *" bench "* ]]; then
	echo "== tau bench, one node and 3 members, $DURATION per test, $CONNS connections"
	TAU_LISTEN_ADDRESS=127.0.0.1:17711 TAU_HTTP_ADDRESS=127.0.0.1:17811 TAU_DATA_DIR=$WORK/single \
		TAU_LOG_LEVEL=warn "$SERVER" >>"$WORK/single.log" 2>&1 &
	PID[single]=$!
	ready 127.0.0.1:17811
	for i in 0 1 2; do start_member "$i"; done
	for i in 0 1 2; do ready "127.0.0.1:1780$i"; done
	L=$(leader)
	while [[ -z $L ]]; do sleep 0.05; L=$(leader); done
	F=$(((L + 1) % 3))
	for p in 1 16; do
		bench "1 node" 127.0.0.1:17711 "$p" append,query
		bench "3/lead" "127.0.0.1:1770$L" "$p" append,query
		bench "3/follow" "127.0.0.1:1770$F" "$p" append,query
	done
	bench "1 node" 127.0.0.1:17711 4 batch
	bench "3/lead" "127.0.0.1:1770$L" 4 batch
	echo "RSS: one node $(rss "${PID[single]}"); members $(rss "${PID[m0]}"), $(rss "${PID[m1]}"), $(rss "${PID[m2]}")"
	kill -9 "${PID[single]}" "${PID[m0]}" "${PID[m1]}" "${PID[m2]}"
	wait 2>/dev/null || true
	unset 'PID[single]'
	rm -rf "$WORK"/m* "$WORK/single"
fi

if [[ " $SKIP " != *" failover "* ]]; then
	echo "== failover: $FAILOVERS SIGKILLs of the leader; time until a survivor acknowledges a write"
	for i in 0 1 2; do start_member "$i"; done
	for i in 0 1 2; do ready "127.0.0.1:1780$i"; done
	"$TAU" --addr 127.0.0.1:17700 --timeout 10s create failover >/dev/null
	times=()
	for k in $(seq 1 "$FAILOVERS"); do
		L=$(leader)
		while [[ -z $L ]]; do sleep 0.05; L=$(leader); done
		F=$(((L + 1) % 3))
		kill -9 "${PID[m$L]}"
		wait "${PID[m$L]}" 2>/dev/null || true
		t0=$(date +%s%N)
		until "$TAU" --addr "127.0.0.1:1770$F" --timeout 10s append failover "$k" "$k" >/dev/null 2>&1; do sleep 0.01; done
		t1=$(date +%s%N)
		times+=($(((t1 - t0) / 1000000)))
		start_member "$L"
		ready "127.0.0.1:1780$L"
	done
	printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "failover over %d kills: median %d ms, worst %d ms (all: ", NR, (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2), a[NR]; for (i = 1; i <= NR; i++) printf "%s%d", (i > 1 ? " " : ""), a[i]; print ")" }'
	for i in 0 1 2; do kill -9 "${PID[m$i]}" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$WORK"/m*
fi

if [[ " $SKIP " != *" catchup "* ]]; then
	echo "== catch-up: a member down while $CATCHUP points are written, then restarted"
	for i in 0 1 2; do start_member "$i"; done
	for i in 0 1 2; do ready "127.0.0.1:1780$i"; done
	L=$(leader)
	while [[ -z $L ]]; do sleep 0.05; L=$(leader); done
	D=$(((L + 1) % 3))
	kill -9 "${PID[m$D]}"
	wait "${PID[m$D]}" 2>/dev/null || true
	"$TAU" bench --addr "127.0.0.1:1770$L" -q --csv -n "$((CATCHUP / 1000))" -c 8 -P 4 -t batch -points 1000 -series 100 --even --timeout 30m |
		awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next } { printf "written: %.0f points/s\n", $col["points_per_second"] }'
	t0=$(date +%s%N)
	start_member "$D"
	ready "127.0.0.1:1780$D"
	t1=$(date +%s%N)
	have=0
	for s in $(seq 0 99); do
		n=$("$TAU" --addr "127.0.0.1:1770$D" --timeout 60s info "series$s" | awk '/^points/ { print $2 }')
		have=$((have + n))
	done
	echo "catch-up: ready after $(((t1 - t0) / 1000000)) ms, serving $have points; RSS: members $(rss "${PID[m0]}"), $(rss "${PID[m1]}"), $(rss "${PID[m2]}")"
	du -sh "$WORK"/m* | tr '\n' ' '
	echo
fi
