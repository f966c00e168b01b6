# Linters, pinned; included by the main Makefile. Every name here is prefixed LINT_/lint or
# names a tool.
#
#   make lint         golangci-lint (.golangci.yml) on the root module and on hack/k8s/test,
#                     shellcheck on .ci/run and every shell script under hack/; must say nothing
#   make lint-tools   install both: golangci-lint built into .tools/bin (minutes, once: a version
#                     stamp keeps later runs instant), shellcheck from Debian with apt
#
# hack/k8s/tools is not linted: it only pins the Kubernetes sources `make test-k8s` builds.

GOLANGCI_LINT_VERSION  ?= v2.15.0
# Debian bookworm's shellcheck (apt-cache policy shellcheck).
SHELLCHECK_DEB_VERSION ?= 0.9.0-1

GOLANGCI_LINT       := $(TOOLS_BIN)/golangci-lint
GOLANGCI_LINT_STAMP := $(TOOLS_BIN)/.golangci-lint-$(GOLANGCI_LINT_VERSION)
LINT_GO_MODULES     := . hack/k8s/test
LINT_SUDO           := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: lint lint-go lint-sh lint-tools lint-shellcheck-deb

lint: lint-go lint-sh ## golangci-lint (Go, both modules) and shellcheck (hack/, .ci/run); installs them once

lint-tools: $(GOLANGCI_LINT_STAMP) lint-shellcheck-deb ## Install golangci-lint (.tools/bin) and shellcheck (apt) at their pinned versions

lint-go: $(GOLANGCI_LINT_STAMP)
	@$(GOLANGCI_LINT) config verify --config $(CURDIR)/.golangci.yml
	@status=0; for m in $(LINT_GO_MODULES); do \
		echo "golangci-lint run ($$m)"; \
		(cd $$m && $(GOLANGCI_LINT) run --config $(CURDIR)/.golangci.yml ./...) || status=1; \
	done; exit $$status

# Shell scripts under hack/ by extension and by shebang, and .ci/run.
lint-sh: lint-shellcheck-deb
	@files=$$( { find hack -type f -name '*.sh'; \
		find hack -type f -exec awk 'FNR == 1 && /^#!.*[\/ ](ba|da|k|z)?sh([ \t]|$$)/ { print FILENAME } { nextfile }' {} +; \
		echo .ci/run; } | sort -u); \
	echo "shellcheck" $$files; shellcheck $$files

$(GOLANGCI_LINT_STAMP):
	mkdir -p $(TOOLS_BIN)
	GOBIN=$(TOOLS_BIN) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	rm -f $(TOOLS_BIN)/.golangci-lint-* && touch $@

# shellcheck from Debian, pinned; apt-get update only when the pinned version isn't known yet.
lint-shellcheck-deb:
	@if [ "$$(dpkg-query -W -f='$${Version}' shellcheck 2>/dev/null)" != "$(SHELLCHECK_DEB_VERSION)" ]; then \
		echo "installing shellcheck=$(SHELLCHECK_DEB_VERSION)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		$(LINT_SUDO) apt-get install -y --no-install-recommends shellcheck=$(SHELLCHECK_DEB_VERSION) >/dev/null 2>&1 || \
		{ $(LINT_SUDO) apt-get update -qq && \
		  $(LINT_SUDO) apt-get install -y --no-install-recommends shellcheck=$(SHELLCHECK_DEB_VERSION); }; \
	fi
	@command -v shellcheck >/dev/null
