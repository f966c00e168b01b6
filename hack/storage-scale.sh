#!/usr/bin/env bash
# Storage at scale: what N points cost a freshly built tau-server, measured from outside (the
# built binaries, environment variables, /proc and the HTTP port only), so that it measures any
# storage engine the same way.
#
#   hack/storage-scale.sh N            N points (e.g. 10000000, 300000000)
#   hack/storage-scale.sh --retention  TAU_RETENTION against the same load without it
#
# N mode: SERIES (1,000) series of N / SERIES points each, 10 s apart from 2025-01-01 (a
# random walk rounded to 2 decimals, the same on every run), written by `tau bench` over CONNS
# (8) connections with DEPTH (1024) requests in flight each (OP=append: pipelined APPENDs; OP=batch:
# APPEND_BATCHes of BATCH points), TAU_FSYNC=interval. It reports the ingest rate, RssAnon of the
# server (/proc/PID/status) after the load and after a clean restart, the data directory's size
# after the clean stop (du) per point, the clean-stop time (SIGTERM to exit) and the
# restart-to-ready time (exec to /readyz 200), SAMPLE (100) points read back after the restart
# with `tau query --bits` against the bits `tau bench --record` wrote down as it sent them, and
# QUERY_POINT latency over CONNS connections, one request in flight each, on old points (the
# first tenth of every series) against the newest NEW_POINTS (32, in the head) as a ratio.
#
# --retention: DAYS (4.6) of 10 s points for SERIES series, once without retention and once
# with TAU_RETENTION=RETENTION (48h). Reports the disk of each after a clean stop and their
# ratio (target <= 0.6), and checks before and after a clean restart that SAMPLE points older
# than each series' newest minus the retention are not found and SAMPLE kept ones (the one
# exactly at the boundary among them) are found with their exact bits. A server whose
# `tau-server --help` does not list TAU_RETENTION is refused at once (RETENTION_FORCE=1 runs it
# anyway: the checks then show what such a server does); one that refuses the value at start
# fails with its log.
#
# Knobs (environment, defaults in parentheses): SERIES (1000), CONNS (8), DEPTH (1024), OP
# (append or batch), BATCH (1000), VALUES (walk; gauge moves on one point in ten; index is
# tau bench's default i × 0.25), STEP (10, seconds), START (2025-01-01T00:00:00Z), SAMPLE (100),
# QUERIES (20000 per window), NEW_POINTS (32), DAYS (4.6), RETENTION (48h: a whole number of s,
# m, h or d), READY_TIMEOUT and STOP_TIMEOUT (900 s), KEEP, RETENTION_FORCE.
#
# Everything lives in a temporary directory (TMPDIR), removed at the end (KEEP=1 keeps it).
# Exit 0 when every check passed, 1 when one failed, 2 for usage.
set -euo pipefail

SERIES=${SERIES:-1000}
CONNS=${CONNS:-8}
DEPTH=${DEPTH:-1024}
OP=${OP:-append}
BATCH=${BATCH:-1000}
STEP=${STEP:-10} # seconds between a series' points
START=${START:-2025-01-01T00:00:00Z}
VALUES=${VALUES:-walk}
SAMPLE=${SAMPLE:-100}
QUERIES=${QUERIES:-20000}
NEW_POINTS=${NEW_POINTS:-32}
DAYS=${DAYS:-4.6}
RETENTION=${RETENTION:-48h}
READY_TIMEOUT=${READY_TIMEOUT:-900} # seconds
STOP_TIMEOUT=${STOP_TIMEOUT:-900}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tau-storage-scale.XXXXXX")
PID=     # the running server's process id
LOGFILE= # its log
FAILED=0

