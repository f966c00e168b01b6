package k8stest

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// TestHelmLint: `helm lint` passes, strict too, with the defaults (and a certificate source,
// the one value required), with every feature on, and in cluster mode.
func TestHelmLint(t *testing.T) {
	helm := tool(t, "HELM", "helm")
	for _, args := range [][]string{
		{"lint", chartDir, "--set", generate},
		{"lint", "--strict", chartDir, "--set", generate},
		{"lint", "--strict", chartDir, "--values", fullValues},
		{"lint", "--strict", chartDir, "--set", "certificate.existingSecret=x"},
		{"lint", "--strict", chartDir, "--set", generate + ",certificate.next=" + strings.Repeat("ef", 32)},
		{"lint", "--strict", chartDir, "--set", generate + ",replicaCount=3,networkPolicy.enabled=true"},
		{"lint", "--strict", chartDir, "--set", generate + ",replicaCount=5,cluster.antiAffinity=hard"},
	} {
		out, stderr, err := runErr(helm, args...)
		if err != nil {
			t.Errorf("helm %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
		}
		if bytes.Contains(out, []byte("[WARNING]")) || bytes.Contains(out, []byte("[ERROR]")) {
			t.Errorf("helm %s:\n%s", strings.Join(args, " "), out)
		}
	}
}

// TestValuesRejected: values.schema.json (additionalProperties false) and the chart's own
// checks refuse settings the server or Kubernetes would trip over later.
func TestValuesRejected(t *testing.T) {
	helm := tool(t, "HELM", "helm")
	for _, tc := range []struct {
		name, set, want string
	}{
		{"unknown key", "nosuchKey=1", "additional properties"},
		{"unknown nested key", "config.port=7701", "additional properties"},
		{"two replicas", "replicaCount=2", "replicaCount"},
		{"bad duration", "config.shutdownTimeout=20", "shutdownTimeout"},
		{"bad fsync", "config.fsync=never", "fsync"},
		{"bad log level", "config.logLevel=trace", "logLevel"},
		{"pprof not a boolean", "config.pprof=yes", "pprof"},
		{"retention without a unit", "config.retention=30", "retention"},
		{"negative retention", "config.retention=-1h", "retention"},
		{"retention in weeks", "config.retention=2w", "retention"},
		{"retention in fractional days", "config.retention=1.5d", "retention"},
		{"empty retention", "config.retention=", "retention"},
		{"no lenses", "config.lensCapacity=0", "lensCapacity"},
		{"more lenses than LIST_LENSES answers", "config.lensCapacity=1048577", "lensCapacity"},
		{"lens capacity not a number", "config.lensCapacity=many", "lensCapacity"},
		{"short certificate", "certificate.value=abcd", "certificate"},
		{"grace period not longer than shutdown", "config.shutdownTimeout=1m", "terminationGracePeriodSeconds"},
		{"grace period equal to shutdown", "terminationGracePeriodSeconds=20", "terminationGracePeriodSeconds"},
		{"both secret and value", "certificate.existingSecret=x,certificate.value=" + strings.Repeat("0", 64), "only one"},
		{"short next certificate", "certificate.next=abcd", "next"},
		{"next with existingSecret", "certificate.existingSecret=x,certificate.next=" + strings.Repeat("0", 64), "second line of its key"},
		{"next equals value", "certificate.value=" + strings.Repeat("ab", 32) + ",certificate.next=" + strings.Repeat("AB", 32), "certificate.next equals certificate.value"},
		{"both pdb bounds", "podDisruptionBudget.enabled=true,podDisruptionBudget.minAvailable=1", "only one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// generate only matters when neither existingSecret nor value is set: with it, each
			// case fails on its own setting, not for want of a certificate.
			out, stderr, err := runErr(helm, "template", "tau", chartDir, "--set", generate, "--set", tc.set)
			if err == nil {
				t.Fatalf("--set %s rendered:\n%.400s", tc.set, out)
			}
			if !strings.Contains(string(stderr), tc.want) {
				t.Errorf("--set %s: error does not mention %q:\n%s", tc.set, tc.want, stderr)
			}
		})
	}
}

// TestGracePeriodParsesDurations: the chart's Go-duration arithmetic accepts what it must.
func TestGracePeriodParsesDurations(t *testing.T) {
	for _, set := range []string{
		"config.shutdownTimeout=29s",
		"config.shutdownTimeout=29500ms",
		"config.shutdownTimeout=1m30s,terminationGracePeriodSeconds=91",
	} {
		decodeAll(t, helmTemplate(t, "tau", nil, generate, set))
	}
}

