package k8stest

import (
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	psapi "k8s.io/pod-security-admission/api"
	pspolicy "k8s.io/pod-security-admission/policy"
)

// The server's side of the contract (README.md: ports, probes, the image's data volume) as the
// chart must implement it.
const (
	protocolPort = 7701
	httpPort     = 7702
	dataDir      = "/var/lib/tau"
	healthzPath  = "/healthz"
	readyzPath   = "/readyz"
)

// A chart render: a release name, values files (relative to this directory) and --set flags.
type renderCase struct {
	name    string
	release string
	values  []string
	sets    []string
}

var fullValues = filepath.Join(chartDir, "ci", "full-values.yaml")

// generate is the one value the chart requires when no certificate is given: without it a
// render fails, since a generated certificate changes at every helm template (README).
const generate = "certificate.generate=true"

var renderCases = []renderCase{
	// The defaults but for the one choice the chart makes the user take: where the certificate
	// comes from.
	{name: "defaults", release: "tau", sets: []string{generate}},
	{name: "all-features", release: "tau", values: []string{fullValues}},
	{name: "existing-secret", release: "tau", sets: []string{
		"certificate.existingSecret=my-tau-cert", "certificate.existingSecretKey=tau.key"}},
	{name: "no-persistence", release: "tau", sets: []string{generate, "persistence.enabled=false"}},
	{name: "other-release-name", release: "prod", sets: []string{generate, "podDisruptionBudget.enabled=true"}},
	{name: "certificate-value", release: "tau", sets: []string{"certificate.value=" + strings.Repeat("ab", 32)}},
	{name: "certificate-rotation", release: "tau", sets: []string{
		"certificate.value=" + strings.Repeat("ab", 32), "certificate.next=" + strings.Repeat("CD", 32)}},
	{name: "generated-certificate-rotation", release: "tau", sets: []string{generate, "certificate.next=" + strings.Repeat("ef", 32)}},
	{name: "alerts", release: "tau", sets: []string{"certificate.value=" + strings.Repeat("ab", 32),
		"prometheusRule.enabled=true", "prometheusRule.job=tau-metrics"}},
	{name: "tls-cert-manager", release: "tau", sets: []string{generate, "tls.enabled=true", "tls.certManager.issuerRef.name=tau-ca",
		"tls.certManager.issuerRef.kind=ClusterIssuer", "tls.clientAuth=true", "tls.http=true", "serviceMonitor.enabled=true"}},
	{name: "tls-existing-secret", release: "prod", sets: []string{generate, "tls.enabled=true", "tls.existingSecret=my-tau-tls"}},
	{name: "tls-client-ca-rotation", release: "tau", sets: []string{generate, "tls.enabled=true", "tls.existingSecret=my-tau-tls",
		"tls.clientAuth=true", "tls.clientCA.existingSecret=tau-client-cas", "tls.clientCA.key=bundle.pem"}},
	// Cluster mode (cluster_test.go): 3 and 5 members, with the optional objects that change.
	{name: "cluster-3", release: "tau", sets: []string{generate, "replicaCount=3", "networkPolicy.enabled=true"}},
	{name: "cluster-5", release: "prod", sets: []string{generate, "replicaCount=5", "networkPolicy.enabled=true",
		"networkPolicy.ingressFrom[0].podSelector.matchLabels.tau-client=app", "cluster.antiAffinity=hard"}},
	{name: "cluster-tls", release: "tau", sets: []string{generate, "replicaCount=3", "tls.enabled=true",
		"tls.certManager.issuerRef.name=tau-ca", "tls.clientAuth=true", "clusterDomain=example.internal"}},
}

// generates reports whether a render case makes the chart generate a certificate.
func (rc renderCase) generates() bool { return slices.Contains(rc.sets, generate) }

// The certificates the chart's Secret must hold, line by line, for the render cases that set
// them ("" for a generated one).
var wantCertificateLines = map[string][]string{
	"defaults":                       {""},
	"certificate-value":              {strings.Repeat("ab", 32)},
	"certificate-rotation":           {strings.Repeat("ab", 32), strings.Repeat("cd", 32)},
	"generated-certificate-rotation": {"", strings.Repeat("ef", 32)},
	"all-features": {"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf",
		"c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"},
}

