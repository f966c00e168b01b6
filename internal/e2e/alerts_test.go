package e2e

import (
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/internal/server"
	"github.com/taudb/tau/internal/server/servertest"
	"github.com/taudb/tau/pkg/protocol"
)

// alertsFile is the chart's Prometheus rule file (charts/tau/files): make test-metrics checks
// its syntax and runs its unit tests with promtool; this test ties it to the server.
const alertsFile = "../../charts/tau/files/tau-alerts.rules.yaml"

// laterMetrics are metrics alerts read that the server exports only in a configuration this
// test does not start: the serving certificate's expiry exists only with TLS, and the
// cluster's metrics only in cluster mode.
var laterMetrics = map[string]bool{"tau_tls_certificate_expiry_timestamp_seconds": true}

// clusterMetrics are the metrics of cluster mode (CONFIG.md "Cluster mode"), which the chart's
// alerts and dashboard read and which a single node does not export. Histograms by family.
// TestC1_AnyNodeServesAnyRequest checks them against what a cluster member exports.
var clusterMetrics = map[string]bool{
	"tau_cluster_is_leader":                   true,
	"tau_cluster_has_leader":                  true,
	"tau_cluster_leader_changes_seen_total":   true,
	"tau_cluster_members":                     true,
	"tau_cluster_commit_index":                true,
	"tau_cluster_applied_index":               true,
	"tau_cluster_proposals_failed_total":      true,
	"tau_cluster_peer_round_trip_seconds":     true,
	"tau_cluster_peer_sent_bytes_total":       true,
	"tau_cluster_peer_received_bytes_total":   true,
	"tau_cluster_peer_dropped_messages_total": true,
	"tau_cluster_peer_unreachable_total":      true,
}

func init() {
	for m := range clusterMetrics {
		laterMetrics[m] = true
	}
}

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

// TestR10_CatalogFullCountedAndLogged: CREATE_SERIES into a full catalog is answered
// internal_error, each refusal is counted in tau_catalog_full_refusals_total (what
// TauCatalogFullRefusing fires on), and a flood of them is logged once, at warn.
func TestR10_CatalogFullCountedAndLogged(t *testing.T) {
	cfg := config.Default()
	cfg.CatalogCapacity = 1
	core, logs := observer.New(zap.DebugLevel)
	reg := prometheus.NewRegistry()
	cfg.ListenAddress, cfg.HTTPAddress, cfg.DataDir = "127.0.0.1:0", "127.0.0.1:0", t.TempDir()
	srv, err := server.New(cfg, zap.New(core), reg, servertest.MemoryStore())
	if err != nil {
		t.Fatal(err)
	}
	stop, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- srv.Run(stop) }()
	defer func() {
		close(stop)
		if err := <-done; err != nil {
			t.Errorf("server stopped with %v", err)
		}
	}()
	waitStatus(t, "http://"+srv.HTTPAddr()+"/readyz", http.StatusOK)
	c := connect(t, srv.Addr())
	c.expect(c.call(protocol.OpCreateSeries, series(label("only"))), okAnswer)
	const refused = 50
	began := time.Now()
	for i := range refused {
		c.expect(c.call(protocol.OpCreateSeries, series(label(fmt.Sprintf("more-%d", i)))), errAnswer(protocol.StatusInternalError))
	}
	c.expectOpen()
	_, body := get(t, "http://"+srv.HTTPAddr()+"/metrics")
	if want := fmt.Sprintf("tau_catalog_full_refusals_total %d\n", refused); !strings.Contains(body, want) {
		t.Errorf("/metrics lacks %q:\n%s", want, grepLines(body, "tau_catalog"))
	}
	// One line a minute at most: one, unless a loaded machine took minutes over the loop.
	most := 1 + int(time.Since(began)/time.Minute)
	if n := logs.FilterLevelExact(zap.WarnLevel).FilterMessageSnippet("catalog full").Len(); n < 1 || n > most {
		t.Errorf("%d warn lines for %d refusals, want 1 to %d: %v", n, refused, most, logs.All())
	}
}
