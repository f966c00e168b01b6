#!/usr/bin/env bash
# Compares tau-server binaries back to back: for each test and pipeline depth, each binary in
# turn gets a fresh data directory and a run of tau bench, and the script prints its
# throughput and its CPU time per request (utime+stime from /proc/PID/stat during the test,
# divided by the requests completed). Use it to A/B a change: build the binary before and
# after, then
#
#	hack/ab-cpu.sh /tmp/before /tmp/after
#
# Knobs (environment): TESTS ("append query ping"), PIPELINES ("1 16"), ROUNDS (2), CONNS (50),
# SERIES (100), DURATION (5s), FSYNC (always). Queries read points a 2 s append phase wrote.
set -euo pipefail

TESTS=${TESTS:-"append query ping"}
PIPELINES=${PIPELINES:-"1 16"}
ROUNDS=${ROUNDS:-2}
CONNS=${CONNS:-50}
SERIES=${SERIES:-100}
DURATION=${DURATION:-5s}
FSYNC=${FSYNC:-always}

(($# >= 1)) || { echo "usage: $0 TAU-SERVER [TAU-SERVER ...]" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tau-ab.XXXXXX")
PID=
cleanup() {
	[[ -n $PID ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

(cd "$ROOT" && go build -o "$WORK/tau" ./cmd/tau)
HZ=$(getconf CLK_TCK)
printf '%-24s %-7s %3s %12s %12s\n' binary test P "ops/s" "cpu us/req"
for _ in $(seq "$ROUNDS"); do
	for test in $TESTS; do
		for p in $PIPELINES; do
			for bin in "$@"; do
				rm -rf "$WORK/data"
				port=$(free_port) http=$(free_port)
				export TAU_LISTEN_ADDRESS=127.0.0.1:$port
				TAU_FSYNC=$FSYNC TAU_DATA_DIR="$WORK/data" TAU_HTTP_ADDRESS=127.0.0.1:$http TAU_LOG_LEVEL=warn \
					"$bin" 2>"$WORK/server.log" &
				PID=$!
				for _ in $(seq 100); do "$WORK/tau" ping >/dev/null 2>&1 && break; sleep 0.1; done
				if [[ $test == query ]]; then
					"$WORK/tau" bench -t append -c "$CONNS" -P 16 --series "$SERIES" -d 2s -q >/dev/null
				fi
				before=$(ticks "$PID")
				row=$("$WORK/tau" bench -t "$test" -c "$CONNS" -P "$p" --series "$SERIES" -d "$DURATION" --csv -q | tail -1)
				after=$(ticks "$PID")
				kill "$PID"
				wait "$PID" 2>/dev/null || true
				PID=
				IFS=, read -r -a f <<<"$row"
				awk -v b="$bin" -v t="$test" -v p="$p" -v ops="${f[8]}" -v n="${f[5]}" -v d="$((after - before))" -v hz="$HZ" \
					'BEGIN { printf "%-24s %-7s %3s %12.0f %12.2f\n", b, t, p, ops, (n > 0 ? d * 1e6 / hz / n : 0) }'
			done
		done
	done
done
