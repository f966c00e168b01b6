#!/usr/bin/env bash
# Tau against redis-server on this machine, both measured by the same client (tau bench), and
# Tau's PING against a no-op TAU server (hack/noopserver: parsing and system calls, no engine).
#
# Pairs of equal durability: Tau TAU_FSYNC=always vs Redis appendfsync always, and Tau
# TAU_FSYNC=interval (1s) vs Redis appendfsync everysec. Each server gets a fresh temp dir.
# For every pipeline depth, APPEND is compared with HSET series<N> <ts> <value> and QUERY_POINT
# with HGET series<N> <ts> (queries ask for points the append phase stored), and Tau's PING with
# the no-op server's. Prints one table row per comparison: ops/s of each, tau ÷ other; server
# CPU per request of each (µs, shown as us/req), tau ÷ other; p99 latency of each; and the
# client's own CPU per request against each (tau bench's user+system time during the test,
# which it reports itself): on 2 cores the client and the server share the CPU, so where the
# servers cost the same per request, the client's cost decides the throughput.
#
# CPU per request is the server's CPU time during the test divided by the requests tau bench
# completed in it (its CSV "requests"). CPU time is utime+stime+cutime+cstime from
# /proc/PID/stat (fields 14-17, clock ticks, getconf CLK_TCK): every thread of the server, and
# the children it has reaped, which is Redis's AOF-rewrite fork (an in-process checkpoint in
# Tau). The window is the test alone: tau bench prints its CSV header once its connections are
# open and the series created (not measured), then each test's row the moment the test ends,
# and the next test starts at once; the script reads /proc as each line arrives, so each
# window is that test, give or take the millisecond the script needs to read the line. A forked
# child's CPU counts when the server reaps it, in the row then running; one still running after
# tau bench exits is waited for and counted in that run's last row.
#
# Knobs (environment): DURATION per test (5s), CONNS (50), PIPELINES ("1 16"), SERIES (100),
# ROWS: the row groups, in order ("always interval ping"; always and interval are the Redis
# pairs above, ping is Tau vs the no-op server).
# Needs Go, and redis-server (installed with apt-get when missing and running as root).
set -euo pipefail

DURATION=${DURATION:-5s}
CONNS=${CONNS:-50}
PIPELINES=${PIPELINES:-"1 16"}
SERIES=${SERIES:-100}
ROWS=${ROWS:-"always interval ping"}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tau-bench.XXXXXX")
PIDS=()

# stop_servers stops only the servers this script started, by their process ids.
stop_servers() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	PIDS=()
}

