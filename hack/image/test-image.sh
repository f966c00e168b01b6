#!/usr/bin/env bash
# test-image.sh — builds the Tau container image from ./Dockerfile with podman, offline, runs it
# the way a cluster would (read-only root, non-root user, certificate file mounted, ports
# published to loopback) and drives it: probes, the TAU protocol from the host and the `tau`
# CLI inside the container, /metrics, a restart that keeps the data, SIGTERM exit status.
#
#   make test-image            # or: bash hack/image/test-image.sh
#
# No registry is reachable here, so the Dockerfile's two bases are replaced with local stand-ins
# (cached in podman's store; a rerun only rebuilds the Tau image):
#   localhost/tau-standin/golang:<go version>-rN  Debian bookworm minbase (debootstrap, from the
#       mirror apt already uses) + this machine's Go (`go env GOROOT` → /usr/local/go)
#   localhost/tau-standin/static:nonroot-rN      FROM-scratch-like root with distroless's layout:
#       /etc/passwd with nonroot 65532, /home/nonroot, /tmp, USER 65532
# Go modules come from this machine's module cache, served to the build as a file:// GOPROXY
# (`go mod download` on the host first fills it, through the host's own GOPROXY).
#
# Needs root (podman with the system store). Installs its own Debian packages when missing.
# Environment knobs:
#   TAU_TEST_IMAGE        tag of the image built and tested        (localhost/tau:test)
#   TAU_TEST_GO_IMAGE     builder base to use instead of the stand-in (e.g. golang:1.26)
#   TAU_TEST_BASE_IMAGE   runtime base to use instead of the stand-in
#   TAU_IMAGE_CACHE_DIR   where the debootstrap tarball is kept     (<repo>/.tools/image)
#   TAU_IMAGE_MIRROR      Debian mirror for debootstrap             (the one apt uses)
#   TAU_TEST_KEEP=1       leave the container running for a look (removed otherwise)
#   VERSION, REVISION, BUILD_DATE  stamped into the binaries (make test-image passes the
#                         Makefile's; default: git describe, git rev-parse HEAD, now)
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/hack/image"
cd "$ROOT"

IMAGE=${TAU_TEST_IMAGE:-localhost/tau:test}
CACHE_DIR=${TAU_IMAGE_CACHE_DIR:-$ROOT/.tools/image}
SUITE=bookworm
# Bump when a stand-in recipe below changes, so cached stand-ins are rebuilt.
RECIPE=r1
UID_NONROOT=65532

# podman here: the runc runtime and explicit ulimits (podman's default rlimits exceed what this
# sandbox lets a container set: "error setting rlimit type 7"); builds use chroot isolation,
# which RUN steps need here (and which needs no namespaces of its own).
RUN_FLAGS=(--runtime runc --ulimit nofile=20000:20000 --ulimit nproc=32768:32768)
BUILD_FLAGS=(--isolation chroot --pull=never)

PASSED=0
FAILED=0
CONTAINER=""
WORK=""

