# Tau container image: static tau-server (the entrypoint) and the tau CLI on a distroless,
# non-root base.
#
#   docker build -t tau .
#   docker run --rm -p 127.0.0.1:7701:7701 -p 127.0.0.1:7702:7702 \
#     -v "$PWD/certificate:/etc/tau/certificate:ro" -e TAU_CERTIFICATE_FILE=/etc/tau/certificate tau
#
# The certificate file (64 hex characters) must be readable by uid 65532, the image's user; a
# bind to 0.0.0.0 needs a certificate: the server refuses its development one off loopback.
# Data lives in the volume /var/lib/tau; the root filesystem can be read-only (--read-only).
#
# Both base images are build args so an air-gapped build can point them at a local mirror (or at
# the stand-ins that hack/image/test-image.sh builds): --build-arg GO_IMAGE=... BASE_IMAGE=...
# GOPROXY, GOSUMDB and GOFLAGS are build args too, passed to `go mod download` and `go build`.
# VERSION, REVISION and BUILD_DATE are stamped into both binaries (tau-server --version,
# tau_build_info): .dockerignore keeps .git out of the context, so the build cannot ask git
# itself. `make image` and hack/image/test-image.sh pass them from `git describe`:
#   --build-arg VERSION=$(git describe --tags --always --dirty) \
#   --build-arg REVISION=$(git rev-parse HEAD) --build-arg BUILD_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
# Works with BuildKit (docker build / buildx) and with podman/buildah; no registry is named
# besides the two defaults below.

ARG GO_IMAGE=golang:1.26
ARG BASE_IMAGE=gcr.io/distroless/static-debian12:nonroot

# ---- build: compile both binaries statically ------------------------------------------------
# Pinned to the build machine's platform; the binaries are cross-compiled for TARGETOS/TARGETARCH
# (set by buildx/buildah for --platform; empty in a plain build, which means "this machine").
FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS build
ARG GOPROXY=https://proxy.golang.org,direct
ARG GOSUMDB=sum.golang.org
ARG GOFLAGS=
ARG TARGETOS
ARG TARGETARCH
ENV CGO_ENABLED=0 \
    GOTOOLCHAIN=local \
    GOCACHE=/root/.cache/go-build
WORKDIR /src

# Modules first, in their own layer: it is rebuilt only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download && go mod verify

COPY . .
# Declared here, after the module layer: a new version must not invalidate that cache.
ARG VERSION=devel
ARG REVISION=unknown
ARG BUILD_DATE=unknown
# The Go build cache lives in a cache mount, so an edit rebuilds only what it touches.
RUN --mount=type=cache,target=/root/.cache/go-build \
    GOOS="${TARGETOS:-linux}" GOARCH="${TARGETARCH}" \
    go build -trimpath -o /out/usr/local/bin/ -ldflags "-s -w \
      -X github.com/taudb/tau/internal/version.version=${VERSION} \
      -X github.com/taudb/tau/internal/version.revision=${REVISION} \
      -X github.com/taudb/tau/internal/version.buildDate=${BUILD_DATE}" \
      ./cmd/tau-server ./cmd/tau \
 && mkdir -p /out/var-lib/tau \
 && chmod 0755 /out/var-lib/tau

# ---- runtime: distroless static, nonroot (uid/gid 65532) ------------------------------------
FROM ${BASE_IMAGE}
ARG VERSION=devel
ARG REVISION=unknown
ARG BUILD_DATE=unknown
LABEL org.opencontainers.image.title="tau" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${BUILD_DATE}" \
      org.opencontainers.image.description="Tau time-series database server (tau-server) and CLI (tau)" \
      org.opencontainers.image.source="https://github.com/taudb/tau"

COPY --from=build /out/usr/local/bin/ /usr/local/bin/
# The data directory is copied as the child of a copied folder so that --chown reaches the
# directory itself (BuildKit and buildah alike), leaving /var/lib as the base image has it.
COPY --from=build --chown=65532:65532 /out/var-lib/ /var/lib/

# Inside a container the server listens on every interface; publish the ports to choose where.
ENV TAU_LISTEN_ADDRESS=0.0.0.0:7701 \
    TAU_HTTP_ADDRESS=0.0.0.0:7702 \
    TAU_DATA_DIR=/var/lib/tau
# 7701: TAU v1 binary protocol; 7702: HTTP (health probes, /metrics).
EXPOSE 7701 7702
VOLUME /var/lib/tau
USER 65532:65532
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/tau-server"]
