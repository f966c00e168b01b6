# Container image: ./Dockerfile and its test. Included by the main Makefile; every name here is
# prefixed IMAGE_/image or is a test-* target.
#
#   make image        build the image with docker (or podman) from the Dockerfile's default
#                     bases (golang:1.26, gcr.io/distroless/static-debian12:nonroot): needs a registry
#   make test-image   build it offline with podman on local stand-in bases, run it read-only as
#                     uid 65532 and drive it (hack/image/test-image.sh; root, installs its packages)

IMAGE_NAME       ?= tau:dev
# docker when a Docker daemon answers, else podman (evaluated only by `make image`).
IMAGE_ENGINE     ?= $(shell docker info >/dev/null 2>&1 && echo docker || echo podman)
# Extra flags for `make image`, e.g. IMAGE_BUILD_FLAGS='--build-arg GO_IMAGE=mirror/golang:1.26'.
IMAGE_BUILD_FLAGS ?=
# What the binaries say they are (the main Makefile's VERSION, REVISION, BUILD_DATE, from git).
IMAGE_VERSION_ARGS = --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) --build-arg BUILD_DATE=$(BUILD_DATE)

.PHONY: image test-image

image: ## Build the container image (IMAGE_NAME, default tau:dev) with docker or podman; pulls its bases
	$(IMAGE_ENGINE) build $(IMAGE_VERSION_ARGS) $(IMAGE_BUILD_FLAGS) -t $(IMAGE_NAME) .

test-image: ## Build the image offline with podman on stand-in bases, run it and drive it (root)
	VERSION=$(VERSION) REVISION=$(REVISION) BUILD_DATE=$(BUILD_DATE) bash hack/image/test-image.sh
