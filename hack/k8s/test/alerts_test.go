package k8stest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"
)

// alertsFile is the one rule file: the chart embeds it, make test-metrics checks and
// unit-tests it with promtool.
var alertsFile = filepath.Join(chartDir, "files", "tau-alerts.rules.yaml")

// The alerts the rule file must hold (issue 22: down, storage failed, disk nearly full,
// checkpoints failing, catalog nearly full, mailboxes saturated, certificate near expiry;
// issue 19: the cluster's).
var wantAlerts = []string{
	"TauDown", "TauStorageFailed", "TauDiskNearlyFull", "TauDiskFillsWithin24h", "TauCheckpointsFailing",
	"TauCatalogNearlyFull", "TauCatalogFullRefusing", "TauMailboxesSaturated",
	"TauCertificateExpiresSoon", "TauCertificateExpiresVerySoon",
	// Cluster mode (issue 19), each with a runbook in docs/cluster-kubernetes.md.
	"TauClusterNoLeader", "TauClusterLeaderChangesFrequent", "TauClusterProposalsFailing",
	"TauClusterMemberBehind", "TauClusterPeerUnreachable",
}

// runbookDoc is where the cluster alerts' runbook_url anchors point.
var runbookDoc = filepath.Join(repoRoot, "docs", "cluster-kubernetes.md")

// TestAlertRunbooks: every runbook_url of the rule file points at a heading of
// docs/cluster-kubernetes.md (GitHub's anchor: the heading lower-cased), and every cluster
// alert has one.
func TestAlertRunbooks(t *testing.T) {
	doc, err := os.ReadFile(runbookDoc)
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, line := range strings.Split(string(doc), "\n") {
		if h, ok := strings.CutPrefix(line, "#"); ok {
			anchors[githubAnchor(strings.TrimLeft(h, "# "))] = true
		}
	}
	const prefix = "https://github.com/taudb/tau/blob/main/docs/cluster-kubernetes.md#"
	for _, g := range fileRules(t, "tau") {
		for _, r := range g.Rules {
			url, ok := r.Annotations["runbook_url"]
			if !ok {
				if strings.HasPrefix(r.Alert, "TauCluster") {
					t.Errorf("alert %s has no runbook_url", r.Alert)
				}
				continue
			}
			anchor, ok := strings.CutPrefix(url, prefix)
			if !ok || !anchors[anchor] {
				t.Errorf("alert %s: runbook_url %s is no heading of %s", r.Alert, url, runbookDoc)
			}
		}
	}
}

// githubAnchor is the id GitHub gives a Markdown heading: lower case, spaces as dashes,
// punctuation other than - and _ dropped.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// fileRules reads the rule file's groups as the PrometheusRule type holds them, with TauDown's
// job set to job.
func fileRules(t *testing.T, job string) []monitoringv1.RuleGroup {
	t.Helper()
	raw, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `up{job="tau"}`) {
		t.Fatalf("%s: TauDown no longer reads up{job=\"tau\"}, which the chart's template replaces", alertsFile)
	}
	raw = []byte(strings.ReplaceAll(string(raw), `up{job="tau"}`, `up{job="`+job+`"}`))
	var spec monitoringv1.PrometheusRuleSpec
	if err := yaml.UnmarshalStrict(raw, &spec); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	return spec.Groups
}

// checkPrometheusRule: the chart's PrometheusRule holds exactly the rule file's alerts, with
// TauDown watching the job its scrapes carry: prometheusRule.job, or else the ServiceMonitor's
// jobLabel (the pods' app.kubernetes.io/name).
func checkPrometheusRule(t *testing.T, pr *monitoringv1.PrometheusRule, sts *appsv1.StatefulSet, rc renderCase) {
	t.Helper()
	job := sts.Spec.Template.Labels["app.kubernetes.io/name"]
	for _, set := range rc.sets {
		if v, ok := strings.CutPrefix(set, "prometheusRule.job="); ok {
			job = v
		}
	}
	if diff := cmp.Diff(fileRules(t, job), pr.Spec.Groups); diff != "" {
		t.Errorf("PrometheusRule %s differs from %s (-file +chart):\n%s", pr.Name, alertsFile, diff)
	}
	var names []string
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			names = append(names, r.Alert)
			if r.Labels["severity"] != "warning" && r.Labels["severity"] != "critical" {
				t.Errorf("alert %s: severity %q, want warning or critical", r.Alert, r.Labels["severity"])
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("alert %s lacks a summary or a description", r.Alert)
			}
		}
	}
	if diff := cmp.Diff(wantAlerts, names); diff != "" {
		t.Errorf("PrometheusRule alerts (-want +got):\n%s", diff)
	}
}

// TestPrometheusRuleJob: TauDown watches the job the chart's ServiceMonitor scrapes as (the
// chart's name, nameOverride included), or the one prometheusRule.job names.
func TestPrometheusRuleJob(t *testing.T) {
	cert := "certificate.value=" + strings.Repeat("ab", 32)
	for _, tc := range []struct {
		sets []string
		want string
	}{
		{[]string{cert, "prometheusRule.enabled=true"}, `up{job="tau"} == 0`},
		{[]string{cert, "prometheusRule.enabled=true", "nameOverride=tsdb"}, `up{job="tsdb"} == 0`},
		{[]string{cert, "prometheusRule.enabled=true", "prometheusRule.job=kubernetes-pods"}, `up{job="kubernetes-pods"} == 0`},
	} {
		objs := decodeAll(t, helmTemplate(t, "tau", nil, tc.sets...))
		pr := one[*monitoringv1.PrometheusRule](t, objs, nil)
		if got := pr.Spec.Groups[0].Rules[0].Expr.String(); got != tc.want {
			t.Errorf("--set %s: TauDown is %q, want %q", strings.Join(tc.sets, ","), got, tc.want)
		}
	}
}

// TestPrometheusRulePromtool: the rules as the chart renders them pass `promtool check rules`
// (skipped without promtool; make test-metrics runs it on the file itself, with its tests).
func TestPrometheusRulePromtool(t *testing.T) {
	promtool := os.Getenv("PROMTOOL")
	if promtool == "" {
		if p, err := filepath.Abs(filepath.Join(repoRoot, ".tools", "bin", "promtool")); err == nil {
			if _, err := os.Stat(p); err == nil {
				promtool = p
			}
		}
	}
	if promtool == "" {
		if p, err := exec.LookPath("promtool"); err == nil {
			promtool = p
		}
	}
	if promtool == "" {
		t.Skip("promtool not found (make test-metrics installs it)")
	}
	objs := decodeAll(t, helmTemplate(t, "tau", []string{fullValues}))
	pr := one[*monitoringv1.PrometheusRule](t, objs, nil)
	out, err := yaml.Marshal(pr.Spec)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(file, out, 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, promtool, "check", "rules", file)
}
