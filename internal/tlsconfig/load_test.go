package tlsconfig

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/taudb/tau/internal/testenv/testpki"
)

// TestCheck: a bad pair or CA bundle at start is a configuration error of one line naming the
// variable and the file, never showing a key.
func TestCheck(t *testing.T) {
	ca := testpki.NewCA(t, "test CA")
	pair, other := ca.Issue(t, testpki.Options{CommonName: "server"}), ca.Issue(t, testpki.Options{CommonName: "other"})
	dir := t.TempDir()
	file := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		testpki.WriteFile(t, p, b)
		return p
	}
	cert, key, otherKey := file("tls.crt", pair.CertPEM), file("tls.key", pair.KeyPEM), file("other.key", other.KeyPEM)
	caFile, twoCAs := file("ca.crt", ca.CertPEM), file("two.crt", append(append([]byte{}, ca.CertPEM...), testpki.NewCA(t, "next CA").CertPEM...))
	cases := []struct {
		name  string
		files Files
		want  string // substring of the error; empty when valid
	}{
		{"valid pair", Files{cert, key, ""}, ""},
		{"valid pair and CA", Files{cert, key, caFile}, ""},
		{"two CAs (a CA rotation)", Files{cert, key, twoCAs}, ""},
		{"missing certificate", Files{filepath.Join(dir, "none"), key, ""}, `TAU_TLS_CERT_FILE="` + dir + `/none" cannot be read: no such file or directory`},
		{"missing key", Files{cert, filepath.Join(dir, "none"), ""}, `TAU_TLS_KEY_FILE="` + dir + `/none" cannot be read`},
		{"missing CA", Files{cert, key, filepath.Join(dir, "none")}, `TAU_TLS_CLIENT_CA_FILE="` + dir + `/none" cannot be read`},
		{"key of another certificate", Files{cert, otherKey, ""}, "are not a certificate and its key: tls: private key does not match public key"},
		{"key and certificate swapped", Files{key, cert, ""}, "are not a certificate and its key"},
		{"certificate not PEM", Files{file("junk.crt", []byte("not a certificate")), key, ""}, "are not a certificate and its key"},
		{"empty CA file", Files{cert, key, file("empty.crt", nil)}, `TAU_TLS_CLIENT_CA_FILE="` + dir + `/empty.crt" is invalid: no PEM certificate in it`},
		{"key as CA", Files{cert, key, key}, `is invalid: PEM block 1 is a "PRIVATE KEY", want CERTIFICATE`},
		{"CA with trailing junk", Files{cert, key, file("junk-ca.crt", append(append([]byte{}, ca.CertPEM...), "junk"...))}, "data after certificate 1 is not PEM"},
		{"CA damaged", Files{cert, key, file("bad-ca.crt", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))}, "is invalid: certificate 1:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.files)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			case err != nil && (strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "PRIVATE KEY-----")):
				t.Fatalf("error spans lines or shows a key: %v", err)
			}
		})
	}
}