cleanup() {
	local rc=$?
	if [[ -n $PID ]]; then
		kill -TERM "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	if [[ $rc -ne 0 && $rc -ne 2 && $FAILED -eq 0 ]]; then
		log "stopped with exit code $rc"
		show_log
	fi
	if [[ ${KEEP:-0} == 1 ]]; then
		log "kept $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "storage-scale: $*" >&2; }

# fail prints the server's log tail and stops the script.
fail() {
	FAILED=1
	log "FAILED: $*"
	show_log
	exit 1
}

show_log() {
	if [[ -n $LOGFILE && -s $LOGFILE ]]; then
		echo "---- last 30 lines of $(basename "$LOGFILE") ----" >&2
		tail -n 30 "$LOGFILE" >&2
		echo "----" >&2
	fi
}

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

now_ns() { date +%s%N; }

# secs formats a nanosecond interval as seconds with 3 decimals.
secs() { awk -v ns="$1" 'BEGIN { printf "%.3f", ns / 1e9 }'; }

# duration_s turns 48h, 2d, 90m or 30s into seconds.
duration_s() {
	local n=${1%[smhd]} unit=${1: -1}
	[[ $n =~ ^[0-9]+$ ]] || {
		log "RETENTION=$1: want a whole number of s, m, h or d"
		exit 2
	}
	case $unit in
	s) echo "$n" ;;
	m) echo $((n * 60)) ;;
	h) echo $((n * 3600)) ;;
	d) echo $((n * 86400)) ;;
	*)
		log "RETENTION=$1: want a whole number of s, m, h or d"
		exit 2
		;;
	esac
}

# ---- the server ----

# start_server NAME DATA [VAR=VALUE...] starts tau-server on fresh loopback ports with data in
# DATA, waits for /readyz 200 and sets PID, ADDR, HTTP and READY_NS (exec to ready, ns).
start_server() {
	local name=$1 data=$2 t0 code
	shift 2
	local extra="$*"
	ADDR=127.0.0.1:$(free_port)
	HTTP=127.0.0.1:$(free_port)
	LOGFILE=$WORK/$name.log
	t0=$(now_ns)
	env TAU_LISTEN_ADDRESS="$ADDR" TAU_HTTP_ADDRESS="$HTTP" TAU_DATA_DIR="$data" \
		TAU_FSYNC=interval TAU_LOG_FORMAT=console "$@" "$WORK/bin/tau-server" >>"$LOGFILE" 2>&1 &
	PID=$!
	while :; do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://$HTTP/readyz" || true)
		if [[ $code == 200 ]]; then
			break
		fi
		if ! alive "$PID"; then
			local rc=0
			wait "$PID" || rc=$?
			PID=
			fail "tau-server ($name) exited with code $rc before it was ready${extra:+ (started with $extra: does it refuse that?)}"
		fi
		if (($(now_ns) - t0 > READY_TIMEOUT * 1000000000)); then
			fail "tau-server ($name) not ready after ${READY_TIMEOUT}s"
		fi
		sleep 0.01
	done
	READY_NS=$(($(now_ns) - t0))
}

# alive: the process exists and has not exited (a zombie waiting for wait is dead).
alive() {
	local state
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ -n $state && $state != Z ]]
}

# stop_server sends SIGTERM, waits for the exit and sets STOP_NS; a non-zero exit fails.
stop_server() {
	local t0 rc=0
	t0=$(now_ns)
	kill -TERM "$PID"
	while alive "$PID"; do
		if (($(now_ns) - t0 > STOP_TIMEOUT * 1000000000)); then
			fail "tau-server did not exit within ${STOP_TIMEOUT}s of SIGTERM"
		fi
		sleep 0.01
	done
	STOP_NS=$(($(now_ns) - t0))
	wait "$PID" || rc=$?
	PID=
	[[ $rc -eq 0 ]] || fail "tau-server exited with code $rc after SIGTERM"
}

rss_anon_kb() { awk '/^RssAnon:/ { print $2 }' "/proc/$PID/status"; }