// maxCertificates is the server's limit on the lines of the certificate file (README.md,
// "Configuration").
const maxCertificates = 8

func TestChartRenders(t *testing.T) {
	for _, rc := range renderCases {
		t.Run(rc.name, func(t *testing.T) {
			objs := decodeAll(t, helmTemplate(t, rc.release, rc.values, rc.sets...))
			checkChart(t, objs, rc)
		})
	}
}

// checkChart checks every invariant binding a rendered chart to the server.
func checkChart(t *testing.T, objs *objects, rc renderCase) {
	sts := one[*appsv1.StatefulSet](t, objs, nil)
	fullname := sts.Name
	if rc.release == "tau" && fullname != "tau" || rc.release == "prod" && fullname != "prod-tau" {
		t.Errorf("StatefulSet name %q for release %q", fullname, rc.release)
	}
	selector := sts.Spec.Selector.MatchLabels
	t.Run("Selector", func(t *testing.T) {
		want := map[string]string{"app.kubernetes.io/name": "tau", "app.kubernetes.io/instance": rc.release}
		if !labels.Equals(selector, want) {
			t.Errorf("StatefulSet selector %v, want only name and instance %v", selector, want)
		}
		if !labels.SelectorFromSet(selector).Matches(labels.Set(sts.Spec.Template.Labels)) {
			t.Errorf("StatefulSet selector %v does not match its pod template labels %v", selector, sts.Spec.Template.Labels)
		}
		for _, vct := range sts.Spec.VolumeClaimTemplates {
			for k := range vct.Labels {
				if k == "helm.sh/chart" || k == "app.kubernetes.io/version" {
					t.Errorf("volumeClaimTemplate %s has label %s: the templates are immutable, an upgrade would fail", vct.Name, k)
				}
			}
		}
	})
	t.Run("CommonLabels", func(t *testing.T) { checkLabels(t, objs) })

	spec := sts.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(spec.Containers))
	}
	c := spec.Containers[0]
	env := containerEnv(t, objs, c)

	t.Run("Image", func(t *testing.T) {
		if !strings.HasPrefix(c.Image, "ghcr.io/taudb/tau:") && !strings.HasPrefix(c.Image, "ghcr.io/taudb/tau@") {
			t.Errorf("image %q", c.Image)
		}
		chart := readChartYAML(t)
		if rc.name == "defaults" && c.Image != "ghcr.io/taudb/tau:"+chart["appVersion"] {
			t.Errorf("image %q, want the tag to default to appVersion %s", c.Image, chart["appVersion"])
		}
	})

	t.Run("EnvNamesInContract", func(t *testing.T) {
		known := configVars(t)
		for name := range env {
			if !known[name] {
				t.Errorf("env %s is not a server variable (README.md's TAU_* table)", name)
			}
		}
		for name := range known {
			// The chart never accepts the data-loss risk of TAU_FSYNC=interval in a cluster (it
			// refuses that combination instead), and forcing a new cluster is a one-off an
			// operator sets by hand (docs/cluster-kubernetes.md).
			deliberatelyUnset := name == "TAU_CERTIFICATE" || name == "TAU_CLUSTER_ACCEPT_FSYNC_DATA_LOSS" || name == "TAU_FORCE_NEW_CLUSTER"
			if _, ok := env[name]; !ok && !deliberatelyUnset && !tlsOff(rc, name) && !clusterOff(rc, name) {
				t.Errorf("server variable %s is not reachable from the chart", name)
			}
		}
	})

	t.Run("PprofOptIn", func(t *testing.T) {
		want := "false" // off unless asked for: the HTTP port is every scraper's
		if rc.name == "all-features" {
			want = "true"
		}
		if env["TAU_PPROF"] != want {
			t.Errorf("TAU_PPROF=%q, want %q", env["TAU_PPROF"], want)
		}
	})

	t.Run("Retention", func(t *testing.T) {
		want := "0" // keep everything unless asked
		if rc.name == "all-features" {
			want = "30d"
		}
		if env["TAU_RETENTION"] != want {
			t.Errorf("TAU_RETENTION=%q, want %q", env["TAU_RETENTION"], want)
		}
	})

	t.Run("LensCapacity", func(t *testing.T) {
		want := "1000" // the server's default
		if rc.name == "all-features" {
			want = "5000"
		}
		if env["TAU_LENS_CAPACITY"] != want {
			t.Errorf("TAU_LENS_CAPACITY=%q, want %q", env["TAU_LENS_CAPACITY"], want)
		}
	})

	t.Run("CertificateNeverInEnv", func(t *testing.T) {
		if _, ok := env["TAU_CERTIFICATE"]; ok {
			t.Error("TAU_CERTIFICATE is set: the certificate must be a mounted file")
		}
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				t.Errorf("env %s comes from a Secret: secrets are mounted as files", e.Name)
			}
		}
		for _, ef := range c.EnvFrom {
			if ef.SecretRef != nil {
				t.Errorf("envFrom a Secret %s: secrets are mounted as files", ef.SecretRef.Name)
			}
		}
	})

	t.Run("ListenAddresses", func(t *testing.T) {
		checkAddress(t, c, env, "TAU_LISTEN_ADDRESS", "tau", protocolPort)
		checkAddress(t, c, env, "TAU_HTTP_ADDRESS", "http", httpPort)
	})

	t.Run("DataDir", func(t *testing.T) {
		if env["TAU_DATA_DIR"] != dataDir {
			t.Fatalf("TAU_DATA_DIR=%q, want %s", env["TAU_DATA_DIR"], dataDir)
		}
		m := mountAt(c, dataDir)
		if m == nil {
			t.Fatalf("nothing mounted at %s", dataDir)
		}
		if m.ReadOnly || m.SubPath != "" {
			t.Errorf("data mount %+v", *m)
		}
		persistent := slices.ContainsFunc(sts.Spec.VolumeClaimTemplates, func(p corev1.PersistentVolumeClaim) bool { return p.Name == m.Name })
		inPod := slices.ContainsFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name })
		switch {
		case rc.name == "no-persistence":
			if persistent || !inPod {
				t.Errorf("persistence disabled: want an emptyDir volume %s", m.Name)
			}
		case !persistent || inPod:
			t.Errorf("%s: want a volumeClaimTemplate %s (a PVC per pod), not a pod volume", dataDir, m.Name)
		default:
			pvc := sts.Spec.VolumeClaimTemplates[slices.IndexFunc(sts.Spec.VolumeClaimTemplates, func(p corev1.PersistentVolumeClaim) bool { return p.Name == m.Name })]
			if pvc.Spec.Resources.Requests.Storage().IsZero() {
				t.Errorf("volumeClaimTemplate %s requests no storage", pvc.Name)
			}
		}
	})

	t.Run("CertificateFileMountedFromSecret", func(t *testing.T) {
		checkCertificateMount(t, objs, spec, c, rc)
	})

	t.Run("Probes", func(t *testing.T) {
		checkProbe(t, c, env, "liveness", c.LivenessProbe, healthzPath)
		checkProbe(t, c, env, "readiness", c.ReadinessProbe, readyzPath)
		if c.StartupProbe != nil {
			checkProbe(t, c, env, "startup", c.StartupProbe, healthzPath)
		}
	})

	t.Run("TLS", func(t *testing.T) { checkTLS(t, objs, spec, c, env, rc) })
	t.Run("Cluster", func(t *testing.T) { checkCluster(t, objs, sts, env, rc) })

	t.Run("NoServiceLinks", func(t *testing.T) {
		if spec.EnableServiceLinks == nil || *spec.EnableServiceLinks {
			t.Error("enableServiceLinks must be false: Kubernetes would inject TAU_PORT, TAU_SERVICE_HOST, ...")
		}
		if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
			t.Error("automountServiceAccountToken must be false: the server never calls the API")
		}
	})

	t.Run("RestrictedSecurityContext", func(t *testing.T) {
		checkRestricted(t, "StatefulSet "+sts.Name, &sts.Spec.Template.ObjectMeta, &spec)
	})

	t.Run("Resources", func(t *testing.T) {
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("resources %v: want cpu and memory requests and a memory limit", toYAML(c.Resources))
		}
	})

	t.Run("GracePeriodLongerThanShutdownTimeout", func(t *testing.T) {
		d, err := time.ParseDuration(env["TAU_SHUTDOWN_TIMEOUT"])
		if err != nil {
			t.Fatalf("TAU_SHUTDOWN_TIMEOUT=%q: %v", env["TAU_SHUTDOWN_TIMEOUT"], err)
		}
		if spec.TerminationGracePeriodSeconds == nil || time.Duration(*spec.TerminationGracePeriodSeconds)*time.Second <= d {
			t.Errorf("terminationGracePeriodSeconds %v not longer than TAU_SHUTDOWN_TIMEOUT %v", spec.TerminationGracePeriodSeconds, d)
		}
	})

	t.Run("ConfigChecksum", func(t *testing.T) {
		if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(sts.Spec.Template.Annotations["checksum/config"]) {
			t.Errorf("pod template annotation checksum/config = %q", sts.Spec.Template.Annotations["checksum/config"])
		}
	})

	t.Run("Services", func(t *testing.T) { checkServices(t, objs, sts, c, rc) })
	t.Run("TestPod", func(t *testing.T) { checkTestPod(t, objs, sts, rc) })
	t.Run("Optional", func(t *testing.T) { checkOptional(t, objs, sts, rc) })
}

