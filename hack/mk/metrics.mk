# promtool, pinned, and the check of a live server's /metrics; included by the main Makefile.

PROMTOOL_VERSION ?= v0.316.0
PROMTOOL := $(TOOLS_BIN)/promtool
PROMTOOL_STAMP := $(TOOLS_BIN)/.promtool-$(PROMTOOL_VERSION)

$(PROMTOOL_STAMP):
	mkdir -p $(TOOLS_BIN)
	GOBIN=$(TOOLS_BIN) $(GO) install github.com/prometheus/prometheus/cmd/promtool@$(PROMTOOL_VERSION)
	touch $@

.PHONY: test-metrics
test-metrics: $(PROMTOOL_STAMP) ## `promtool check metrics` on a live server's /metrics (builds promtool once)
	hack/check-metrics.sh $(PROMTOOL)
