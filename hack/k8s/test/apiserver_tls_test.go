package k8stest

import (
	"path/filepath"
	"testing"
)

// certificateCRD is a minimal stand-in for cert-manager's Certificate CRD: it accepts any
// spec, so the API server stores the chart's Certificate and checks its metadata; its spec
// is checked field by field against cert-manager's names by TestChartRenders (Certificate).
const certificateCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: certificates.cert-manager.io
spec:
  group: cert-manager.io
  names:
    kind: Certificate
    listKind: CertificateList
    plural: certificates
    singular: certificate
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
`

// installTLS installs the chart with TLS both ways in namespace ns (restricted, with its
// default ServiceAccount): from an existing kubernetes.io/tls Secret (with mutual TLS and
// HTTPS), and from a cert-manager Certificate; every object passes strict server-side
// validation and the pods and the `helm test` pod are admitted.
func installTLS(t *testing.T, k *kube, ns string) {
	k.kubectlIn(t, certificateCRD, "apply", "--server-side", "--validate=strict", "-f", "-")
	k.kubectl(t, "wait", "--for=condition=Established", "crd/certificates.cert-manager.io", "--timeout=60s")
	// Any valid pair will do: the API server's own serving pair and CA.
	k.kubectl(t, "create", "secret", "generic", "tau-tls-pair", "--namespace", ns, "--type=kubernetes.io/tls",
		"--from-file=tls.crt="+filepath.Join(k.dir, "apiserver.crt"), "--from-file=tls.key="+filepath.Join(k.dir, "apiserver.key"),
		"--from-file=ca.crt="+filepath.Join(k.dir, "ca.crt"))
	k.helm(t, "install", "pair", chartDir, "--namespace", ns, "--set", generate, "--set", "tls.enabled=true",
		"--set", "tls.existingSecret=tau-tls-pair", "--set", "tls.clientAuth=true", "--set", "tls.http=true")
	k.helm(t, "install", "cm", chartDir, "--namespace", ns, "--set", generate, "--set", "tls.enabled=true",
		"--set", "tls.certManager.issuerRef.name=tau-ca", "--set", "tls.certManager.issuerRef.kind=ClusterIssuer", "--set", "tls.http=true")
	k.kubectl(t, "get", "certificates.cert-manager.io", "cm-tau", "--namespace", ns)
	for release, sts := range map[string]string{"pair": "pair-tau", "cm": "cm-tau"} {
		manifest := k.helm(t, "get", "manifest", release, "--namespace", ns)
		k.kubectlIn(t, manifest, "apply", "--server-side", "--dry-run=server", "--validate=strict",
			"--force-conflicts", "--field-manager=tau-test", "-n", ns, "-f", "-")
		k.createStatefulSetPods(t, ns, sts)
		hooks := k.helm(t, "get", "hooks", release, "--namespace", ns)
		k.kubectlIn(t, hooks, "create", "--dry-run=server", "-n", ns, "-f", "-")
	}
}
