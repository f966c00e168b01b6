package k8stest

import (
	"path"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
)

// tlsVars are the server's TLS variables: set only when the chart's tls.enabled is.
var tlsVars = []string{"TAU_TLS_CERT_FILE", "TAU_TLS_KEY_FILE", "TAU_TLS_CLIENT_CA_FILE", "TAU_HTTP_TLS"}

// cliTLSVars are the tau CLI's own TLS variables (tau --help), which the test pod sets.
var cliTLSVars = []string{"TAU_TLS_CA_FILE", "TAU_TLS_CLIENT_CERT_FILE", "TAU_TLS_CLIENT_KEY_FILE"}

func tlsEnabled(rc renderCase) bool { return slices.Contains(rc.sets, "tls.enabled=true") }

// tlsOff reports whether name is a TLS variable the render case has no reason to set.
func tlsOff(rc renderCase, name string) bool {
	if !slices.Contains(tlsVars, name) {
		return false
	}
	if name == "TAU_TLS_CLIENT_CA_FILE" {
		return !slices.Contains(rc.sets, "tls.clientAuth=true")
	}
	return !tlsEnabled(rc)
}

// probeScheme is the scheme the probes must use: HTTPS with TAU_HTTP_TLS=true.
func probeScheme(env map[string]string) corev1.URIScheme {
	if env["TAU_HTTP_TLS"] == "true" {
		return corev1.URISchemeHTTPS
	}
	return corev1.URISchemeHTTP
}

// checkTLS: with tls.enabled the pair's files are those of the TLS Secret's mount (the whole
// directory, so a renewal reaches the pod), the Secret is the user's or the Certificate's,
// and the ServiceMonitor scrapes over HTTPS exactly when TAU_HTTP_TLS is on.
func checkTLS(t *testing.T, objs *objects, spec corev1.PodSpec, c corev1.Container, env map[string]string, rc renderCase) {
	certs := only[*Certificate](objs)
	if !tlsEnabled(rc) {
		for _, v := range tlsVars {
			if _, ok := env[v]; ok {
				t.Errorf("%s set without tls.enabled", v)
			}
		}
		if len(certs) != 0 {
			t.Errorf("a cert-manager Certificate without tls.enabled")
		}
		return
	}
	var secret string
	for _, v := range spec.Volumes {
		if v.Secret != nil && v.Name == "tls" {
			secret = v.Secret.SecretName
			if len(v.Secret.Items) != 0 {
				t.Errorf("the TLS Secret mounts items %v: mount it whole, as kubelet's ..data swap needs", v.Secret.Items)
			}
		}
	}
	var dir string
	for _, m := range c.VolumeMounts {
		if m.Name == "tls" {
			dir = m.MountPath
			if m.SubPath != "" || !m.ReadOnly {
				t.Errorf("TLS mount %+v: want read-only, no subPath", m)
			}
		}
	}
	if secret == "" || dir == "" {
		t.Fatalf("no TLS Secret volume and mount (volume secret %q, mount %q)", secret, dir)
	}
	want := map[string]string{"TAU_TLS_CERT_FILE": path.Join(dir, "tls.crt"), "TAU_TLS_KEY_FILE": path.Join(dir, "tls.key"),
		"TAU_TLS_CLIENT_CA_FILE": path.Join(dir, "ca.crt")}
	if cas := setValue(rc, "tls.clientCA.existingSecret"); cas != "" {
		file, _ := secretFile(t, spec, c, env["TAU_TLS_CLIENT_CA_FILE"])
		if file != cas {
			t.Errorf("TAU_TLS_CLIENT_CA_FILE=%s is not in the Secret %s", env["TAU_TLS_CLIENT_CA_FILE"], cas)
		}
		want["TAU_TLS_CLIENT_CA_FILE"] = env["TAU_TLS_CLIENT_CA_FILE"]
	}
	for v, file := range want {
		if got, ok := env[v]; ok && got != file {
			t.Errorf("%s=%s, want %s", v, got, file)
		}
	}
	if _, ok := env["TAU_TLS_CERT_FILE"]; !ok {
		t.Error("TAU_TLS_CERT_FILE not set")
	}
	if existing := setValue(rc, "tls.existingSecret"); existing != "" {
		if secret != existing || len(certs) != 0 {
			t.Errorf("existingSecret %s: volume of %s, %d Certificates", existing, secret, len(certs))
		}
	} else {
		checkCertificate(t, certs, secret)
	}
	for _, sm := range only[*monitoringv1.ServiceMonitor](objs) {
		for _, ep := range sm.Spec.Endpoints {
			want := strings.ToLower(string(probeScheme(env)))
			if ep.Scheme == nil || string(*ep.Scheme) != want {
				t.Errorf("ServiceMonitor endpoint scheme %v, want %s", ep.Scheme, want)
			}
			if want == "https" && (ep.TLSConfig == nil || ep.TLSConfig.CA.Secret == nil || ep.TLSConfig.CA.Secret.Name != secret) {
				t.Errorf("ServiceMonitor over HTTPS does not verify with the TLS Secret's CA: %+v", ep.TLSConfig)
			}
		}
	}
}

// checkCertificate: the chart's Certificate fills the mounted Secret, names the client
// Service, and allows client auth (peers present it to each other).
func checkCertificate(t *testing.T, certs []*Certificate, secret string) {
	t.Helper()
	if len(certs) != 1 {
		t.Fatalf("want one cert-manager Certificate, got %d", len(certs))
	}
	spec := certs[0].Spec
	if spec.SecretName != secret {
		t.Errorf("Certificate writes Secret %s, the pod mounts %s", spec.SecretName, secret)
	}
	ns := certs[0].Namespace
	for _, want := range []string{certs[0].Name, certs[0].Name + "." + ns + ".svc"} {
		if !slices.Contains(spec.DNSNames, want) {
			t.Errorf("Certificate dnsNames %v lack %s", spec.DNSNames, want)
		}
	}
	for _, u := range []string{"server auth", "client auth"} {
		if !slices.Contains(spec.Usages, u) {
			t.Errorf("Certificate usages %v lack %s", spec.Usages, u)
		}
	}
	if spec.IssuerRef.Name == "" {
		t.Error("Certificate without an issuer")
	}
}

// setValue is the value a render case --sets for key, or "".
func setValue(rc renderCase, key string) string {
	for _, s := range rc.sets {
		if k, v, ok := strings.Cut(s, "="); ok && k == key {
			return v
		}
	}
	return ""
}