// TestRetentionValues: config.retention takes what TAU_RETENTION takes (a bare 0 from --set
// is a number in Helm, and is kept as "0").
func TestRetentionValues(t *testing.T) {
	for _, want := range []string{"0", "720h", "1.5h", "30d", "1d12h"} {
		objs := decodeAll(t, helmTemplate(t, "tau", nil, generate, "config.retention="+want))
		sts := one[*appsv1.StatefulSet](t, objs, nil)
		if got := containerEnv(t, objs, sts.Spec.Template.Spec.Containers[0])["TAU_RETENTION"]; got != want {
			t.Errorf("--set config.retention=%s: TAU_RETENTION=%q", want, got)
		}
	}
}

// TestConfigChecksum: a changed setting rolls the pods; a changed certificate does not
// (the server reloads the file), and the generated certificate is random per install.
func TestConfigChecksum(t *testing.T) {
	render := func(sets ...string) (string, string) {
		objs := decodeAll(t, helmTemplate(t, "tau", nil, append([]string{generate}, sets...)...))
		sts := one[*appsv1.StatefulSet](t, objs, nil)
		s := one[*corev1.Secret](t, objs, nil)
		return sts.Spec.Template.Annotations["checksum/config"], string(s.Data["certificate"])
	}
	base, cert1 := render()
	_, cert2 := render()
	if cert1 == cert2 {
		t.Error("two installs generated the same certificate")
	}
	if sum, _ := render("config.logLevel=debug"); sum == base {
		t.Error("checksum/config did not change with config.logLevel")
	}
	if sum, _ := render("certificate.value=" + strings.Repeat("cd", 32)); sum != base {
		t.Error("checksum/config changed with the certificate: rotation would restart the pods")
	}
	if sum, _ := render("certificate.value="+strings.Repeat("cd", 32), "certificate.next="+strings.Repeat("ef", 32)); sum != base {
		t.Error("checksum/config changed with certificate.next: a rotation's second line would restart the pods")
	}
}

// TestCertificateSourceRequired: with no certificate source the chart refuses to render, naming
// the three ways, rather than generating a key that every helm template would change.
func TestCertificateSourceRequired(t *testing.T) {
	out, stderr, err := runErr(tool(t, "HELM", "helm"), "template", "tau", chartDir)
	if err == nil {
		t.Fatalf("rendered without a certificate source:\n%.400s", out)
	}
	for _, want := range []string{"certificate.existingSecret", "certificate.value", "certificate.generate=true", "helm template"} {
		if !strings.Contains(string(stderr), want) {
			t.Errorf("the error does not mention %q:\n%s", want, stderr)
		}
	}
}

// TestRendersTheSameTwice: helm template gives the same output every time, unless the values
// ask for a generated certificate (what GitOps tools such as Argo CD rely on: a render that
// changes is applied at every sync). A generated one is marked as such in the output.
func TestRendersTheSameTwice(t *testing.T) {
	for _, rc := range renderCases {
		t.Run(rc.name, func(t *testing.T) {
			first := helmTemplate(t, rc.release, rc.values, rc.sets...)
			second := helmTemplate(t, rc.release, rc.values, rc.sets...)
			const mark = "# certificate.generate: this certificate was generated by this render."
			if rc.generates() {
				if bytes.Equal(first, second) {
					t.Error("two renders generated the same certificate")
				}
				if !bytes.Contains(first, []byte(mark)) {
					t.Errorf("a generated certificate is not marked as such in the output (%q)", mark)
				}
				return
			}
			if !bytes.Equal(first, second) {
				t.Errorf("two renders differ:\n%s", lineDiff(first, second))
			}
			if bytes.Contains(first, []byte(mark)) {
				t.Error("a certificate from the values is marked as generated")
			}
		})
	}
}

// lineDiff lists the lines of a that b lacks and those of b that a lacks, for messages.
func lineDiff(a, b []byte) string {
	count := map[string]int{}
	for _, l := range strings.Split(string(a), "\n") {
		count[l]++
	}
	for _, l := range strings.Split(string(b), "\n") {
		count[l]--
	}
	var out []string
	for l, n := range count {
		if n != 0 {
			out = append(out, fmt.Sprintf("%+d %s", n, l))
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// TestReadmeVars: the README's TAU_* table is read between its markers, and only its rows.
func TestReadmeVars(t *testing.T) {
	md := []byte("Never TAU_PORT.\n| `TAU_X` | 0 |\n" +
		readmeTableBegin + " -->\n| variable | default |\n|---|---|\n| `TAU_A` | 1 |\n| `TAU_B` | 2 |\n" +
		readmeTableEnd + "\n\n| `TAU_Y` | 3 |\n- No `TAU_PORT`.\n")
	if c := readmeVars(md); len(c) != 2 || c[0] != "TAU_A" || c[1] != "TAU_B" {
		t.Errorf("readmeVars = %v", c)
	}
}