# metric NAME: the value of an unlabelled metric on /metrics.
metric() {
	curl -fsS --max-time 10 "http://$HTTP/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}

# du_bytes DIR: allocated bytes; du_apparent DIR: the files' sizes.
du_bytes() { du -sB1 "$1" | cut -f1; }
du_apparent() { du -sb "$1" | cut -f1; }

tau() { "$WORK/bin/tau" --addr "$ADDR" "$@"; }

# ---- load and checks ----

# load N RECORD_FILE RECORD_AT: SERIES series of N / SERIES points each, with tau bench; sets
# LOAD_PPS and LOAD_DESC.
load() {
	local n=$1 rec=$2 at=$3 out=$WORK/load.json
	local -a args=(-c "$CONNS" -P "$DEPTH" --series "$SERIES" --even --start "$START" --step "${STEP}s"
		--values "$VALUES" --record "$rec" --record-at "$at" --json -q)
	if [[ $OP == batch ]]; then
		args+=(-t batch --points "$BATCH" -n $((n / BATCH)))
		LOAD_DESC="APPEND_BATCH of $BATCH points, -c $CONNS -P $DEPTH"
	else
		args+=(-t append -n "$n")
		LOAD_DESC="APPEND, -c $CONNS -P $DEPTH"
	fi
	log "loading $n points ($SERIES series × $((n / SERIES)), $LOAD_DESC)"
	tau bench "${args[@]}" >"$out" || fail "tau bench could not load the points: $(cat "$out")"
	LOAD_PPS=$(python3 - "$out" "$OP" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))[0]
if r["errors"]:
    sys.exit("tau bench: %d errors %s" % (r["errors"], r["error_kinds"]))
print("%.0f" % (r["points_per_second"] if sys.argv[2] == "batch" else r["requests_per_second"]))
PY
) || fail "the load had errors"
	log "loaded: $LOAD_PPS points/s"
}

# pick FILE K [FILTER]: K lines of FILE, the same ones on every run; FILTER "lt TS" or "ge TS"
# keeps the lines whose timestamp is before TS, or TS and after.
pick() {
	python3 - "$@" <<'PY'
import random, sys
path, k = sys.argv[1], int(sys.argv[2])
lines = sorted(l for l in open(path).read().splitlines() if l)
if len(sys.argv) > 3:
    op, ts = sys.argv[3], int(sys.argv[4])
    lines = [l for l in lines if (int(l.split()[1]) < ts) == (op == "lt")]
random.seed(42)
print("\n".join(random.sample(lines, min(k, len(lines)))))
PY
}

# readback FILE EXPECT: queries every "LABEL TS BITS" line of FILE; EXPECT "bits": counts the
# answers with exactly BITS; "absent": counts the "(not found)" answers. Sets GOOD and TOTAL,
# and logs the first few others.
readback() {
	local file=$1 expect=$2 label ts bits got shown=0
	GOOD=0 TOTAL=0
	while read -r label ts bits; do
		TOTAL=$((TOTAL + 1))
		got=$(tau query --bits "$label" "$ts" 2>&1) || true
		if [[ ($expect == bits && $got == "$bits") || ($expect == absent && $got == "(not found)") ]]; then
			GOOD=$((GOOD + 1))
		elif ((shown < 5)); then
			shown=$((shown + 1))
			if [[ $expect == bits ]]; then
				log "  $label at $ts: got '$got', sent $bits"
			else
				log "  $label at $ts: got '$got', want (not found): it is older than the retention"
			fi
		fi
	done <"$file"
}

# query_latency NAME FROM TO: QUERY_POINTs of points with FROM <= ts < TO; sets P50 P99 QPS MISS.
query_latency() {
	local name=$1 from=$2 to=$3 out=$WORK/query-$1.json
	tau bench -t query -c "$CONNS" -P 1 --series "$SERIES" -n "$QUERIES" --start "$START" --step "${STEP}s" \
		--from "$from" --to "$to" --json -q >"$out" || fail "tau bench -t query ($name): $(cat "$out")"
	read -r P50 P99 QPS MISS < <(python3 - "$out" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))[0]