// containerEnv resolves the container's environment: env values and envFrom ConfigMaps.
func containerEnv(t *testing.T, objs *objects, c corev1.Container) map[string]string {
	env := map[string]string{}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef == nil {
			continue
		}
		cm := one[*corev1.ConfigMap](t, objs, func(cm *corev1.ConfigMap) bool { return cm.Name == ef.ConfigMapRef.Name })
		if ef.Prefix != "" {
			t.Errorf("envFrom %s has a prefix", cm.Name)
		}
		for k, v := range cm.Data {
			env[k] = v
		}
	}
	for _, e := range c.Env {
		if _, dup := env[e.Name]; dup {
			t.Errorf("env %s set twice", e.Name)
		}
		env[e.Name] = e.Value
		if f := e.ValueFrom; f != nil && f.FieldRef != nil {
			env[e.Name] = fieldRefPrefix + f.FieldRef.FieldPath
		}
	}
	return env
}

func checkAddress(t *testing.T, c corev1.Container, env map[string]string, name, portName string, want int32) {
	t.Helper()
	host, port, err := net.SplitHostPort(env[name])
	if err != nil {
		t.Fatalf("%s=%q: %v", name, env[name], err)
	}
	if host != "0.0.0.0" {
		t.Errorf("%s=%q: the server must listen on 0.0.0.0 in the pod", name, env[name])
	}
	p, _ := strconv.Atoi(port)
	cp := containerPort(c, portName)
	if cp == nil || cp.ContainerPort != int32(p) || int32(p) != want || cp.Protocol != corev1.ProtocolTCP {
		t.Errorf("%s=%q, container port %q = %+v, want %d/TCP", name, env[name], portName, cp, want)
	}
}

