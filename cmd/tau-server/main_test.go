package main

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/taudb/tau/internal/testenv/tauproc"
	"github.com/taudb/tau/internal/testenv/testpki"
)

func TestExitCodes(t *testing.T) {
	a, b := strings.Repeat("ab", 32), strings.Repeat("cd", 32)
	badLine := filepath.Join(t.TempDir(), "certificate")
	if err := os.WriteFile(badLine, []byte(a+"\n"+b[:50]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	nine := make([]string, 9)
	for i := range nine {
		nine[i] = strings.Repeat(fmt.Sprintf("%02x", 0x10+i), 32)
	}
	cases := []struct {
		name string
		env  []string
		args []string
		code int
		want string
	}{
		{"bad number", []string{"TAU_MAX_CONNECTIONS=many"}, nil, 2, `TAU_MAX_CONNECTIONS="many" is invalid`},
		{"bad boolean", []string{"TAU_PPROF=maybe"}, nil, 2, `TAU_PPROF="maybe" is invalid: want true or false`},
		{"bad retention", []string{"TAU_RETENTION=30days"}, nil, 2, `TAU_RETENTION="30days" is invalid: want 0 (keep everything) or a positive Go duration`},
		{"negative retention", []string{"TAU_RETENTION=-1d"}, nil, 2, `TAU_RETENTION="-1d" is invalid: it is negative`},
		{"both certificates", []string{"TAU_CERTIFICATE=" + strings.Repeat("ab", 32), "TAU_CERTIFICATE_FILE=/c"}, nil, 2, "both set"},
		{"dev certificate off loopback", []string{"TAU_LISTEN_ADDRESS=0.0.0.0:0"}, nil, 2, "not a loopback address"},
		{"a typo behind a config error", []string{"TAU_LISTEN_ADDRESS=0.0.0.0:0", "TAU_CERTIFICATE_FIEL=/c", "TAU_PORT=tcp://10.0.0.1:7701"}, nil, 2,
			"set TAU_CERTIFICATE_FILE or TAU_CERTIFICATE; unknown variables, ignored: TAU_CERTIFICATE_FIEL (nearest known: TAU_CERTIFICATE_FILE)\n"},
		{"missing certificate file", []string{"TAU_CERTIFICATE_FILE=/nonexistent/cert"}, nil, 2, "cannot be read"},
		{"bad second certificate", []string{"TAU_CERTIFICATE=" + a + "," + b[:63] + "z"}, nil, 2, "TAU_CERTIFICATE is invalid: entry 2: want 64 hex characters, found a non-hex character"},
		{"nine certificates", []string{"TAU_CERTIFICATE=" + strings.Join(nine, ",")}, nil, 2, "TAU_CERTIFICATE is invalid: 9 certificates: at most 8 are accepted"},
		{"bad second line", []string{"TAU_CERTIFICATE_FILE=" + badLine}, nil, 2, "is invalid: line 2: want 64 hex characters, got 50 characters"},
		{"unknown argument", nil, []string{"--port=1"}, 2, "TAU_* environment"},
		{"help", nil, []string{"--help"}, 0, "TAU_LISTEN_ADDRESS"},
		{"version", nil, []string{"--version"}, 0, "tau-server "},
		{"version word", nil, []string{"version"}, 0, " (revision "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := tauproc.Command(t, tc.env, tc.args...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code || !strings.Contains(out.String(), tc.want) {
				t.Fatalf("exit %d, output %q; want exit %d containing %q", code, out.String(), tc.code, tc.want)
			}
			if tc.code == 2 && strings.Count(strings.TrimSpace(out.String()), "\n") != 0 {
				t.Fatalf("config error spans lines: %q", out.String())
			}
			for _, c := range append([]string{a, b}, nine...) {
				if strings.Contains(out.String(), c[:16]) {
					t.Fatalf("a certificate appears in the output: %q", out.String())
				}
			}
		})
	}
}

func TestSIGTERMExitsZero(t *testing.T) {
	p := tauproc.Start(t, tauproc.Options{})
	if code := p.Stop(tauproc.UntilHang); code != 0 {
		t.Fatalf("exit %d after SIGTERM; log:\n%s", code, p.Log())
	}
	if len(p.Entries("stopped")) != 1 {
		t.Fatalf("no \"stopped\" line; log:\n%s", p.Log())
	}
	if strings.Contains(p.Log(), "000102030405") {
		t.Fatal("the certificate appears in the log")
	}
}

// TestMakeBuildStampsVersion builds both binaries the way a release is built (make build, with
// the version given as the Makefile takes it) and checks that each prints what was stamped.
func TestMakeBuildStampsVersion(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make not installed")
	}
	bin := t.TempDir()
	const ver, rev, date = "v9.8.7-test", "0123456789abcdef0123456789abcdef01234567", "2026-01-02T03:04:05Z"
	cmd := exec.Command("make", "-s", "build", "BIN="+bin, "VERSION="+ver, "REVISION="+rev, "BUILD_DATE="+date)
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	for _, tc := range []struct{ bin, arg string }{{"tau-server", "--version"}, {"tau", "version"}} {
		out, err := exec.Command(filepath.Join(bin, tc.bin), tc.arg).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", tc.bin, tc.arg, err, out)
		}
		want := fmt.Sprintf("%s %s (revision %s, go", tc.bin, ver, rev)
		if got := string(out); !strings.HasPrefix(got, want) || !strings.HasSuffix(got, ", built "+date+")\n") {
			t.Errorf("%s %s printed %q, want %q…, built %s)", tc.bin, tc.arg, got, want, date)
		}
	}
}