cleanup() {
	stop_servers
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

start_noop() { # port
	LOGFILE="$WORK/noop.log"
	"$WORK/noopserver" -addr "127.0.0.1:$1" >"$LOGFILE" 2>&1 &
	PIDS+=($!)
	wait_ready --addr "127.0.0.1:$1"
}

# cpu_ticks sets the variable named $1 to the CPU time of process $2 and of the children it
# has reaped, in clock ticks: /proc/PID/stat fields 14-17 (utime stime cutime cstime). One
# read, no subprocess: it runs while the load may already be running.
cpu_ticks() { # variable pid
	local stat f
	read -r stat <"/proc/$2/stat"
	read -r -a f <<<"${stat##*) }" # from field 3 on: the name in parentheses may hold spaces
	printf -v "$1" '%s' "$((f[11] + f[12] + f[13] + f[14]))"
}

# has_child reports whether process $1 has a child, running or not yet reaped (a scan of /proc:
# too slow to run inside a measured window).
has_child() { # pid
	local file stat f
	for file in /proc/[0-9]*/stat; do
		read -r stat 2>/dev/null <"$file" || continue # it may have ended
		f=${stat##*) } # "state ppid ..."
		f=${f#* }
		[[ ${f%% *} == "$1" ]] && return 0
	done
	return 1
}

# measure runs tau bench (tests $2, then extra flags) against the server with process id $1
# and prints one CSV row per test with the server's CPU ticks during that test appended (see
# the top of this file for the window).
measure() { # pid tests extra-flags...
	local pid=$1 tests=$2 line before='' after rows=() ticks=() i
	shift 2
	while IFS= read -r line; do
		cpu_ticks after "$pid"
		if [[ -n $before ]]; then
			rows+=("$line")
			ticks+=($((after - before)))
		fi
		before=$after
	done < <(timeout 120 "$WORK/tau" bench "$@" -c "$CONNS" --series "$SERIES" -t "$tests" \
		-d "$DURATION" --csv -q)
	if ((${#rows[@]} > 0)) && has_child "$pid"; then
		log "waiting for process $pid's child (AOF rewrite), counted in the last row"
		for _ in $(seq 1200); do
			has_child "$pid" || break
			sleep 0.1
		done
		cpu_ticks after "$pid"
		ticks[-1]=$((ticks[-1] + after - before))
	fi
	for i in "${!rows[@]}"; do
		printf '%s,%s\n' "${rows[i]}" "${ticks[i]}"
	done
}

# header prints the column names, the other server being called $1.
header() { # other-name
	printf "%-19s %3s  %-18s %12s %12s %6s %13s %13s %6s %10s %11s %14s %14s\n" durability P test \
		"tau ops/s" "$1 ops/s" ratio "tau us/req" "$1 us/req" ratio "tau p99ms" "$1 p99ms" \
		"client us/req" "(vs $1)"
}

# row prints one comparison from two CSV rows (fields: 6 requests, 7 errors, 9 ops/s, 12 p99 ms,
# 18 tau bench's own CPU seconds; the last: the server's CPU ticks, appended by measure).
row() { # durability pipeline test tau-csv other-csv other-name
	local t=$4 o=$5 a b
	IFS=, read -r -a a <<<"$t"
	IFS=, read -r -a b <<<"$o"
	if ((${#a[@]} < 19 || ${#b[@]} < 19)); then
		log "$3 -P $2: tau bench failed (tau: '$t', $6: '$o')"
		exit 1
	fi
	awk -v d="$1" -v p="$2" -v n="$3" -v other="$6" -v hz="$CLK_TCK" \
		-v ta="${a[8]}" -v oa="${b[8]}" -v tp="${a[11]}" -v op="${b[11]}" -v te="${a[6]}" \
		-v oe="${b[6]}" -v tn="${a[5]}" -v on="${b[5]}" -v tt="${a[-1]}" -v ot="${b[-1]}" \
		-v tk="${a[17]}" -v ok="${b[17]}" 'BEGIN {
		tc = tn > 0 ? tt * 1e6 / hz / tn : 0
		oc = on > 0 ? ot * 1e6 / hz / on : 0
		tk = tn > 0 ? tk * 1e6 / tn : 0
		ok = on > 0 ? ok * 1e6 / on : 0
		printf "%-19s %3s  %-18s %12.0f %12.0f ", d, p, n, ta, oa
		if (oa > 0) printf "%6.2f", ta / oa; else printf "%6s", "-"
		printf " %13.2f %13.2f ", tc, oc
		if (oc > 0) printf "%6.2f", tc / oc; else printf "%6s", "-"
		printf " %10.3f %11.3f %14.2f %14.2f", tp, op, tk, ok
		if (te + oe > 0) printf "   errors tau %d %s %d", te, other, oe
		printf "\n"
	}'
}

# compare_redis runs the APPEND/HSET and QUERY/HGET rows of one durability pair.
compare_redis() { # tau-fsync redis-appendfsync label
	local tport rport tpid rpid p t r
	free_port tport && start_tau "$1" "$tport" && tpid=${PIDS[-1]}
	free_port rport && start_redis "$2" "$rport" && rpid=${PIDS[-1]}
	for p in $PIPELINES; do
		log "$3 -P $p"
		mapfile -t t < <(measure "$tpid" append,query --addr "127.0.0.1:$tport" -P "$p")
		mapfile -t r < <(measure "$rpid" append,query --resp --addr "127.0.0.1:$rport" -P "$p")
		row "$3" "$p" "APPEND vs HSET" "${t[0]:-}" "${r[0]:-}" redis
		row "$3" "$p" "QUERY vs HGET" "${t[1]:-}" "${r[1]:-}" redis
	done
	stop_servers
}

# compare_noop runs the PING rows: Tau (TAU_FSYNC=always; PING never reaches storage) against
# the no-op server.
compare_noop() {
	local tport nport tpid npid p t n
	free_port tport && start_tau always "$tport" && tpid=${PIDS[-1]}
	free_port nport && start_noop "$nport" && npid=${PIDS[-1]}
	for p in $PIPELINES; do
		log "PING -P $p"
		mapfile -t t < <(measure "$tpid" ping --addr "127.0.0.1:$tport" -P "$p")
		mapfile -t n < <(measure "$npid" ping --addr "127.0.0.1:$nport" -P "$p")
		row "none (PING)" "$p" "PING vs no-op PING" "${t[0]:-}" "${n[0]:-}" no-op
	done
	stop_servers
}

main() {
	cd "$ROOT"
	local group shown=''
	for group in $ROWS; do
		case $group in
		always | interval | ping) ;;
		*)
			log "ROWS: unknown row group '$group' (want always, interval, ping)"
			exit 2
			;;
		esac
	done
	if [[ " $ROWS " == *" always "* || " $ROWS " == *" interval "* ]]; then
		ensure_redis
	fi
	CLK_TCK=$(getconf CLK_TCK)
	log "building tau, tau-server and noopserver into $WORK"
	go build -o "$WORK/tau" ./cmd/tau
	go build -o "$WORK/tau-server" ./cmd/tau-server
	go build -o "$WORK/noopserver" ./hack/noopserver

	log "$CONNS connections, pipelines $PIPELINES, $SERIES series, $DURATION per test on $(nproc) cores"
	for group in $ROWS; do
		case $group in
		always | interval)
			[[ $shown == redis ]] || header redis
			shown=redis
			;;
		ping)
			[[ $shown == no-op ]] || header no-op
			shown=no-op
			;;
		esac
		case $group in
		always) compare_redis always always "fsync=always/always" ;;
		interval) compare_redis interval everysec "interval/everysec" ;;
		ping) compare_noop ;;
		esac
	done
}

main "$@"