func containerPort(c corev1.Container, name string) *corev1.ContainerPort {
	for i := range c.Ports {
		if c.Ports[i].Name == name {
			return &c.Ports[i]
		}
	}
	return nil
}

func mountAt(c corev1.Container, dir string) *corev1.VolumeMount {
	for i := range c.VolumeMounts {
		if path.Clean(c.VolumeMounts[i].MountPath) == dir {
			return &c.VolumeMounts[i]
		}
	}
	return nil
}

// checkCertificateMount: TAU_CERTIFICATE_FILE names a file of a Secret volume mounted as a
// directory (a subPath mount would never see a rotated Secret), holding the Secret's key.
func checkCertificateMount(t *testing.T, objs *objects, spec corev1.PodSpec, c corev1.Container, rc renderCase) {
	t.Helper()
	file := containerEnv(t, objs, c)["TAU_CERTIFICATE_FILE"]
	if !path.IsAbs(file) {
		t.Fatalf("TAU_CERTIFICATE_FILE=%q, want an absolute path", file)
	}
	secretName, key := secretFile(t, spec, c, file)
	wantName, wantKey := "", "certificate"
	if rc.name == "existing-secret" {
		wantName, wantKey = "my-tau-cert", "tau.key"
	}
	if wantName != "" && secretName != wantName || key != wantKey {
		t.Errorf("TAU_CERTIFICATE_FILE from Secret %s key %s, want %s key %s", secretName, key, wantName, wantKey)
	}
	secrets := only[*corev1.Secret](objs)
	if rc.name == "existing-secret" {
		if len(secrets) != 0 {
			t.Errorf("existingSecret given, yet the chart renders a Secret: %v", objs.kinds())
		}
		return
	}
	s := one[*corev1.Secret](t, objs, func(s *corev1.Secret) bool { return s.Name == secretName })
	lines := checkCertificateLines(t, s.Name+" key "+key, s.Data[key])
	if want, ok := wantCertificateLines[rc.name]; ok {
		if len(lines) != len(want) {
			t.Fatalf("Secret %s holds %d certificates, want %d", s.Name, len(lines), len(want))
		}
		for i, w := range want {
			if w != "" && lines[i] != w {
				t.Errorf("Secret %s line %d is not the certificate the values set", s.Name, i+1)
			}
		}
	}
}

