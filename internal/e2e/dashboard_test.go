package e2e

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/taudb/tau/pkg/protocol"
)

// TestDashboardUsesServerMetrics checks that every tau_ metric the Grafana dashboard queries is
// exported by a running server (histogram series by their family name).
func TestDashboardUsesServerMetrics(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/grafana/tau-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
		// A collapsed row holds its panels.
		Panels []panel `json:"panels"`
	}
	var dash struct {
		Panels []panel `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard is not valid JSON: %v", err)
	}
	srv := start(t)
	c := connect(t, srv.Addr())
	c.expect(c.call(protocol.OpCreateSeries, series(label("d"))), okAnswer)
	families, err := srv.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	for _, f := range families {
		exported[f.GetName()] = true
	}
	// Storage metrics come from the on-disk store, which this in-memory server lacks: check
	// them against a server on disk.
	disk := startOnDisk(t)
	if families, err = disk.Registry.Gather(); err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		exported[f.GetName()] = true
	}
	name := regexp.MustCompile(`tau_[a-z_]+`)
	queried := 0
	panels := dash.Panels
	for _, p := range dash.Panels {
		panels = append(panels, p.Panels...)
	}
	for _, p := range panels {
		for _, target := range p.Targets {
			for _, m := range name.FindAllString(target.Expr, -1) {
				queried++
				family := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_sum"), "_count")
				if !exported[family] && !clusterMetrics[family] { // a cluster node's: alerts_test.go
					t.Errorf("panel %q queries %s, which the server does not export", p.Title, m)
				}
			}
		}
	}
	if queried < 10 {
		t.Fatalf("only %d metric references found: the dashboard format changed?", queried)
	}
}
