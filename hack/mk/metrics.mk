# promtool, pinned, and the check of a live server's /metrics and of the alert rules; included
# by the main Makefile.

PROMTOOL_VERSION ?= v0.316.0
PROMTOOL := $(TOOLS_BIN)/promtool
PROMTOOL_STAMP := $(TOOLS_BIN)/.promtool-$(PROMTOOL_VERSION)
# The alerts: one rule file, embedded by the chart's PrometheusRule, and its unit tests.
ALERT_RULES      := charts/tau/files/tau-alerts.rules.yaml
ALERT_RULE_TESTS := hack/alerts/tau-alerts.test.yaml

$(PROMTOOL_STAMP):
	mkdir -p $(TOOLS_BIN)
	GOBIN=$(TOOLS_BIN) $(GO) install github.com/prometheus/prometheus/cmd/promtool@$(PROMTOOL_VERSION)
	touch $@

.PHONY: test-metrics test-alerts
test-metrics: $(PROMTOOL_STAMP) test-alerts ## `promtool check metrics` on a live server's /metrics, and the alert rules (builds promtool once)
	hack/check-metrics.sh $(PROMTOOL)

test-alerts: $(PROMTOOL_STAMP) ## `promtool check rules` and `promtool test rules` on the alerts the chart ships
	$(PROMTOOL) check rules $(ALERT_RULES)
	$(PROMTOOL) test rules $(ALERT_RULE_TESTS)
