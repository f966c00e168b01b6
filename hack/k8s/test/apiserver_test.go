package k8stest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestAPIServer installs the chart and applies deploy/ on a real kube-apiserver backed by
// etcd, both started here on loopback ports in a temporary directory (make test-k8s). The
// namespaces enforce Pod Security "restricted"; every kubectl and helm call fails the test
// on any warning. With no controller-manager, the StatefulSets' pods are created with a
// server-side dry run so that admission (Pod Security included) still judges them.
func TestAPIServer(t *testing.T) {
	apiserver := os.Getenv("KUBE_APISERVER")
	if apiserver == "" {
		t.Skip("KUBE_APISERVER not set: run `make test-k8s`")
	}
	etcd := os.Getenv("ETCD")
	if etcd == "" {
		etcd = "etcd"
	}
	k := startCluster(t, apiserver, etcd)

	k.kubectl(t, "version", "-o", "json")
	restricted := func(ns string) string {
		return fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %s
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/enforce-version: latest
    pod-security.kubernetes.io/warn: restricted
    pod-security.kubernetes.io/warn-version: latest
    pod-security.kubernetes.io/audit: restricted
`, ns)
	}
	// What the controller-manager would add: each namespace's "default" ServiceAccount.
	defaultSA := func(ns string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: default\n  namespace: %s\n", ns)
	}
	// The all-features values name a PriorityClass: give them one.
	priorityClass := `apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata:
  name: high-priority
value: 1000000
`
	k.kubectlIn(t, strings.Join([]string{restricted("tau-helm"), restricted("tau-kustomize"), restricted("tau-tls"), priorityClass,
		defaultSA("tau-helm"), defaultSA("tau-kustomize"), defaultSA("tau-tls")}, "---\n"),
		"apply", "--server-side", "--validate=strict", "-f", "-")

	t.Run("Helm", func(t *testing.T) {
		const ns = "tau-helm"
		notes := k.helm(t, "install", "tau", chartDir, "--namespace", ns, "--set", generate)
		for _, want := range []string{
			"kubectl port-forward --namespace tau-helm svc/tau 7701:7701 7702:7702",
			"tau --addr 127.0.0.1:7701 --cert-file tau.cert ping",
			"get secret --namespace tau-helm tau-certificate",
			"Do not render this release with helm template", // a generated certificate's warning
		} {
			if !strings.Contains(notes, want) {
				t.Errorf("NOTES.txt lacks %q:\n%s", want, notes)
			}
		}
		// Every optional feature but the ServiceMonitor and the PrometheusRule, whose CRDs this
		// bare API server lacks (TestChartRenders decodes them strictly into the
		// prometheus-operator types).
		k.helm(t, "install", "full", chartDir, "--namespace", ns, "--values", fullValues,
			"--set", "serviceMonitor.enabled=false", "--set", "prometheusRule.enabled=false")

		// The generated certificate survives an upgrade (lookup), and so does the config checksum.
		cert := k.kubectl(t, "get", "secret", "tau-certificate", "-n", ns, "-o", "jsonpath={.data.certificate}")
		sum := k.kubectl(t, "get", "statefulset", "tau", "-n", ns, "-o", "jsonpath={.spec.template.metadata.annotations.checksum/config}")
		k.helm(t, "upgrade", "tau", chartDir, "--namespace", ns, "--reuse-values")
		if after := k.kubectl(t, "get", "secret", "tau-certificate", "-n", ns, "-o", "jsonpath={.data.certificate}"); after != cert {
			t.Error("helm upgrade replaced the generated certificate")
		}
		// A rotation of the generated certificate (charts/tau/README.md): certificate.next is
		// added as the second line and survives further upgrades; removing it leaves the
		// generated certificate alone again.
		generated := decodeBase64(t, cert)
		next := strings.Repeat("5e", 32)
		for range 2 {
			k.helm(t, "upgrade", "tau", chartDir, "--namespace", ns, "--reuse-values", "--set", "certificate.next="+next)
			got := decodeBase64(t, k.kubectl(t, "get", "secret", "tau-certificate", "-n", ns, "-o", "jsonpath={.data.certificate}"))
			if got != generated+"\n"+next {
				t.Errorf("with certificate.next the Secret holds %d bytes, want the generated certificate, a newline and next", len(got))
			}
		}
		k.helm(t, "upgrade", "tau", chartDir, "--namespace", ns, "--reuse-values", "--set", "certificate.next=")
		if after := k.kubectl(t, "get", "secret", "tau-certificate", "-n", ns, "-o", "jsonpath={.data.certificate}"); after != cert {
			t.Error("certificate.next removed, yet the Secret is not the generated certificate alone")
		}
		if after := k.kubectl(t, "get", "statefulset", "tau", "-n", ns, "-o", "jsonpath={.spec.template.metadata.annotations.checksum/config}"); after != sum || sum == "" {
			t.Errorf("checksum/config %q -> %q across an upgrade with the same values", sum, after)
		}
		// The chart's Secret, once in the cluster, is kept even without certificate.generate: a
		// release installed by a chart that generated the certificate by default (0.1.0) keeps
		// it across the upgrade.
		k.helm(t, "upgrade", "tau", chartDir, "--namespace", ns, "--reuse-values", "--set", "certificate.generate=false")
		if after := k.kubectl(t, "get", "secret", "tau-certificate", "-n", ns, "-o", "jsonpath={.data.certificate}"); after != cert {
			t.Error("an upgrade without certificate.generate replaced the Secret's certificate")
		}
		// A changed setting changes the pod template (a rollout).
		k.helm(t, "upgrade", "tau", chartDir, "--namespace", ns, "--reuse-values", "--set", "config.logLevel=debug")
		if after := k.kubectl(t, "get", "statefulset", "tau", "-n", ns, "-o", "jsonpath={.spec.template.metadata.annotations.checksum/config}"); after == sum {
			t.Error("config.logLevel changed, the pod template did not")
		}

		// The release's objects pass strict server-side validation as well.
		for release, sts := range map[string]string{"tau": "tau", "full": "full-tau"} {
			manifest := k.helm(t, "get", "manifest", release, "--namespace", ns)
			k.kubectlIn(t, manifest, "apply", "--server-side", "--dry-run=server", "--validate=strict",
				"--force-conflicts", "--field-manager=tau-test", "-n", ns, "-f", "-")
			k.createStatefulSetPods(t, ns, sts)
			// The `helm test` pod is admitted too.
			hooks := k.helm(t, "get", "hooks", release, "--namespace", ns)
			k.kubectlIn(t, hooks, "create", "--dry-run=server", "-n", ns, "-f", "-")
		}
	})

	t.Run("HelmTLS", func(t *testing.T) { installTLS(t, k, "tau-tls") })

	t.Run("HelmCluster", func(t *testing.T) { installCluster(t, k, "tau-helm") })

	t.Run("Kustomize", func(t *testing.T) {
		const ns = "tau-kustomize"
		genCert, err := filepath.Abs(filepath.Join(repoRoot, "hack", "k8s", "gen-cert.sh"))
		if err != nil {
			t.Fatal(err)
		}
		secret := run(t, genCert, "-n", ns)
		k.kubectlIn(t, string(secret), "apply", "--server-side", "--validate=strict", "-f", "-")
		for range 2 { // idempotent
			k.kubectl(t, "apply", "--server-side", "--validate=strict", "-n", ns, "-k", deployDir)
		}
		k.createStatefulSetPods(t, ns, "tau")
	})

	t.Run("RestrictedIsEnforced", func(t *testing.T) {
		// The control: a pod that breaks "restricted" is refused in these namespaces.
		pod := `apiVersion: v1
kind: Pod
metadata:
  name: root
spec:
  containers:
    - name: c
      image: ghcr.io/taudb/tau:0.1.0
`
		_, stderr, err := k.exec(pod, k.kubectlBin, "create", "--dry-run=server", "-n", "tau-helm", "-f", "-")
		if err == nil || !strings.Contains(stderr, "violates PodSecurity") {
			t.Errorf("a root pod was not refused by Pod Security: err=%v\n%s", err, stderr)
		}
	})
}

// kube talks to the test API server.
type kube struct {
	dir, kubeconfig, kubectlBin, helmBin string
	env                                  []string
}

// warningRE matches what the API server's warnings look like on kubectl's and helm's stderr,
// and klog warning or error lines.
var warningRE = regexp.MustCompile(`(?im)(warn)|^[WE]\d{4} `)

func (k *kube) exec(stdin, bin string, args ...string) (stdout, stderr string, err error) {
	var o, e bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Env = k.env
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// must runs a command, failing on a non-zero exit or any warning.
func (k *kube) must(t *testing.T, stdin, bin string, args ...string) string {
	t.Helper()
	what := filepath.Base(bin) + " " + strings.Join(args, " ")
	stdout, stderr, err := k.exec(stdin, bin, args...)
	if err != nil {
		t.Fatalf("%s: %v\n%s%s", what, err, stderr, stdout)
	}
	if warningRE.MatchString(stderr) {
		t.Errorf("%s: warnings:\n%s", what, stderr)
	} else if strings.TrimSpace(stderr) != "" {
		t.Logf("%s: stderr:\n%s", what, stderr)
	}
	return stdout
}

func (k *kube) kubectl(t *testing.T, args ...string) string {
	t.Helper()
	return k.must(t, "", k.kubectlBin, args...)
}

func (k *kube) kubectlIn(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	return k.must(t, stdin, k.kubectlBin, args...)
}

func (k *kube) helm(t *testing.T, args ...string) string {
	t.Helper()
	return k.must(t, "", k.helmBin, args...)
}

// createStatefulSetPods does the StatefulSet controller's part with a server-side dry run:
// pods <name>-0 to <name>-<replicas-1> (at least pod 0) from the template, their claims as
// volumes, so that admission judges every pod.
func (k *kube) createStatefulSetPods(t *testing.T, ns, name string) {
	t.Helper()
	var sts appsv1.StatefulSet
	if err := json.Unmarshal([]byte(k.kubectl(t, "get", "statefulset", name, "-n", ns, "-o", "json")), &sts); err != nil {
		t.Fatal(err)
	}
	replicas := 1
	if sts.Spec.Replicas != nil && *sts.Spec.Replicas > 1 {
		replicas = int(*sts.Spec.Replicas)
	}
	for i := range replicas {
		podName := fmt.Sprintf("%s-%d", name, i)
		pod := corev1.Pod{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
			ObjectMeta: metav1.ObjectMeta{
				Name:      podName,
				Namespace: ns,
				Labels: map[string]string{"statefulset.kubernetes.io/pod-name": podName,
					"apps.kubernetes.io/pod-index": fmt.Sprint(i)},
				Annotations: sts.Spec.Template.Annotations,
			},
			Spec: *sts.Spec.Template.Spec.DeepCopy(),
		}
		for k, v := range sts.Spec.Template.Labels {
			pod.Labels[k] = v
		}
		pod.Spec.Hostname, pod.Spec.Subdomain = podName, sts.Spec.ServiceName
		for _, vct := range sts.Spec.VolumeClaimTemplates {
			pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: vct.Name, VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: vct.Name + "-" + podName}}})
		}
		b, err := json.Marshal(pod)
		if err != nil {
			t.Fatal(err)
		}
		k.kubectlIn(t, string(b), "create", "--dry-run=server", "--validate=strict", "-n", ns, "-f", "-")
	}
}

// startCluster runs etcd and kube-apiserver on free loopback ports under a temporary
// directory; both are killed (process group, and SIGKILL should the test binary die) and
// the directory removed when the test ends.
func startCluster(t *testing.T, apiserverBin, etcdBin string) *kube {
	dir := t.TempDir()
	k := &kube{
		dir:        dir,
		kubeconfig: filepath.Join(dir, "kubeconfig"),
		kubectlBin: tool(t, "KUBECTL", "kubectl"),
		helmBin:    tool(t, "HELM", "helm"),
	}
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	k.env = append(os.Environ(), "KUBECONFIG="+k.kubeconfig, "HOME="+home,
		"HELM_CACHE_HOME="+filepath.Join(home, "helm-cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "helm-config"),
		"HELM_DATA_HOME="+filepath.Join(home, "helm-data"))

	pki := newPKI(t, dir)

	etcdClient, etcdPeer, securePort := freePort(t), freePort(t), freePort(t)
	startProcess(t, dir, "etcd", etcdBin,
		"--name=default",
		"--data-dir="+filepath.Join(dir, "etcd"),
		fmt.Sprintf("--listen-client-urls=http://127.0.0.1:%d", etcdClient),
		fmt.Sprintf("--advertise-client-urls=http://127.0.0.1:%d", etcdClient),
		fmt.Sprintf("--listen-peer-urls=http://127.0.0.1:%d", etcdPeer),
		fmt.Sprintf("--initial-advertise-peer-urls=http://127.0.0.1:%d", etcdPeer),
		fmt.Sprintf("--initial-cluster=default=http://127.0.0.1:%d", etcdPeer),
	)
	waitFor(t, 60*time.Second, "etcd", func() error {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", etcdClient), time.Second)
		if err == nil {
			_ = c.Close()
		}
		return err
	})

	startProcess(t, dir, "kube-apiserver", apiserverBin,
		fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", etcdClient),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", securePort),
		"--cert-dir="+filepath.Join(dir, "apiserver-certs"),
		"--tls-cert-file="+pki.servingCert,
		"--tls-private-key-file="+pki.servingKey,
		"--client-ca-file="+pki.caCert,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+pki.saKey,
		"--service-account-signing-key-file="+pki.saKey,
		"--service-cluster-ip-range=10.96.0.0/16",
		"--authorization-mode=RBAC",
		// No controller-manager or kubelet: nothing would reconcile the kubernetes Service's
		// endpoints, so don't try.
		"--endpoint-reconciler-type=none",
		"--profiling=false",
	)

	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
  - name: test
    cluster:
      server: https://127.0.0.1:%d
      certificate-authority: %s
users:
  - name: admin
    user:
      client-certificate: %s
      client-key: %s
contexts:
  - name: test
    context:
      cluster: test
      user: admin
current-context: test
`, securePort, pki.caCert, pki.adminCert, pki.adminKey)
	if err := os.WriteFile(k.kubeconfig, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 120*time.Second, "kube-apiserver /readyz", func() error {
		out, stderr, err := k.exec("", k.kubectlBin, "get", "--raw", "/readyz")
		if err != nil {
			return fmt.Errorf("%w: %s%s", err, out, stderr)
		}
		return nil
	})
	// RBAC's bootstrap roles and the namespaces the API server makes for itself.
	waitFor(t, 60*time.Second, "bootstrap namespaces and RBAC", func() error {
		_, stderr, err := k.exec("", k.kubectlBin, "get", "namespace", "kube-system", "default")
		if err != nil {
			return fmt.Errorf("%w: %s", err, stderr)
		}
		_, stderr, err = k.exec("", k.kubectlBin, "get", "clusterrole", "cluster-admin")
		if err != nil {
			return fmt.Errorf("%w: %s", err, stderr)
		}
		return nil
	})
	return k
}

