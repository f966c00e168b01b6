package e2e

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/taudb/tau/pkg/protocol"
)

// alertsFile is the chart's Prometheus rule file (charts/tau/files): make test-metrics checks
// its syntax and runs its unit tests with promtool; this test ties it to the server.
const alertsFile = "../../charts/tau/files/tau-alerts.rules.yaml"

// laterMetrics are metrics alerts read that the server exports only in a configuration this
// test does not start: the serving certificate's expiry exists only with TLS.
var laterMetrics = map[string]bool{"tau_tls_certificate_expiry_timestamp_seconds": true}

// TestAlertRulesUseServerMetrics: every tau_ metric an alert reads is one a running server on
// disk exports, so a renamed metric cannot silence an alert.
func TestAlertRulesUseServerMetrics(t *testing.T) {
	raw, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	srv := startOnDisk(t)
	c := connect(t, srv.Addr())
	c.expect(c.call(protocol.OpCreateSeries, series(label("alerts"))), okAnswer)
	families, err := srv.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	for _, f := range families {
		exported[f.GetName()] = true
	}
	name := regexp.MustCompile(`\btau_[a-z_]+`)
	read := map[string]bool{}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, m := range name.FindAllString(line, -1) {
			read[m] = true
			if !exported[m] && !laterMetrics[m] {
				t.Errorf("an alert reads %s, which the server does not export", m)
			}
		}
	}
	if len(read) < 10 {
		t.Fatalf("the alerts read only %d tau_ metrics (%v): the file's format changed?", len(read), read)
	}
}