print(r["latency_ms"]["p50"], r["latency_ms"]["p99"], "%.0f" % r["requests_per_second"], r["not_found"])
PY
)
	log "queries on $name points: p50 $P50 ms, p99 $P99 ms, $QPS/s, $MISS not found"
}

build() {
	log "building tau-server and tau"
	mkdir -p "$WORK/bin"
	(cd "$ROOT" && go build -o "$WORK/bin/" ./cmd/tau-server ./cmd/tau)
	START_NS=$(python3 -c 'import sys, datetime; print(int(datetime.datetime.fromisoformat(sys.argv[1].replace("Z", "+00:00")).timestamp()) * 10**9)' "$START")
}

mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
per_point() { awk -v b="$1" -v n="$2" 'BEGIN { printf "%.3f", b / n }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# ---- N mode ----

scale() {
	local n=$1 m at data=$WORK/data
	m=$((n / SERIES))
	((m >= 20)) || {
		log "N=$n: want at least 20 points a series ($((20 * SERIES)))"
		exit 2
	}
	((n % SERIES == 0)) || {
		log "N=$n must be a multiple of SERIES=$SERIES"
		exit 2
	}
	if [[ $OP == batch ]] && ((m % BATCH != 0)); then
		log "OP=batch: N / SERIES ($m) must be a multiple of BATCH=$BATCH"
		exit 2
	fi
	build
	# Indices recorded in every series: both ends and spread in between.
	at="0,1,$((m / 7)),$((2 * m / 7)),$((3 * m / 7)),$((4 * m / 7)),$((5 * m / 7)),$((6 * m / 7)),$((m - 2)),$((m - 1))"

	start_server first "$data"
	local ready_first=$READY_NS
	load "$n" "$WORK/recorded.txt" "$at"
	local rss_load heap_load
	rss_load=$(rss_anon_kb)
	heap_load=$(metric go_memstats_heap_inuse_bytes)
	log "after the load: RssAnon $rss_load kB, Go heap in use $heap_load bytes"

	stop_server
	local stop1=$STOP_NS disk disk_apparent
	disk=$(du_bytes "$data")
	disk_apparent=$(du_apparent "$data")
	log "clean stop in $(secs "$stop1") s; data directory $disk bytes (apparent $disk_apparent) in $(find "$data" -type f | wc -l) files, the largest:"
	find "$data" -type f -printf '%s\t%P\n' | sort -rn | head -n 5 | sed 's/^/    /' >&2

	start_server restart "$data"
	local ready2=$READY_NS rss_restart heap_restart
	rss_restart=$(rss_anon_kb)
	heap_restart=$(metric go_memstats_heap_inuse_bytes)
	log "restart to ready in $(secs "$ready2") s; RssAnon $rss_restart kB, Go heap in use $heap_restart bytes"

	pick "$WORK/recorded.txt" "$SAMPLE" >"$WORK/sample.txt"
	readback "$WORK/sample.txt" bits
	local matched=$GOOD sampled=$TOTAL
	log "read back after the restart: $matched of $sampled exact"

	local old_to new_from end p50_old p99_old qps_old miss_old
	old_to=$((START_NS + (m / 10) * STEP * 1000000000))
	new_from=$((START_NS + (m - NEW_POINTS) * STEP * 1000000000))
	end=$((START_NS + m * STEP * 1000000000))
	query_latency old "$START_NS" "$old_to"
	p50_old=$P50 p99_old=$P99 qps_old=$QPS miss_old=$MISS
	query_latency new "$new_from" "$end"
	stop_server

	local ok=PASS
	if ((matched != sampled)); then
		ok="FAIL: $((sampled - matched)) of $sampled points read back wrong"
		FAILED=1
	elif ((miss_old != 0 || MISS != 0)); then
		ok="FAIL: queries of written points not found"
		FAILED=1
	fi
	cat <<EOF

## Storage at scale: $n points ($SERIES series × $m, every ${STEP}s, values $VALUES)

| measure | value |
|---|---|
| load | $LOAD_DESC, TAU_FSYNC=interval |
| ingest rate | $LOAD_PPS points/s |
| RssAnon after the load | $(mib $((rss_load * 1024))) ($(per_point $((rss_load * 1024)) "$n") bytes/point; Go heap in use $(mib "$heap_load")) |
| RssAnon after a clean restart | $(mib $((rss_restart * 1024))) ($(per_point $((rss_restart * 1024)) "$n") bytes/point; Go heap in use $(mib "$heap_restart")) |
| disk after the clean stop | $(mib "$disk") = $(per_point "$disk" "$n") bytes/point (apparent size $(per_point "$disk_apparent" "$n")) |
| clean stop (SIGTERM to exit) | $(secs "$stop1") s |
| restart to ready (exec to /readyz 200) | $(secs "$ready2") s (empty start: $(secs "$ready_first") s) |
| points read back after the restart | $matched of $sampled exact (bits) |
| QUERY_POINT on old points (first tenth), -c $CONNS -P 1 | p50 $p50_old ms, p99 $p99_old ms, $qps_old/s, $miss_old not found |
| QUERY_POINT on the newest $NEW_POINTS points | p50 $P50 ms, p99 $P99 ms, $QPS/s, $MISS not found |
| old ÷ new latency | p50 $(ratio "$p50_old" "$P50"), p99 $(ratio "$p99_old" "$P99") |
| checks | $ok |
EOF
}

# ---- retention mode ----

retention() {
	local m r_s back b at
	m=$(awk -v d="$DAYS" -v s="$STEP" 'BEGIN { printf "%d", d * 86400 / s + 0.5 }')
	r_s=$(duration_s "$RETENTION")
	back=$((r_s / STEP))
	b=$((m - 1 - back)) # index of the oldest kept point: exactly newest - retention
	((b >= 8)) || {
		log "RETENTION=$RETENTION keeps everything of DAYS=$DAYS: nothing would expire"
		exit 2
	}
	build
	if ! "$WORK/bin/tau-server" --help 2>&1 | grep -q TAU_RETENTION; then
		if [[ ${RETENTION_FORCE:-0} != 1 ]]; then
			FAILED=1
			log "FAILED: this tau-server does not know TAU_RETENTION ('tau-server --help' does not list it):"
			log "retention is not implemented in this build. RETENTION_FORCE=1 runs the checks anyway."
			exit 1
		fi
		log "tau-server --help does not list TAU_RETENTION; RETENTION_FORCE=1: running anyway"
	fi
	local n=$((m * SERIES))
	if [[ $OP == batch ]] && ((m % BATCH != 0)); then
		log "OP=batch: DAYS gives $m points a series, not a multiple of BATCH=$BATCH; using OP=append"
		OP=append
	fi
	# Expired: both ends of the expired stretch and between; kept: the boundary point, the one
	# after, the middle and the newest two.
	at="0,1,$((b / 4)),$((b / 2)),$((3 * b / 4)),$((b - 2)),$((b - 1)),$b,$((b + 1)),$(((b + m - 1) / 2)),$((m - 2)),$((m - 1))"
	local boundary=$((START_NS + b * STEP * 1000000000))

	log "without retention: $m points a series ($DAYS days every ${STEP}s)"
	start_server plain "$WORK/plain"
	load "$n" "$WORK/plain-recorded.txt" "$at"
	local pps_plain=$LOAD_PPS
	stop_server
	local disk_plain
	disk_plain=$(du_bytes "$WORK/plain")
	rm -rf "$WORK/plain"

	log "with TAU_RETENTION=$RETENTION"
	start_server retention "$WORK/ret" TAU_RETENTION="$RETENTION"
	load "$n" "$WORK/recorded.txt" "$at"
	local pps_ret=$LOAD_PPS
	pick "$WORK/recorded.txt" "$SAMPLE" lt "$boundary" >"$WORK/expired.txt"
	pick "$WORK/recorded.txt" "$SAMPLE" ge "$boundary" >"$WORK/kept.txt"
	# The boundary point itself is kept (PROTOCOL.md E6): make sure the sample holds one.
	{ grep -m 1 " $boundary " "$WORK/recorded.txt"; cat "$WORK/kept.txt"; } | sort -u >"$WORK/kept-all.txt"
	mv "$WORK/kept-all.txt" "$WORK/kept.txt"

	local -a res
	check_retention "before the restart"
	res+=("$EXP_GOOD" "$EXP_TOTAL" "$KEPT_GOOD" "$KEPT_TOTAL")
	stop_server
	local disk_ret stop_ret=$STOP_NS
	disk_ret=$(du_bytes "$WORK/ret")
	start_server retention-restart "$WORK/ret" TAU_RETENTION="$RETENTION"
	local ready_ret=$READY_NS
	check_retention "after the restart"
	res+=("$EXP_GOOD" "$EXP_TOTAL" "$KEPT_GOOD" "$KEPT_TOTAL")
	stop_server
	local disk_ret2
	disk_ret2=$(du_bytes "$WORK/ret")

	local r r2 i verdict=PASS
	local -a why=()
	r=$(ratio "$disk_ret" "$disk_plain")
	r2=$(ratio "$disk_ret2" "$disk_plain")
	awk -v r="$r" 'BEGIN { exit !(r > 0.6) }' && why+=("disk ratio $r > 0.6")
	((res[0] == res[1] && res[4] == res[5])) || why+=("expired points answered")
	((res[2] == res[3] && res[6] == res[7])) || why+=("kept points missing or changed")
	if ((${#why[@]} > 0)); then
		verdict="FAIL: ${why[0]}"
		for ((i = 1; i < ${#why[@]}; i++)); do verdict+="; ${why[i]}"; done
		FAILED=1
	fi
	cat <<EOF

## Retention: TAU_RETENTION=$RETENTION over $DAYS days ($SERIES series × $m points every ${STEP}s, values $VALUES)

| measure | value |
|---|---|
| load | $LOAD_DESC, TAU_FSYNC=interval: $pps_plain points/s without retention, $pps_ret with |
| disk without retention, after a clean stop | $(mib "$disk_plain") ($(per_point "$disk_plain" "$n") bytes/point) |
| disk with retention, after a clean stop | $(mib "$disk_ret") ($(per_point "$disk_ret" "$n") bytes per point written) |
| disk with retention, after a restart and a second clean stop | $(mib "$disk_ret2") |
| ratio with ÷ without (target ≤ 0.6) | $r (after the restart: $r2) |
| expired points not found, before the restart | ${res[0]} of ${res[1]} |
| kept points exact, before the restart (the boundary one among them) | ${res[2]} of ${res[3]} |
| clean stop / restart to ready | $(secs "$stop_ret") s / $(secs "$ready_ret") s |
| expired points not found, after the restart | ${res[4]} of ${res[5]} |
| kept points exact, after the restart | ${res[6]} of ${res[7]} |
| checks | $verdict |
EOF
}

# check_retention WHEN: sets EXP_GOOD/EXP_TOTAL (expired, not found) and KEPT_GOOD/KEPT_TOTAL.
check_retention() {
	readback "$WORK/expired.txt" absent
	EXP_GOOD=$GOOD EXP_TOTAL=$TOTAL
	readback "$WORK/kept.txt" bits
	KEPT_GOOD=$GOOD KEPT_TOTAL=$TOTAL
	log "$1: $EXP_GOOD of $EXP_TOTAL expired points not found, $KEPT_GOOD of $KEPT_TOTAL kept ones exact"
}

case ${1:-} in
--retention) retention ;;
'' | -h | --help) usage ;;
*)
	[[ $1 =~ ^[0-9]+$ ]] || usage
	scale "$1"
	;;
esac
# The exit code: 1 when a check failed. (Not `exit "$FAILED"`: shellcheck 0.9.0 then takes the
# EXIT trap's function for unreachable code.)
((FAILED == 0))
