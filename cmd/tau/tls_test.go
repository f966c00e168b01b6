package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/internal/server/servertest"
	"github.com/taudb/tau/internal/testenv/testpki"
)

// tlsFiles are a TLS server's CA and a client pair of it, as files.
type tlsFiles struct{ ca, cert, key string }

// newTLSCLI points the CLI at a server with TLS and mutual TLS; the TLS settings are left to
// each test.
func newTLSCLI(t *testing.T) (*cli, tlsFiles) {
	t.Helper()
	ca := testpki.NewCA(t, "cli test CA")
	srvDir, cliDir := t.TempDir(), t.TempDir()
	cert, key := ca.Issue(t, testpki.Options{CommonName: "server"}).Write(t, srvDir)
	f := tlsFiles{ca: filepath.Join(cliDir, "ca.crt")}
	testpki.WriteFile(t, f.ca, ca.CertPEM)
	testpki.WriteFile(t, filepath.Join(srvDir, "ca.crt"), ca.CertPEM)
	f.cert, f.key = ca.Issue(t, testpki.Options{CommonName: "cli", Client: true}).Write(t, cliDir)
	srv := servertest.Start(t, func(c *config.Config) {
		c.TLSCertFile, c.TLSKeyFile, c.TLSClientCAFile = cert, key, filepath.Join(srvDir, "ca.crt")
	})
	return &cli{t: t, env: map[string]string{"TAU_LISTEN_ADDRESS": srv.Addr()}}, f
}

func TestTLSFlagsAndVariables(t *testing.T) {
	c, f := newTLSCLI(t)
	c.expect(exitOK, "PONG\n", "", "ping", "--tls-ca", f.ca, "--tls-cert", f.cert, "--tls-key", f.key)
	c.expect(exitOK, "PONG\n", "", "--tls-ca", f.ca, "--tls-cert", f.cert, "--tls-key", f.key, "--tls-server-name", "localhost", "ping")
	c.expect(exitConn, "", "tau: ", "ping") // plaintext to a TLS port
	c.expect(exitConn, "", "TLS handshake", "ping", "--tls-ca", f.ca, "--tls-cert", f.cert, "--tls-key", f.key, "--tls-server-name", "tau.example")
	c.expect(exitConn, "", "TLS handshake", "ping", "--tls") // the system's roots do not know the test CA
	c.expect(exitUsage, "", "give both --tls-cert and --tls-key", "ping", "--tls-ca", f.ca, "--tls-cert", f.cert)
	c.expect(exitUsage, "", "--tls-ca: open /nonexistent", "ping", "--tls-ca", "/nonexistent")
	c.expect(exitUsage, "", "no PEM certificate", "ping", "--tls-ca", f.key)
	c.env["TAU_TLS"] = "perhaps"
	c.expect(exitUsage, "", `TAU_TLS="perhaps": want true or false`, "ping")
	delete(c.env, "TAU_TLS")
	c.env["TAU_TLS_CA_FILE"], c.env["TAU_TLS_CLIENT_CERT_FILE"], c.env["TAU_TLS_CLIENT_KEY_FILE"] = f.ca, f.cert, f.key
	c.expect(exitOK, "PONG\n", "", "ping")
	c.expect(exitOK, "OK\n", "", "create", "tls.cli")
	c.expect(exitOK, "OK\n", "", "append", "tls.cli", "5", "0.25")
	c.expect(exitOK, "0.25\n", "", "query", "tls.cli", "5")
}

func TestBenchOverTLS(t *testing.T) {
	c, f := newTLSCLI(t)
	c.env["TAU_TLS_CA_FILE"], c.env["TAU_TLS_CLIENT_CERT_FILE"], c.env["TAU_TLS_CLIENT_KEY_FILE"] = f.ca, f.cert, f.key
	for _, tests := range []string{"ping,append,query", "batch,range"} { // the wire connections, then pkg/client's
		o := c.expect(exitOK, "", "", "bench", "-n", "400", "-c", "2", "-P", "4", "--series", "4", "-t", tests)
		if !strings.Contains(o.stdout, "(TLS)") || !strings.Contains(o.stdout, "errors: none") {
			t.Fatalf("bench -t %s over TLS:\n%s", tests, o.stdout)
		}
	}
}

func TestHelpDocumentsTLS(t *testing.T) {
	c := &cli{t: t, env: map[string]string{}}
	o := c.expect(exitOK, "", "", "help")
	for _, want := range []string{"--tls ", "--tls-ca PATH", "--tls-cert PATH", "--tls-key PATH", "--tls-server-name NAME",
		"TAU_TLS=true", "TAU_TLS_CA_FILE", "TAU_TLS_CLIENT_CERT_FILE", "TAU_TLS_CLIENT_KEY_FILE", "TAU_TLS_SERVER_NAME"} {
		if !strings.Contains(o.stdout, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}