// checkCertificateLines checks content as the server reads its certificate file: one to
// maxCertificates lines of 64 hex characters, no duplicate. It returns them lower-cased.
// Messages never show a certificate.
func checkCertificateLines(t *testing.T, what string, content []byte) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(string(content)), "\n")
	if len(lines) > maxCertificates {
		t.Errorf("%s: %d certificates, the server accepts at most %d", what, len(lines), maxCertificates)
	}
	seen := map[string]int{}
	for i, l := range lines {
		l = strings.ToLower(strings.TrimSpace(l))
		lines[i] = l
		if b, err := hex.DecodeString(l); err != nil || len(b) != 32 {
			t.Errorf("%s line %d: want 64 hex characters", what, i+1)
		}
		if j, dup := seen[l]; dup {
			t.Errorf("%s line %d repeats line %d: the server refuses the file", what, i+1, j+1)
		}
		seen[l] = i
	}
	return lines
}

// secretFile finds which Secret and key a file path in the container comes from.
func secretFile(t *testing.T, spec corev1.PodSpec, c corev1.Container, file string) (secretName, key string) {
	t.Helper()
	for _, m := range c.VolumeMounts {
		rel, ok := strings.CutPrefix(file, path.Clean(m.MountPath)+"/")
		if !ok {
			continue
		}
		if m.SubPath != "" || m.SubPathExpr != "" {
			t.Errorf("the certificate is mounted with subPath: a rotated Secret would never reach the pod")
		}
		if !m.ReadOnly {
			t.Errorf("certificate mount %s is not readOnly", m.MountPath)
		}
		i := slices.IndexFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name })
		if i < 0 || spec.Volumes[i].Secret == nil {
			t.Fatalf("%s is not on a Secret volume", file)
		}
		sv := spec.Volumes[i].Secret
		if mode := sv.DefaultMode; mode != nil && *mode&0o040 == 0 && *mode&0o004 == 0 {
			t.Errorf("Secret volume mode %o: unreadable by the non-root user (files are root:fsGroup)", *mode)
		}
		if len(sv.Items) == 0 {
			return sv.SecretName, rel
		}
		for _, it := range sv.Items {
			if it.Path == rel {
				return sv.SecretName, it.Key
			}
		}
		t.Fatalf("%s: Secret volume %s has no item at %s", file, sv.SecretName, rel)
	}
	t.Fatalf("TAU_CERTIFICATE_FILE=%s is under no volume mount", file)
	return "", ""
}