log() { printf '\n==> %s\n' "$*"; }
pass() { PASSED=$((PASSED + 1)); printf 'ok    %s\n' "$*"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL  %s\n' "$*"; }
summary() { printf 'test-image: %d passed, %d failed\n' "$PASSED" "$FAILED"; }
# die: a step the rest depends on failed; counts it, prints the tally and stops.
die() {
	fail "$*"
	if [ -n "$CONTAINER" ] && podman container exists "$CONTAINER" 2>/dev/null; then
		echo "--- container logs ($CONTAINER) ---"
		podman logs --tail 80 "$CONTAINER" 2>&1 || true
		echo "---"
	fi
	summary
	exit 1
}
check() { # check NAME CMD...: runs CMD, counts the result
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}

cleanup() {
	local rc=$?
	if [ -n "$CONTAINER" ]; then
		if [ "${TAU_TEST_KEEP:-}" = 1 ]; then
			echo "kept container $CONTAINER (podman rm -f -v $CONTAINER when done)"
		else
			podman rm -f -v -t 0 "$CONTAINER" >/dev/null 2>&1 || true
		fi
	fi
	[ -n "$WORK" ] && rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- prerequisites --------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || {
	echo "test-image: needs root (podman with the system store, debootstrap); CI runs as root" >&2
	exit 1
}
command -v go >/dev/null || {
	echo "test-image: needs go on PATH (its GOROOT becomes the stand-in builder's Go)" >&2
	exit 1
}

PKGS=(podman runc conmon netavark aardvark-dns containernetworking-plugins iptables uidmap
	slirp4netns fuse-overlayfs catatonit debootstrap debian-archive-keyring curl python3)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	log "installing ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
podman --version

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tau-image-test.XXXXXX")
mkdir -p "$CACHE_DIR"

# The Debian mirror apt already uses for this release (deb822 .sources first, then .list).
detect_mirror() {
	local codename f uri
	# shellcheck source=/dev/null # the host's os-release, not a file of this repository
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-$SUITE}")
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		uri=$(awk -v c="$codename" 'BEGIN { RS = ""; FS = "\n" }
			{ u = ""; s = 0
			  for (i = 1; i <= NF; i++) {
			    if ($i ~ /^URIs:/) { split($i, a, " "); u = a[2] }
			    if ($i ~ /^Suites:/) { n = split($i, b, " "); for (j = 2; j <= n; j++) if (b[j] == c) s = 1 }
			  }
			  if (u != "" && s) { print u; exit } }' "$f")
		[ -n "$uri" ] && { echo "$uri"; return; }
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		uri=$(awk -v c="$codename" '$1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
			if ($(i + 1) == c) { print $i; exit } }' "$f")
		[ -n "$uri" ] && { echo "$uri"; return; }
	done
	echo http://deb.debian.org/debian
}

# ---- stand-in bases -------------------------------------------------------------------------
GO_VERSION=$(go env GOVERSION)
GOROOT_HOST=$(go env GOROOT)
DEBIAN_STANDIN=localhost/tau-standin/debian:$SUITE-minbase-$RECIPE
GO_STANDIN=localhost/tau-standin/golang:$GO_VERSION-$RECIPE
STATIC_STANDIN=localhost/tau-standin/static:nonroot-$RECIPE

build_debian_standin() {
	local tarball="$CACHE_DIR/debian-$SUITE-minbase.tar" mirror
	if [ ! -s "$tarball" ]; then
		mirror=${TAU_IMAGE_MIRROR:-$(detect_mirror)}
		log "debootstrap --variant=minbase $SUITE from $mirror (cached in $tarball)"
		local root="$WORK/debootstrap"
		if ! debootstrap --variant=minbase "$SUITE" "$root" "$mirror" >"$WORK/debootstrap.log" 2>&1; then
			tail -n 30 "$WORK/debootstrap.log"
			die "debootstrap $SUITE from $mirror"
		fi
		rm -rf "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/* "$root"/var/log/* "$root"/tmp/*
		tar --numeric-owner -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
		rm -rf "$root"
	fi
	log "importing $tarball as $DEBIAN_STANDIN"
	podman import --quiet --change 'CMD ["bash"]' "$tarball" "$DEBIAN_STANDIN" >/dev/null
}

build_go_standin() {
	podman image exists "$DEBIAN_STANDIN" || build_debian_standin
	log "building $GO_STANDIN ($DEBIAN_STANDIN + $GOROOT_HOST as /usr/local/go)"
	# Laid out like the official golang image: GOPATH=/go, GOTOOLCHAIN=local, root user.
	cat >"$WORK/Containerfile.golang" <<-EOF
		FROM $DEBIAN_STANDIN
		COPY . /usr/local/go
		ENV GOLANG_VERSION=${GO_VERSION#go} GOTOOLCHAIN=local GOPATH=/go \\
		    PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
		RUN mkdir -p /go/src /go/bin && chmod -R 1777 /go && go version
		WORKDIR /go
	EOF
	podman build "${BUILD_FLAGS[@]}" --quiet -f "$WORK/Containerfile.golang" -t "$GO_STANDIN" "$GOROOT_HOST" >/dev/null ||
		die "build $GO_STANDIN"
}

build_static_standin() {
	log "building $STATIC_STANDIN (distroless static nonroot layout, uid $UID_NONROOT)"
	local r="$WORK/static-root"
	mkdir -p "$r"/etc/ssl/certs "$r"/home/nonroot "$r"/root "$r"/tmp "$r"/var/lib/dpkg/status.d
	printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' \
		'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
		"nonroot:x:$UID_NONROOT:$UID_NONROOT:nonroot:/home/nonroot:/sbin/nologin" >"$r/etc/passwd"
	printf '%s\n' 'root:x:0:' 'nobody:x:65534:' "nonroot:x:$UID_NONROOT:" >"$r/etc/group"
	printf '%s\n' 'hosts: files dns' >"$r/etc/nsswitch.conf"
	chmod 1777 "$r/tmp"
	chmod 0700 "$r/root" "$r/home/nonroot"
	chown "$UID_NONROOT:$UID_NONROOT" "$r/home/nonroot"
	tar --numeric-owner -C "$r" -c . | podman import --quiet \
		--change "USER $UID_NONROOT" --change 'WORKDIR /home/nonroot' \
		--change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
		- "$STATIC_STANDIN" >/dev/null || die "import $STATIC_STANDIN"
}

if [ -n "${TAU_TEST_GO_IMAGE:-}" ]; then
	GO_IMAGE=$TAU_TEST_GO_IMAGE
else
	GO_IMAGE=$GO_STANDIN
	podman image exists "$GO_STANDIN" || build_go_standin
fi
if [ -n "${TAU_TEST_BASE_IMAGE:-}" ]; then
	BASE_IMAGE=$TAU_TEST_BASE_IMAGE
else
	BASE_IMAGE=$STATIC_STANDIN
	podman image exists "$STATIC_STANDIN" || build_static_standin
fi
pass "stand-in bases: $GO_IMAGE, $BASE_IMAGE"

# ---- build the image ------------------------------------------------------------------------
log "go mod download (host) → file:// GOPROXY for the build"
go mod download || die "go mod download on the host"
MODPROXY="$(go env GOMODCACHE)/cache/download"
mkdir -p "$MODPROXY"

# .dockerignore keeps .git out of the build context: the version comes in as build args.
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo devel)}
REVISION=${REVISION:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
BUILD_DATE=${BUILD_DATE:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}
log "podman build -t $IMAGE (GO_IMAGE=$GO_IMAGE BASE_IMAGE=$BASE_IMAGE VERSION=$VERSION)"
old_id=$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
start=$SECONDS
# --layers=false: no intermediate images left behind per source change (the Go build cache
# mount still makes rebuilds incremental; modules come from the local file:// proxy).
if ! podman build "${BUILD_FLAGS[@]}" --layers=false -f Dockerfile \
	--build-arg GO_IMAGE="$GO_IMAGE" --build-arg BASE_IMAGE="$BASE_IMAGE" \
	--build-arg GOPROXY=file:///goproxy --build-arg GOSUMDB=off \
	--build-arg GOFLAGS="$(go env GOFLAGS)" \
	--build-arg TARGETOS=linux --build-arg TARGETARCH="$(go env GOARCH)" \
	--build-arg VERSION="$VERSION" --build-arg REVISION="$REVISION" --build-arg BUILD_DATE="$BUILD_DATE" \
	--volume "$MODPROXY:/goproxy:ro" \
	-t "$IMAGE" . >"$WORK/build.log" 2>&1; then
	tail -n 40 "$WORK/build.log"
	die "podman build"
fi
new_id=$(podman image inspect --format '{{.Id}}' "$IMAGE")
# The image this one replaced is now untagged: drop it (only it) so reruns do not pile up.
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
	podman rmi "$old_id" >/dev/null 2>&1 || true
fi
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
pass "podman build in $((SECONDS - start))s: $IMAGE ${new_id:0:12}, $((size / 1024 / 1024)) MiB ($size bytes)"
check "image is under 64 MiB" [ "$size" -lt $((64 * 1024 * 1024)) ]

# ---- image config ---------------------------------------------------------------------------
cfg() { podman image inspect --format "$1" "$IMAGE"; }
check "USER 65532:65532" [ "$(cfg '{{.Config.User}}')" = "$UID_NONROOT:$UID_NONROOT" ]
check "ENTRYPOINT [/usr/local/bin/tau-server]" [ "$(cfg '{{json .Config.Entrypoint}}')" = '["/usr/local/bin/tau-server"]' ]
envs=$(cfg '{{range .Config.Env}}{{println .}}{{end}}')
# shellcheck disable=SC2016 # $1 is expanded by the inner bash -c, not here
check "ENV TAU_LISTEN_ADDRESS/TAU_HTTP_ADDRESS/TAU_DATA_DIR" bash -c '
	grep -qx "TAU_LISTEN_ADDRESS=0.0.0.0:7701" <<<"$1" && grep -qx "TAU_HTTP_ADDRESS=0.0.0.0:7702" <<<"$1" &&
	grep -qx "TAU_DATA_DIR=/var/lib/tau" <<<"$1"' _ "$envs"
# shellcheck disable=SC2016 # $p is a Go template variable for podman, not a shell one
check "EXPOSE 7701 7702" [ "$(cfg '{{range $p, $_ := .Config.ExposedPorts}}{{$p}} {{end}}')" = "7701/tcp 7702/tcp " ]
# shellcheck disable=SC2016 # $v is a Go template variable for podman, not a shell one
check "VOLUME /var/lib/tau" [ "$(cfg '{{range $v, $_ := .Config.Volumes}}{{$v}} {{end}}')" = "/var/lib/tau " ]

# ---- image filesystem -----------------------------------------------------------------------
mnt=$(podman image mount "$IMAGE")
check "/var/lib/tau owned by 65532:65532" [ "$(stat -c %u:%g "$mnt/var/lib/tau")" = "$UID_NONROOT:$UID_NONROOT" ]
check "/var/lib stays root's" [ "$(stat -c %u:%g "$mnt/var/lib")" = "0:0" ]
for bin in tau-server tau; do
	f="$mnt/usr/local/bin/$bin"
	if [ ! -x "$f" ]; then
		fail "/usr/local/bin/$bin missing"
		continue
	fi
	# go version -m shows CGO_ENABLED and -trimpath; -ldflags are left out of the build info of
	# a -trimpath build, so -s -w (and static linking) are read from the ELF file itself.
	info=$(go version -m "$f" 2>&1 || true)
	if grep -q 'CGO_ENABLED=0' <<<"$info" && grep -q -- '-trimpath=true' <<<"$info" &&
		python3 "$HERE/elfcheck.py" "$f" >/dev/null; then
		pass "/usr/local/bin/$bin: static, CGO_ENABLED=0, -trimpath, -s -w ($(stat -c %s "$f") bytes)"
	else
		fail "/usr/local/bin/$bin build settings"
		grep -E 'CGO_ENABLED|trimpath' <<<"$info" || true
		python3 "$HERE/elfcheck.py" "$f" || true
	fi
done
podman image unmount "$IMAGE" >/dev/null

# ---- run it ---------------------------------------------------------------------------------
# A random certificate, readable only by the container's user.
CERT="$WORK/certificate"
head -c 32 /dev/urandom | od -An -vtx1 | tr -d ' \n' >"$CERT"
chown "$UID_NONROOT:$UID_NONROOT" "$CERT"
chmod 0400 "$CERT"

CONTAINER="tau-image-test-$$"
log "podman run --read-only --user $UID_NONROOT:$UID_NONROOT, ports published to 127.0.0.1"
podman run -d --name "$CONTAINER" "${RUN_FLAGS[@]}" \
	--read-only --user "$UID_NONROOT:$UID_NONROOT" \
	--volume "$CERT:/etc/tau/certificate:ro" --env TAU_CERTIFICATE_FILE=/etc/tau/certificate \
	--publish 127.0.0.1::7701 --publish 127.0.0.1::7702 \
	"$IMAGE" >/dev/null || die "podman run"
state() { podman inspect --format '{{.State.Status}} (exit status {{.State.ExitCode}})' "$CONTAINER"; }
sleep 0.5
[ "$(podman inspect --format '{{.State.Running}}' "$CONTAINER")" = true ] || die "tau-server stopped at start: $(state)"
TAU_PORT=$(podman port "$CONTAINER" 7701/tcp | head -n1 | sed 's/.*://')
HTTP_PORT=$(podman port "$CONTAINER" 7702/tcp | head -n1 | sed 's/.*://')
[[ -n $TAU_PORT && -n $HTTP_PORT ]] || die "ports not published"
echo "7701 → 127.0.0.1:$TAU_PORT, 7702 → 127.0.0.1:$HTTP_PORT"

wait_ready() { # wait_ready SECONDS
	local deadline=$((SECONDS + $1))
	while [ "$SECONDS" -lt "$deadline" ]; do
		[ "$(podman inspect --format '{{.State.Running}}' "$CONTAINER")" = true ] || return 1
		curl -fsS -m 2 "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null 2>&1 && return 0
		sleep 0.3
	done
	return 1
}
start=$SECONDS
wait_ready 60 || die "/readyz within 60s; container $(state)"
pass "/readyz answers 200 after $((SECONDS - start))s"
check "/healthz answers 200" curl -fsS -m 5 -o /dev/null "http://127.0.0.1:$HTTP_PORT/healthz"
check "server process runs as uid 65532" [ "$(podman top "$CONTAINER" huser | sed -n 2p | tr -d ' ')" = "$UID_NONROOT" ]

# The TAU protocol through the published port, with a client that shares no code with Tau.
SMOKE=(python3 "$HERE/tau_smoke.py" "127.0.0.1:$TAU_PORT" "$CERT")
check "host → published 7701: CONNECT, PING, CREATE_SERIES, APPEND, QUERY_POINT" "${SMOKE[@]}" write host.cpu 1700000000000 42.5
check "host → published 7701: a wrong certificate is refused" "${SMOKE[@]}" badcert

# The CLI inside the image (what `helm test` and debugging use). No flags: like a person's
# `kubectl exec ... -- tau ping`, it finds the server through the container's own environment
# (TAU_LISTEN_ADDRESS=0.0.0.0:7701 dials the local listener; TAU_CERTIFICATE_FILE).
tau_in() { podman exec "$CONTAINER" tau "$@"; }
output_has() { # output_has WANT CMD...: CMD succeeds and prints WANT
	local want=$1 out
	shift
	out=$("$@") || return 1
	echo "$out"
	grep -qF -- "$want" <<<"$out"
}
check "tau ping (inside)" output_has PONG tau_in ping
check "tau version (inside) says $VERSION ($REVISION)" output_has "tau $VERSION (revision $REVISION," tau_in version
check "tau-server --version (inside) says $VERSION" output_has "tau-server $VERSION (revision $REVISION," \
	podman exec "$CONTAINER" tau-server --version
check "tau create (inside)" tau_in create cli.temp
check "tau append (inside)" tau_in append cli.temp 1700000000000 21.25
check "tau query (inside) finds the point" output_has 21.25 tau_in query cli.temp 1700000000000
check "tau query (inside) reads what the host wrote" output_has 42.5 tau_in query host.cpu 1700000000000

# Like the chart's `helm test` pod: a second container of the same image, entrypoint replaced
# by the CLI, read-only, non-root, given the server's address and the certificate file.
check "tau ping from a second container (--entrypoint /usr/local/bin/tau, like helm test)" \
	output_has PONG podman run --rm "${RUN_FLAGS[@]}" --read-only --user "$UID_NONROOT:$UID_NONROOT" \
	--network "container:$CONTAINER" --entrypoint /usr/local/bin/tau \
	--volume "$CERT:/etc/tau/certificate:ro" --env TAU_CERTIFICATE_FILE=/etc/tau/certificate \
	--env TAU_LISTEN_ADDRESS=127.0.0.1:7701 "$IMAGE" ping

# This tree's CLI on the host, through the published port.
if go build -o "$WORK/tau" ./cmd/tau; then
	check "tau query (host → published 7701) reads what the container's CLI wrote" \
		output_has 21.25 "$WORK/tau" --addr "127.0.0.1:$TAU_PORT" --cert-file "$CERT" query cli.temp 1700000000000
else
	fail "go build ./cmd/tau on the host"
fi

metrics=$(curl -fsS -m 5 "http://127.0.0.1:$HTTP_PORT/metrics" || true)
check "/metrics answers with tau_ metrics ($(grep -c '^tau_' <<<"$metrics" || true) samples)" grep -q '^tau_' <<<"$metrics"
check "tau_build_info says version $VERSION" grep -qF "version=\"$VERSION\"" <<<"$(grep '^tau_build_info' <<<"$metrics")"

# SIGTERM: a clean stop exits 0 (the server's own shutdown timeout is 20s; give it 30).
log "podman stop (SIGTERM)"
podman stop -t 30 "$CONTAINER" >/dev/null || true
code=$(podman inspect --format '{{.State.ExitCode}}' "$CONTAINER")
check "podman stop → exit status 0 (got $code)" [ "$code" = 0 ]
if podman logs "$CONTAINER" 2>&1 | grep -q -E '^(panic|fatal error):'; then
	fail "server log has a panic"
	podman logs --tail 40 "$CONTAINER" 2>&1
fi

# Restart the same container: the anonymous volume on /var/lib/tau keeps the data.
log "podman start (same container, same volume)"
podman start "$CONTAINER" >/dev/null || die "podman start"
HTTP_PORT=$(podman port "$CONTAINER" 7702/tcp | head -n1 | sed 's/.*://')
TAU_PORT=$(podman port "$CONTAINER" 7701/tcp | head -n1 | sed 's/.*://')
SMOKE=(python3 "$HERE/tau_smoke.py" "127.0.0.1:$TAU_PORT" "$CERT")
wait_ready 60 || die "/readyz after restart; container $(state)"
check "after restart: host.cpu@1700000000000 is still 42.5" "${SMOKE[@]}" read host.cpu 1700000000000 42.5
check "after restart: tau query (inside) finds cli.temp" output_has 21.25 tau_in query cli.temp 1700000000000
podman stop -t 30 "$CONTAINER" >/dev/null || true
code=$(podman inspect --format '{{.State.ExitCode}}' "$CONTAINER")
check "second stop → exit status 0 (got $code)" [ "$code" = 0 ]

# Memory: under a container memory limit the server gives the Go runtime a soft limit of 90% of
# it (internal/memlimit); GOMEMLIMIT, when set, wins.
memlimit_log() { # memlimit_log PODMAN-RUN-FLAGS...: the server's memory line at start
	local name="tau-image-memlimit-$$"
	# --read-only as above; the image's VOLUME gives /var/lib/tau an anonymous volume (rm -v).
	# Loopback inside the container: the development certificate is enough for this check.
	if ! podman run -d --name "$name" "${RUN_FLAGS[@]}" --read-only --user "$UID_NONROOT:$UID_NONROOT" \
		--env TAU_LISTEN_ADDRESS=127.0.0.1:7701 --env TAU_HTTP_ADDRESS=127.0.0.1:7702 \
		"$@" "$IMAGE" >/dev/null; then
		echo "podman run $* failed" >&2
		return 0 # the checks below fail and are counted
	fi
	local line=""
	for _ in $(seq 50); do
		line=$(podman logs "$name" 2>&1 | grep -m1 '"msg":"memory limit' || true)
		[ -n "$line" ] && break
		sleep 0.2
	done
	podman rm -f -v "$name" >/dev/null 2>&1 || true
	printf '%s\n' "$line"
}
log "memory limit: podman run --memory 256m, with and without GOMEMLIMIT"
mem=$(memlimit_log --memory 256m)
echo "$mem"
check "--memory 256m → GOMEMLIMIT 90% of it (241591910 bytes)" grep -q '"container_bytes":268435456,"GOMEMLIMIT_bytes":241591910' <<<"$mem"
mem=$(memlimit_log --memory 256m --env GOMEMLIMIT=100MiB)
echo "$mem"
check "GOMEMLIMIT=100MiB wins over the container's limit" grep -q '"GOMEMLIMIT":"100MiB","bytes":104857600' <<<"$mem"

summary
[ "$FAILED" = 0 ]
