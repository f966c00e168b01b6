package k8stest

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestDeployBase checks the kustomize base as the chart: the same invariants, and the same
// objects as the chart's defaults (release "tau") but for Helm's own labels and the
// certificate Secret, which the base leaves to the user.
func TestDeployBase(t *testing.T) {
	base := decodeAll(t, kustomizeBuild(t, deployDir))
	for _, obj := range base.all {
		if _, ok := obj.(*corev1.Secret); ok {
			t.Errorf("deploy/ ships a Secret (%s): no certificate belongs in git", kindName(obj))
		}
		if m := obj.(metav1.Object); m.GetNamespace() != "" {
			t.Errorf("%s sets a namespace: the base leaves it to `kubectl -n` or an overlay", kindName(obj))
		}
	}
	chart := decodeAll(t, helmTemplate(t, "tau", nil, generate))

	want := map[string]runtime.Object{}
	for _, obj := range chart.all {
		switch o := obj.(type) {
		case *corev1.Secret:
			continue // deploy/ expects it from the user (hack/k8s/gen-cert.sh)
		case *corev1.Pod:
			if o.Annotations["helm.sh/hook"] == "test" {
				continue
			}
		}
		normalize(obj)
		want[kindName(obj)] = obj
	}
	got := map[string]runtime.Object{}
	for _, obj := range base.all {
		obj = obj.DeepCopyObject()
		normalize(obj)
		got[kindName(obj)] = obj
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("deploy/ lacks %s", k)
			continue
		}
		if d := cmp.Diff(w, g); d != "" {
			t.Errorf("%s differs between the chart's defaults (-) and deploy/ (+):\n%s", k, d)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("deploy/ has %s, which the chart's defaults lack", k)
		}
	}

	// The base names the Secret the documentation (and gen-cert.sh) creates.
	sts := one[*appsv1.StatefulSet](t, base, nil)
	c := sts.Spec.Template.Spec.Containers[0]
	secret, key := secretFile(t, sts.Spec.Template.Spec, c, containerEnv(t, base, c)["TAU_CERTIFICATE_FILE"])
	if secret != "tau-certificate" || key != "certificate" {
		t.Errorf("deploy/ mounts Secret %s key %s, want tau-certificate key certificate", secret, key)
	}
	genCert := readFile(t, filepath.Join(repoRoot, "hack", "k8s", "gen-cert.sh"))
	if !strings.Contains(genCert, "tau-certificate") {
		t.Error("hack/k8s/gen-cert.sh does not default to the Secret deploy/ mounts (tau-certificate)")
	}

	// The chart invariants hold for the base too (it has no test pod: skip that part).
	t.Run("Invariants", func(t *testing.T) {
		checkBaseInvariants(t, base)
	})
}

func checkBaseInvariants(t *testing.T, objs *objects) {
	sts := one[*appsv1.StatefulSet](t, objs, nil)
	spec := sts.Spec.Template.Spec
	c := spec.Containers[0]
	env := containerEnv(t, objs, c)
	known := configVars(t)
	for name := range env {
		if !known[name] {
			t.Errorf("env %s is not a server variable", name)
		}
	}
	checkAddress(t, c, env, "TAU_LISTEN_ADDRESS", "tau", protocolPort)
	checkAddress(t, c, env, "TAU_HTTP_ADDRESS", "http", httpPort)
	if env["TAU_DATA_DIR"] != dataDir || mountAt(c, dataDir) == nil {
		t.Errorf("TAU_DATA_DIR=%q / mount", env["TAU_DATA_DIR"])
	}
	checkProbe(t, c, env, "liveness", c.LivenessProbe, healthzPath)
	checkProbe(t, c, env, "readiness", c.ReadinessProbe, readyzPath)
	if spec.EnableServiceLinks == nil || *spec.EnableServiceLinks {
		t.Error("enableServiceLinks must be false")
	}
	checkRestricted(t, "deploy/ StatefulSet", &sts.Spec.Template.ObjectMeta, &spec)
	checkServices(t, objs, sts, c, renderCase{name: "deploy"})
}

// hashSuffix is kustomize's content hash on generated names.
var hashSuffix = regexp.MustCompile(`-[bcdfghkmt2-9]{10}$`)

// normalize drops what legitimately differs between `helm template` and `kustomize build`:
// Helm's labels, the checksum annotation (kustomize hashes the ConfigMap name instead), the
// namespace, comments-only differences and the generated name suffix.
func normalize(obj runtime.Object) {
	strip := func(m *metav1.ObjectMeta) {
		delete(m.Labels, "helm.sh/chart")
		delete(m.Labels, "app.kubernetes.io/managed-by")
		delete(m.Annotations, "checksum/config")
		if len(m.Annotations) == 0 {
			m.Annotations = nil
		}
		m.Namespace = ""
	}
	switch o := obj.(type) {
	case *corev1.ConfigMap:
		strip(&o.ObjectMeta)
		o.Name = hashSuffix.ReplaceAllString(o.Name, "")
	case *corev1.ServiceAccount:
		strip(&o.ObjectMeta)
	case *corev1.Service:
		strip(&o.ObjectMeta)
	case *appsv1.StatefulSet:
		strip(&o.ObjectMeta)
		strip(&o.Spec.Template.ObjectMeta)
		for i := range o.Spec.VolumeClaimTemplates {
			strip(&o.Spec.VolumeClaimTemplates[i].ObjectMeta)
		}
		for i := range o.Spec.Template.Spec.Containers {
			for j, ef := range o.Spec.Template.Spec.Containers[i].EnvFrom {
				if ef.ConfigMapRef != nil {
					o.Spec.Template.Spec.Containers[i].EnvFrom[j].ConfigMapRef.Name = hashSuffix.ReplaceAllString(ef.ConfigMapRef.Name, "")
				}
			}
		}
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimSpace(b))
}