func checkProbe(t *testing.T, c corev1.Container, env map[string]string, kind string, p *corev1.Probe, wantPath string) {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Fatalf("%s probe: want an httpGet probe, got %v", kind, toYAML(p))
	}
	if p.HTTPGet.Path != wantPath {
		t.Errorf("%s probe path %q, want %s", kind, p.HTTPGet.Path, wantPath)
	}
	port := p.HTTPGet.Port
	var num int32
	if port.Type == intstr.String {
		cp := containerPort(c, port.StrVal)
		if cp == nil {
			t.Fatalf("%s probe port %q: no such container port", kind, port.StrVal)
		}
		num = cp.ContainerPort
	} else {
		num = port.IntVal
	}
	if num != httpPort {
		t.Errorf("%s probe on port %d, want the HTTP port %d", kind, num, httpPort)
	}
	if want := probeScheme(env); p.HTTPGet.Scheme != want && (p.HTTPGet.Scheme != "" || want != corev1.URISchemeHTTP) {
		t.Errorf("%s probe scheme %s, want %s (TAU_HTTP_TLS=%s)", kind, p.HTTPGet.Scheme, want, env["TAU_HTTP_TLS"])
	}
}

// checkRestricted evaluates the pod against the Pod Security "restricted" profile (the
// admission plugin's own checks) and the chart's extra hardening.
func checkRestricted(t *testing.T, what string, meta *metav1.ObjectMeta, spec *corev1.PodSpec) {
	t.Helper()
	eval, err := pspolicy.NewEvaluator(pspolicy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range eval.EvaluatePod(psapi.LevelVersion{Level: psapi.LevelRestricted, Version: psapi.LatestVersion()}, meta, spec) {
		if !r.Allowed {
			t.Errorf("%s violates Pod Security restricted: %s: %s", what, r.ForbiddenReason, r.ForbiddenDetail)
		}
	}
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("%s: pod securityContext must run as a non-root uid: %v", what, toYAML(psc))
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: pod seccompProfile must be RuntimeDefault", what)
	}
	for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
		sc := c.SecurityContext
		if sc == nil {
			t.Errorf("%s container %s: no securityContext", what, c.Name)
			continue
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s container %s: allowPrivilegeEscalation must be false", what, c.Name)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("%s container %s: readOnlyRootFilesystem must be true", what, c.Name)
		}
		if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser != nil && *sc.RunAsUser == 0 {
			t.Errorf("%s container %s: must run as non-root", what, c.Name)
		}
		if sc.Privileged != nil && *sc.Privileged {
			t.Errorf("%s container %s: privileged", what, c.Name)
		}
		if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 {
			t.Errorf("%s container %s: capabilities must drop ALL and add none: %v", what, c.Name, toYAML(sc.Capabilities))
		}
		if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s container %s: seccompProfile must be RuntimeDefault", what, c.Name)
		}
	}
}

// checkLabels: every object carries the chart's common labels (the scaffold's set).
func checkLabels(t *testing.T, objs *objects) {
	for _, obj := range objs.all {
		m := obj.(metav1.Object)
		l := m.GetLabels()
		for _, k := range []string{"helm.sh/chart", "app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/managed-by"} {
			if l[k] == "" {
				t.Errorf("%s has no label %s", kindName(obj), k)
			}
		}
		if len(m.GetName()) > 63 {
			t.Errorf("%s: name longer than 63 characters", kindName(obj))
		}
	}
}

