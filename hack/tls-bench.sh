#!/usr/bin/env bash
# What TLS costs: one build of tau-server started twice, plaintext and TLS (a throwaway CA and
# server pair made here with openssl, ECDSA P-256), both measured by tau bench, the two runs of
# each test and pipeline depth alternating, ROUNDS times. Prints one row per test and depth:
# the median ops/s of each and TLS ÷ plaintext, the median server CPU per request of each (µs,
# shown as us/req: the server's utime+stime over the bench run, /proc/PID/stat fields 14-15,
# divided by the requests it completed), and the median p99 of each.
#
# Knobs (environment): DURATION per run (3s), CONNS (8), PIPELINES ("1 16"), TESTS ("ping
# append query"), ROUNDS (5). Needs Go and openssl.
set -euo pipefail

DURATION=${DURATION:-3s}
CONNS=${CONNS:-8}
PIPELINES=${PIPELINES:-"1 16"}
TESTS=${TESTS:-"ping append query"}
ROUNDS=${ROUNDS:-5}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tau-tls-bench.XXXXXX")
PIDS=()

cleanup() {
	local pid
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

log() { echo "tls-bench: $*" >&2; }

# make_pair writes ca.crt, tls.crt and tls.key (for 127.0.0.1 and localhost) into $WORK.
make_pair() {
	local ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
	openssl req -x509 "${ec[@]}" -keyout "$WORK/ca.key" -out "$WORK/ca.crt" -days 1 \
		-subj /CN=tau-bench-ca 2>/dev/null
	openssl req "${ec[@]}" -keyout "$WORK/tls.key" -out "$WORK/tls.csr" -subj /CN=tau 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$WORK/ext"
	openssl x509 -req -in "$WORK/tls.csr" -CA "$WORK/ca.crt" -CAkey "$WORK/ca.key" \
		-CAcreateserial -out "$WORK/tls.crt" -days 1 -extfile "$WORK/ext" 2>/dev/null
}

# start runs a server: start NAME PORT HTTP_PORT [VAR=VALUE...]; its pid goes into PID_<NAME>.
start() {
	local name=$1 port=$2 http=$3
	shift 3
	env TAU_DATA_DIR="$WORK/$name" TAU_LISTEN_ADDRESS="127.0.0.1:$port" \
		TAU_HTTP_ADDRESS="127.0.0.1:$http" TAU_LOG_LEVEL=warn "$@" \
		"$WORK/tau-server" >"$WORK/$name.log" 2>&1 &
	PIDS+=($!)
	printf -v "PID_$name" '%s' "$!"
}

wait_ready() { # tau flags...
	for _ in $(seq 100); do
		if "$WORK/tau" bench "$@" -c 1 -n 1 -t ping -q >/dev/null 2>&1; then
			return
		fi
		sleep 0.1
	done
	log "server $* did not come up"
	exit 1
}

cpu_ticks() { # variable pid
	local stat f
	read -r stat <"/proc/$2/stat"
	read -r -a f <<<"${stat##*) }"
	printf -v "$1" '%s' "$((f[11] + f[12]))"
}

# run_one appends "ops/s us/req p99" of one bench run to the file $1: run_one FILE PID flags...
run_one() {
	local out=$1 pid=$2 before after row
	shift 2
	cpu_ticks before "$pid"
	row=$("$WORK/tau" bench "$@" --csv | tail -n 1)
	cpu_ticks after "$pid"
	awk -F, -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" \
		'{ printf "%s %.2f %s\n", $9, ticks / hz * 1e6 / $6, $12 }' <<<"$row" >>"$out"
}

median() { # column file
	sort -g -k "$1" "$2" | awk -v c="$1" '{ v[NR] = $c } END { print v[int((NR + 1) / 2)] }'
}

log "building into $WORK"
(cd "$ROOT" && go build -o "$WORK/" ./cmd/tau ./cmd/tau-server)
make_pair
PID_plain="" PID_tls=""
start plain 17901 17902
start tls 17911 17912 TAU_TLS_CERT_FILE="$WORK/tls.crt" TAU_TLS_KEY_FILE="$WORK/tls.key"
plain=(--addr 127.0.0.1:17901)
tls=(--addr 127.0.0.1:17911 --tls-ca "$WORK/ca.crt")
wait_ready "${plain[@]}"
wait_ready "${tls[@]}"

printf '%-7s %3s %12s %12s %7s %10s %10s %10s %10s\n' test P plain_ops/s tls_ops/s tls/pl \
	plain_us/req tls_us/req plain_p99 tls_p99
for test in $TESTS; do
	for p in $PIPELINES; do
		: >"$WORK/plain.rows"
		: >"$WORK/tls.rows"
		for _ in $(seq "$ROUNDS"); do
			flags=(-c "$CONNS" -P "$p" -d "$DURATION" -t "$test")
			run_one "$WORK/plain.rows" "$PID_plain" "${plain[@]}" "${flags[@]}"
			run_one "$WORK/tls.rows" "$PID_tls" "${tls[@]}" "${flags[@]}"
		done
		po=$(median 1 "$WORK/plain.rows") to=$(median 1 "$WORK/tls.rows")
		printf '%-7s %3s %12.0f %12.0f %7.2f %10s %10s %10s %10s\n' "$test" "$p" "$po" "$to" \
			"$(awk -v a="$to" -v b="$po" 'BEGIN { print a / b }')" \
			"$(median 2 "$WORK/plain.rows")" "$(median 2 "$WORK/tls.rows")" \
			"$(median 3 "$WORK/plain.rows")" "$(median 3 "$WORK/tls.rows")"
	done
done