// TestUnknownVariablesWarned: a misspelt variable is warned about at start, naming the one
// meant, and not its value; Kubernetes service links are never mentioned.
func TestUnknownVariablesWarned(t *testing.T) {
	secret := strings.Repeat("5e", 32)
	p := tauproc.Start(t, tauproc.Options{Env: []string{
		"TAU_LISTN_ADDRESS=0.0.0.0:7701", "TAU_CERTIFICAT=" + secret,
		"TAU_PORT=tcp://10.0.0.1:7701", "TAU_PORT_7701_TCP_ADDR=10.0.0.1", "TAU_SERVICE_HOST=10.0.0.1",
		"TAU_SERVICE_PORT_HTTP=7702", "TAU_HEADLESS_PORT=tcp://10.0.0.2:7701",
	}})
	got := map[string]any{}
	for _, e := range p.Entries("unknown TAU_* variable ignored") {
		if e["level"] != "warn" {
			t.Errorf("logged at %v, want warn: %v", e["level"], e)
		}
		got[fmt.Sprint(e["variable"])] = e["nearest_known"]
	}
	want := map[string]any{"TAU_LISTN_ADDRESS": "TAU_LISTEN_ADDRESS", "TAU_CERTIFICAT": "TAU_CERTIFICATE"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("warned about %v, want %v; log:\n%s", got, want, p.Log())
	}
	if strings.Contains(p.Log(), secret[:16]) || strings.Contains(p.Log(), "10.0.0.") {
		t.Errorf("a value reached the log:\n%s", p.Log())
	}
}

// TestTLSConfigErrors: a bad TLS pair at start is a configuration error: exit 2, one line
// naming the variable, no key in it (CONFIG.md "TLS").
func TestTLSConfigErrors(t *testing.T) {
	ca := testpki.NewCA(t, "test CA")
	dir := t.TempDir()
	cert, key := ca.Issue(t, testpki.Options{CommonName: "server"}).Write(t, dir)
	otherKey := filepath.Join(dir, "other.key")
	testpki.WriteFile(t, otherKey, ca.Issue(t, testpki.Options{CommonName: "other"}).KeyPEM)
	badCA := filepath.Join(dir, "bad-ca.crt")
	testpki.WriteFile(t, badCA, []byte("not PEM"))
	unreadable := filepath.Join(dir, "unreadable.key")
	testpki.WriteFile(t, unreadable, nil)
	if err := os.Chmod(unreadable, 0); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		env  []string
		want string
	}{
		{"certificate alone", []string{"TAU_TLS_CERT_FILE=" + cert}, "TAU_TLS_CERT_FILE and TAU_TLS_KEY_FILE go together"},
		{"key alone", []string{"TAU_TLS_KEY_FILE=" + key}, "TAU_TLS_CERT_FILE and TAU_TLS_KEY_FILE go together"},
		{"missing certificate", []string{"TAU_TLS_CERT_FILE=/nonexistent/tls.crt", "TAU_TLS_KEY_FILE=" + key}, `TAU_TLS_CERT_FILE="/nonexistent/tls.crt" cannot be read`},
		{"key of another certificate", []string{"TAU_TLS_CERT_FILE=" + cert, "TAU_TLS_KEY_FILE=" + otherKey}, "are not a certificate and its key: tls: private key does not match public key"},
		{"bad client CA", []string{"TAU_TLS_CERT_FILE=" + cert, "TAU_TLS_KEY_FILE=" + key, "TAU_TLS_CLIENT_CA_FILE=" + badCA}, "TAU_TLS_CLIENT_CA_FILE=\"" + badCA + "\" is invalid: no PEM certificate in it"},
		{"HTTPS without a pair", []string{"TAU_HTTP_TLS=true"}, "TAU_HTTP_TLS=true without TAU_TLS_CERT_FILE and TAU_TLS_KEY_FILE"},
	}
	if os.Geteuid() != 0 { // root reads any file
		cases = append(cases, struct {
			name string
			env  []string
			want string
		}{"unreadable key", []string{"TAU_TLS_CERT_FILE=" + cert, "TAU_TLS_KEY_FILE=" + unreadable}, "cannot be read: permission denied"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := tauproc.Command(t, tc.env)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			var ee *exec.ExitError
			if err := cmd.Run(); !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Fatalf("%v, output %q; want exit 2", err, out.String())
			}
			msg := strings.TrimSpace(out.String())
			if !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") || strings.Contains(msg, "PRIVATE KEY") {
				t.Fatalf("output %q; want one line containing %q", msg, tc.want)
			}
		})
	}
}

// TestTLSServesOnlyTLS starts the binary with a pair and HTTPS: the TAU port completes a TLS
// handshake with a client trusting the CA, and /readyz answers over HTTPS.
func TestTLSServesOnlyTLS(t *testing.T) {
	ca := testpki.NewCA(t, "test CA")
	cert, key := ca.Issue(t, testpki.Options{CommonName: "server"}).Write(t, t.TempDir())
	p := tauproc.Start(t, tauproc.Options{Env: []string{"TAU_TLS_CERT_FILE=" + cert, "TAU_TLS_KEY_FILE=" + key, "TAU_HTTP_TLS=true"}})
	c, err := tls.Dial("tcp", p.Addr, &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost", MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	if code := p.Stop(time.Minute); code != 0 {
		t.Fatalf("exit %d; log:\n%s", code, p.Log())
	}
}