func checkServices(t *testing.T, objs *objects, sts *appsv1.StatefulSet, c corev1.Container, rc renderCase) {
	podLabels := labels.Set(sts.Spec.Template.Labels)
	client := one[*corev1.Service](t, objs, func(s *corev1.Service) bool { return s.Name == sts.Name })
	headless := one[*corev1.Service](t, objs, func(s *corev1.Service) bool { return s.Name == sts.Spec.ServiceName })
	if headless.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("Service %s (the StatefulSet's serviceName) is not headless", headless.Name)
	}
	if client.Spec.ClusterIP == corev1.ClusterIPNone {
		t.Errorf("Service %s is headless", client.Name)
	}
	for _, svc := range []*corev1.Service{client, headless} {
		if !labels.Equals(svc.Spec.Selector, sts.Spec.Selector.MatchLabels) {
			t.Errorf("Service %s selector %v != StatefulSet selector %v", svc.Name, svc.Spec.Selector, sts.Spec.Selector.MatchLabels)
		}
		if !labels.SelectorFromSet(svc.Spec.Selector).Matches(podLabels) {
			t.Errorf("Service %s selector %v does not match the pods %v", svc.Name, svc.Spec.Selector, podLabels)
		}
		want := map[string]int32{"tau": protocolPort, "http": httpPort}
		if svc == headless && clusterMode(rc) {
			want["peer"] = peerPort // the members find each other here; clients never need it
		}
		if len(svc.Spec.Ports) != len(want) {
			t.Errorf("Service %s ports %v", svc.Name, svc.Spec.Ports)
		}
		for _, p := range svc.Spec.Ports {
			if p.Port != want[p.Name] || p.Protocol != corev1.ProtocolTCP {
				t.Errorf("Service %s port %s = %d/%s, want %d/TCP", svc.Name, p.Name, p.Port, p.Protocol, want[p.Name])
			}
			target := p.TargetPort
			if target.Type == intstr.String {
				cp := containerPort(c, target.StrVal)
				if cp == nil || cp.ContainerPort != want[p.Name] {
					t.Errorf("Service %s port %s targets %q, which is not container port %d", svc.Name, p.Name, target.StrVal, want[p.Name])
				}
			} else if target.IntVal != want[p.Name] {
				t.Errorf("Service %s port %s targets %d", svc.Name, p.Name, target.IntVal)
			}
		}
	}
	if sa := sts.Spec.Template.Spec.ServiceAccountName; sa != "" && sa != "default" {
		one[*corev1.ServiceAccount](t, objs, func(s *corev1.ServiceAccount) bool { return s.Name == sa })
	}
}

// checkTestPod: the `helm test` pod pings the client Service with the mounted certificate,
// and no selector of the release picks it up.
func checkTestPod(t *testing.T, objs *objects, sts *appsv1.StatefulSet, _ renderCase) {
	pod := one[*corev1.Pod](t, objs, nil)
	if pod.Annotations["helm.sh/hook"] != "test" {
		t.Errorf("pod %s is not a helm test hook: %v", pod.Name, pod.Annotations)
	}
	if pod.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("test pod restartPolicy %s", pod.Spec.RestartPolicy)
	}
	if pod.Spec.EnableServiceLinks == nil || *pod.Spec.EnableServiceLinks {
		t.Error("test pod: enableServiceLinks must be false")
	}
	checkRestricted(t, "test pod", &pod.ObjectMeta, &pod.Spec)
	c := pod.Spec.Containers[0]
	if !slices.Equal(c.Command, []string{"/usr/local/bin/tau", "ping"}) {
		t.Errorf("test pod command %v, want tau ping", c.Command)
	}
	env := containerEnv(t, objs, c)
	known := configVars(t)
	for name := range env {
		if !known[name] && !slices.Contains(cliTLSVars, name) {
			t.Errorf("test pod env %s is not a TAU variable", name)
		}
	}
	client := sts.Name
	if want := fmt.Sprintf("%s:%d", client, protocolPort); env["TAU_LISTEN_ADDRESS"] != want {
		t.Errorf("test pod TAU_LISTEN_ADDRESS=%q, want %s (the client Service)", env["TAU_LISTEN_ADDRESS"], want)
	}
	secret, key := secretFile(t, pod.Spec, c, env["TAU_CERTIFICATE_FILE"])
	serverSecret, serverKey := secretFile(t, sts.Spec.Template.Spec, sts.Spec.Template.Spec.Containers[0],
		containerEnv(t, objs, sts.Spec.Template.Spec.Containers[0])["TAU_CERTIFICATE_FILE"])
	if secret != serverSecret || key != serverKey {
		t.Errorf("test pod reads certificate %s/%s, the server %s/%s", secret, key, serverSecret, serverKey)
	}
	for _, svc := range only[*corev1.Service](objs) {
		if labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(pod.Labels)) {
			t.Errorf("Service %s selects the test pod", svc.Name)
		}
	}
	if labels.SelectorFromSet(sts.Spec.Selector.MatchLabels).Matches(labels.Set(pod.Labels)) {
		t.Error("the StatefulSet selector matches the test pod")
	}
}