// startProcess starts a server in its own process group, logging to dir/name.log; the log's
// tail is shown when the test fails.
func startProcess(t *testing.T, dir, name, bin string, args ...string) {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Pdeathsig: killed with the test binary even if cleanups never run.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }() // the cleanup kills it: its exit status says nothing
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		_ = logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			if len(b) > 6000 {
				b = b[len(b)-6000:]
			}
			t.Logf("--- tail of %s.log ---\n%s", name, b)
		}
	})
}

func waitFor(t *testing.T, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("%s not up after %v: %v", what, timeout, err)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// pki: a CA, the API server's serving certificate, an admin client certificate
// (O=system:masters) and the service-account signing key, as PEM files.
type pki struct {
	caCert, servingCert, servingKey, adminCert, adminKey, saKey string
}

func newPKI(t *testing.T, dir string) pki {
	t.Helper()
	p := pki{
		caCert:      filepath.Join(dir, "ca.crt"),
		servingCert: filepath.Join(dir, "apiserver.crt"),
		servingKey:  filepath.Join(dir, "apiserver.key"),
		adminCert:   filepath.Join(dir, "admin.crt"),
		adminKey:    filepath.Join(dir, "admin.key"),
		saKey:       filepath.Join(dir, "sa.key"),
	}
	now := time.Now()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "tau-test-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	writePEM(t, p.caCert, "CERTIFICATE", caDER)

	issue := func(certPath, keyPath string, serial int64, tmpl *x509.Certificate) {
		key := newKey(t)
		tmpl.SerialNumber = big.NewInt(serial)
		tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(24*time.Hour)
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		writePEM(t, certPath, "CERTIFICATE", der)
		writeKey(t, keyPath, key)
	}
	issue(p.servingCert, p.servingKey, 2, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.96.0.1")},
		DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
	})
	issue(p.adminCert, p.adminKey, 3, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "admin", Organization: []string{"system:masters"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	writeKey(t, p.saKey, newKey(t))
	return p
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func writeKey(t *testing.T, path string, k *ecdsa.PrivateKey) {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, path, "EC PRIVATE KEY", der)
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func decodeBase64(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// installCluster installs the chart in cluster mode in namespace ns: 3 members with the
// NetworkPolicy and 5 with hard anti-affinity pass strict server-side validation and their
// pods are admitted. Then it follows the chart README's move from one node to three: the
// upgrade is refused while the StatefulSet exists (podManagementPolicy is immutable), and
// goes through once it is deleted with --cascade=orphan, the volume claim's name unchanged.
func installCluster(t *testing.T, k *kube, ns string) {
	k.helm(t, "install", "c3", chartDir, "--namespace", ns, "--set", generate, "--set", "replicaCount=3",
		"--set", "networkPolicy.enabled=true")
	k.helm(t, "install", "c5", chartDir, "--namespace", ns, "--set", generate, "--set", "replicaCount=5",
		"--set", "cluster.antiAffinity=hard")
	for release, sts := range map[string]string{"c3": "c3-tau", "c5": "c5-tau"} {
		manifest := k.helm(t, "get", "manifest", release, "--namespace", ns)
		k.kubectlIn(t, manifest, "apply", "--server-side", "--dry-run=server", "--validate=strict",
			"--force-conflicts", "--field-manager=tau-test", "-n", ns, "-f", "-")
		k.createStatefulSetPods(t, ns, sts)
		hooks := k.helm(t, "get", "hooks", release, "--namespace", ns)
		k.kubectlIn(t, hooks, "create", "--dry-run=server", "-n", ns, "-f", "-")
	}
	if got := k.kubectl(t, "get", "service", "c3-tau-headless", "-n", ns, "-o", "jsonpath={.spec.ports[?(@.name==\"peer\")].port}"); got != "7703" {
		t.Errorf("headless Service peer port %q, want 7703", got)
	}
	if got := k.kubectl(t, "get", "service", "c3-tau", "-n", ns, "-o", "jsonpath={.spec.ports[*].name}"); strings.Contains(got, "peer") {
		t.Errorf("the client Service has ports %q: the peer port belongs on the headless Service only", got)
	}
	if got := k.kubectl(t, "get", "poddisruptionbudget", "c5-tau", "-n", ns, "-o", "jsonpath={.spec.maxUnavailable}"); got != "1" {
		t.Errorf("c5 PodDisruptionBudget maxUnavailable %q, want 1", got)
	}

	// One node, then three.
	k.helm(t, "install", "grow", chartDir, "--namespace", ns, "--set", generate)
	claims := k.kubectl(t, "get", "statefulset", "grow-tau", "-n", ns, "-o", "jsonpath={.spec.volumeClaimTemplates[*].metadata.name}")
	_, stderr, err := k.exec("", k.helmBin, "upgrade", "grow", chartDir, "--namespace", ns, "--reuse-values", "--set", "replicaCount=3")
	if err == nil || !strings.Contains(stderr, "podManagementPolicy") {
		t.Errorf("upgrading one node to three kept the StatefulSet: the README's orphan delete would be needless (err %v):\n%s", err, stderr)
	}
	k.kubectl(t, "delete", "statefulset", "grow-tau", "-n", ns, "--cascade=orphan", "--wait=false")
	// The garbage collector (kube-controller-manager, absent here) finishes an orphan delete:
	// it orphans the pods, then removes the finalizer. There are no pods: remove it.
	k.kubectl(t, "patch", "statefulset", "grow-tau", "-n", ns, "--type=json", "-p", `[{"op":"remove","path":"/metadata/finalizers"}]`)
	waitFor(t, 30*time.Second, "StatefulSet grow-tau deleted", func() error {
		_, stderr, err := k.exec("", k.kubectlBin, "get", "statefulset", "grow-tau", "-n", ns)
		if err == nil {
			return fmt.Errorf("still there")
		}
		if !strings.Contains(stderr, "NotFound") {
			return fmt.Errorf("%w: %s", err, stderr)
		}
		return nil
	})
	k.helm(t, "upgrade", "grow", chartDir, "--namespace", ns, "--reuse-values", "--set", "replicaCount=3")
	got := k.kubectl(t, "get", "statefulset", "grow-tau", "-n", ns, "-o",
		"jsonpath={.spec.replicas} {.spec.podManagementPolicy} {.spec.volumeClaimTemplates[*].metadata.name}")
	if want := "3 Parallel " + claims; got != want {
		t.Errorf("after the orphan delete and the upgrade: %q, want %q (tau-0's claim data-grow-tau-0 found again)", got, want)
	}
	initial := k.kubectl(t, "get", "configmap", "grow-tau-config", "-n", ns, "-o", "jsonpath={.data.TAU_INITIAL_CLUSTER}")
	if !strings.HasPrefix(initial, "grow-tau-0=grow-tau-0.grow-tau-headless."+ns+".svc.cluster.local:7703,") {
		t.Errorf("TAU_INITIAL_CLUSTER=%q after the upgrade", initial)
	}
	k.createStatefulSetPods(t, ns, "grow-tau")
}
