#!/usr/bin/env bash
# Tau against redis-server on this machine, both measured by the same client (tau bench).
#
# Pairs of equal durability: Tau TAU_FSYNC=always vs Redis appendfsync always, and Tau
# TAU_FSYNC=interval (1s) vs Redis appendfsync everysec. Each server gets a fresh temp dir.
# For every pipeline depth, APPEND is compared with HSET series<N> <ts> <value> and QUERY_POINT
# with HGET series<N> <ts> (queries ask for points the append phase stored). Prints one table
# row per comparison: ops/s of each, tau ÷ redis, and p99 latency of each.
#
# Knobs (environment): DURATION per test (5s), CONNS (50), PIPELINES ("1 16"), SERIES (100).
# Needs Go, and redis-server (installed with apt-get when missing and running as root).
set -euo pipefail

DURATION=${DURATION:-5s}
CONNS=${CONNS:-50}
PIPELINES=${PIPELINES:-"1 16"}
SERIES=${SERIES:-100}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tau-bench.XXXXXX")
PIDS=()

cleanup() {
	# Only the servers this script started, by their process ids.
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "bench: $*" >&2; }

ensure_redis() {
	command -v redis-server >/dev/null && return
	if [[ $(id -u) -ne 0 ]]; then
		log "redis-server is missing; install it (apt-get install redis-server) or run as root"
		exit 1
	fi
	log "installing redis-server with apt-get"
	apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
}

# free_port sets the variable named $1 to a loopback port nothing listens on, from 20000 up.
# (It assigns instead of printing: a $(...) subshell would not advance NEXT_PORT.)
NEXT_PORT=20000
free_port() {
	while (exec 3<>"/dev/tcp/127.0.0.1/$NEXT_PORT") 2>/dev/null; do
		NEXT_PORT=$((NEXT_PORT + 1))
	done
	printf -v "$1" '%s' "$NEXT_PORT"
	NEXT_PORT=$((NEXT_PORT + 1))
}

# wait_ready runs a one-request bench until the server answers (10 s at most).
wait_ready() {
	for _ in $(seq 100); do
		if "$WORK/tau" bench "$@" -c 1 -n 1 -t ping -q >/dev/null 2>&1; then
			return
		fi
		sleep 0.1
	done
	log "server $* did not come up; its log:"
	tail -n 20 "$LOGFILE" >&2 || true
	exit 1
}

start_tau() { # fsync-mode port
	local dir="$WORK/tau-$1" http
	mkdir -p "$dir"
	free_port http
	LOGFILE="$dir.log"
	TAU_FSYNC=$1 TAU_DATA_DIR="$dir" TAU_LISTEN_ADDRESS="127.0.0.1:$2" \
		TAU_HTTP_ADDRESS="127.0.0.1:$http" TAU_LOG_LEVEL=warn \
		"$WORK/tau-server" >"$LOGFILE" 2>&1 &
	PIDS+=($!)
	wait_ready --addr "127.0.0.1:$2"
}

start_redis() { # appendfsync-mode port
	local dir="$WORK/redis-$1"
	mkdir -p "$dir"
	LOGFILE="$dir.log"
	redis-server --bind 127.0.0.1 --port "$2" --dir "$dir" --save '' \
		--appendonly yes --appendfsync "$1" --logfile "$LOGFILE" --daemonize no &
	PIDS+=($!)
	wait_ready --resp --addr "127.0.0.1:$2"
}

# measure prints tau bench's CSV rows (no header) for append then query.
measure() { # extra-flags...
	timeout 120 "$WORK/tau" bench "$@" -c "$CONNS" --series "$SERIES" -t append,query \
		-d "$DURATION" --csv -q | tail -n +2
}

# row prints one comparison from two CSV rows (fields: 7 errors, 9 ops/s, 12 p99 ms).
row() { # durability pipeline test tau-csv redis-csv
	local t=$4 r=$5
	IFS=, read -r -a a <<<"$t"
	IFS=, read -r -a b <<<"$r"
	awk -v d="$1" -v p="$2" -v n="$3" -v ta="${a[8]}" -v ra="${b[8]}" -v tp="${a[11]}" \
		-v rp="${b[11]}" -v te="${a[6]}" -v re="${b[6]}" 'BEGIN {
		printf "%-18s %3s  %-18s %12.0f %12.0f %7.2f %10.3f %10.3f", d, p, n, ta, ra, ta / ra, tp, rp
		if (te + re > 0) printf "   errors tau %d redis %d", te, re
		printf "\n"
	}'
}

main() {
	cd "$ROOT"
	ensure_redis
	log "building tau and tau-server into $WORK"
	go build -o "$WORK/tau" ./cmd/tau
	go build -o "$WORK/tau-server" ./cmd/tau-server

	local tau_always tau_interval redis_always redis_everysec
	free_port tau_always && start_tau always "$tau_always"
	free_port tau_interval && start_tau interval "$tau_interval"
	free_port redis_always && start_redis always "$redis_always"
	free_port redis_everysec && start_redis everysec "$redis_everysec"

	log "$CONNS connections, pipelines $PIPELINES, $SERIES series, $DURATION per test on $(nproc) cores"
	printf "%-18s %3s  %-18s %12s %12s %7s %10s %10s\n" durability P test \
		"tau ops/s" "redis ops/s" ratio "tau p99ms" "redis p99ms"
	local p pair name tport rport t r
	for pair in "always:$tau_always:$redis_always:fsync=always/always" \
		"interval:$tau_interval:$redis_everysec:interval/everysec"; do
		IFS=: read -r _ tport rport name <<<"$pair"
		for p in $PIPELINES; do
			log "$name -P $p"
			mapfile -t t < <(measure --addr "127.0.0.1:$tport" -P "$p")
			mapfile -t r < <(measure --resp --addr "127.0.0.1:$rport" -P "$p")
			row "$name" "$p" "APPEND vs HSET" "${t[0]}" "${r[0]}"
			row "$name" "$p" "QUERY vs HGET" "${t[1]}" "${r[1]}"
		done
	done
}

main "$@"