func checkOptional(t *testing.T, objs *objects, sts *appsv1.StatefulSet, rc renderCase) {
	podLabels := labels.Set(sts.Spec.Template.Labels)
	full := rc.name == "all-features"
	pdbs := only[*policyv1.PodDisruptionBudget](objs)
	netpols := only[*networkingv1.NetworkPolicy](objs)
	sms := only[*monitoringv1.ServiceMonitor](objs)
	prs := only[*monitoringv1.PrometheusRule](objs)
	if clusterMembers(rc) > 1 && len(pdbs) != 1 {
		t.Errorf("replicaCount %d: want a PodDisruptionBudget whatever podDisruptionBudget.enabled says: %v", clusterMembers(rc), objs.kinds())
	}
	if rc.name == "defaults" && len(pdbs)+len(netpols)+len(sms)+len(prs) != 0 {
		t.Errorf("optional objects rendered by default: %v", objs.kinds())
	}
	if full && (len(pdbs) != 1 || len(netpols) != 1 || len(sms) != 1 || len(prs) != 1) {
		t.Fatalf("all-features: want a PodDisruptionBudget, a NetworkPolicy, a ServiceMonitor and a PrometheusRule: %v", objs.kinds())
	}
	for _, pr := range prs {
		checkPrometheusRule(t, pr, sts, rc)
	}
	if full && sts.Spec.Template.Spec.Containers[0].StartupProbe == nil {
		t.Error("all-features: no startup probe")
	}
	for _, pdb := range pdbs {
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || !sel.Matches(podLabels) {
			t.Errorf("PodDisruptionBudget selector %v does not match the pods", pdb.Spec.Selector)
		}
		if (pdb.Spec.MinAvailable == nil) == (pdb.Spec.MaxUnavailable == nil) {
			t.Errorf("PodDisruptionBudget: want exactly one of minAvailable and maxUnavailable")
		}
	}
	for _, np := range netpols {
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil || !sel.Matches(podLabels) {
			t.Errorf("NetworkPolicy podSelector %v does not match the pods", np.Spec.PodSelector)
		}
		test := one[*corev1.Pod](t, objs, nil)
		if sel.Matches(labels.Set(test.Labels)) {
			t.Error("NetworkPolicy selects the test pod")
		}
		// The TAU port must stay open to the test pod, whatever ingressFrom says.
		allowed := false
		for _, rule := range np.Spec.Ingress {
			if !slices.ContainsFunc(rule.Ports, func(p networkingv1.NetworkPolicyPort) bool {
				return p.Port != nil && (p.Port.StrVal == "tau" || p.Port.IntVal == protocolPort)
			}) {
				continue
			}
			if len(rule.From) == 0 {
				allowed = true
			}
			for _, peer := range rule.From {
				if peer.PodSelector != nil && peer.NamespaceSelector == nil && peer.IPBlock == nil {
					s, _ := metav1.LabelSelectorAsSelector(peer.PodSelector)
					allowed = allowed || s.Matches(labels.Set(test.Labels))
				}
			}
		}
		if !allowed {
			t.Error("NetworkPolicy keeps the helm test pod from the TAU port")
		}
		for _, rule := range np.Spec.Ingress {
			for _, p := range rule.Ports {
				if p.Port != nil && p.Port.Type == intstr.String && containerPort(sts.Spec.Template.Spec.Containers[0], p.Port.StrVal) == nil {
					t.Errorf("NetworkPolicy names port %q, which the container lacks", p.Port.StrVal)
				}
			}
		}
	}
	for _, sm := range sms {
		sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
		if err != nil {
			t.Fatal(err)
		}
		var selected []string
		for _, svc := range only[*corev1.Service](objs) {
			if sel.Matches(labels.Set(svc.Labels)) {
				selected = append(selected, svc.Name)
			}
		}
		if !slices.Equal(selected, []string{sts.Name}) {
			t.Errorf("ServiceMonitor selects Services %v, want only the client Service %s (each pod scraped once)", selected, sts.Name)
		}
		for _, ep := range sm.Spec.Endpoints {
			if ep.Port != "http" || ep.Path != "/metrics" {
				t.Errorf("ServiceMonitor endpoint port %q path %q, want http /metrics", ep.Port, ep.Path)
			}
		}
	}
}

func readChartYAML(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "#") {
			out[k] = strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	return out
}
