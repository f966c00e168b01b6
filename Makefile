# Tau — developer entry points. `make help` lists them.
# Tools are installed at pinned versions into ./.tools/bin by the targets that need them.

GO        ?= go
BIN       := bin
TOOLS_BIN := $(CURDIR)/.tools/bin
FUZZTIME  ?= 60s
export PATH := $(TOOLS_BIN):$(PATH)

# What `--version`, `tau version` and tau_build_info say (internal/version): git describe of
# the checkout, its commit, and the build time in UTC (SOURCE_DATE_EPOCH when set, for
# reproducible builds). Override any of them: make build VERSION=v0.2.0.
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
REVISION   ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BUILD_DATE ?= $(shell date -u -d "@$${SOURCE_DATE_EPOCH:-$$(date +%s)}" +%Y-%m-%dT%H:%M:%SZ)
VERSION_PKG := github.com/taudb/tau/internal/version
LDFLAGS     := -X $(VERSION_PKG).version=$(VERSION) -X $(VERSION_PKG).revision=$(REVISION) \
	-X $(VERSION_PKG).buildDate=$(BUILD_DATE)

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_.-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build tau-server and the tau CLI into ./bin
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

.PHONY: run
run: ## Run the server on 127.0.0.1:7701 (HTTP 127.0.0.1:7702) with the dev certificate and ./data
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/tau-server ./cmd/tau-server
	TAU_LOG_FORMAT=$${TAU_LOG_FORMAT:-console} TAU_DATA_DIR=$${TAU_DATA_DIR:-data} exec $(BIN)/tau-server

.PHONY: test
test: test-go test-deploy ## Run every test that needs no container engine or API server (what CI runs first, after lint)

.PHONY: test-go
test-go: ## Go unit, end-to-end, crash and fuzz-corpus tests, with the race detector
	$(GO) test -race -count=1 -timeout 20m ./...

.PHONY: fuzz
fuzz: ## Fuzz the frame decoder for FUZZTIME (default 60s)
	$(GO) test -run '^$$' -fuzz '^FuzzReader$$' -fuzztime $(FUZZTIME) ./pkg/protocol/

.PHONY: fuzz-server
fuzz-server: ## Fuzz a live server over TCP (FuzzConnection) for FUZZTIME
	cd internal/e2e && $(GO) test -run '^$$' -fuzz '^FuzzConnection$$' -fuzztime $(FUZZTIME) .

.PHONY: bench
bench: ## Go benchmarks (ns/op, allocs/op) of every package
	$(GO) test -run '^$$' -bench . -benchmem ./...

.PHONY: clean
clean: ## Remove build output (not ./data)
	rm -rf $(BIN)

# Fragments for the image, Kubernetes, metrics, benchmark and lint targets.
-include hack/mk/*.mk

