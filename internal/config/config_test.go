package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/taudb/tau/internal/auth"
)

const devHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

func TestDefaults(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c != Default() {
		t.Fatalf("defaults differ:\n%+v\n%+v", c, Default())
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		wantErr string // substring; empty when valid
	}{
		{"max connections not a number", map[string]string{"TAU_MAX_CONNECTIONS": "lots"}, `TAU_MAX_CONNECTIONS="lots" is invalid: want an integer`},
		{"zero connections", map[string]string{"TAU_MAX_CONNECTIONS": "0"}, "TAU_MAX_CONNECTIONS"},
		{"bad duration", map[string]string{"TAU_CONNECTION_TIMEOUT": "30"}, "TAU_CONNECTION_TIMEOUT"},
		{"negative pool", map[string]string{"TAU_ACTOR_POOL_SIZE": "-1"}, "TAU_ACTOR_POOL_SIZE"},
		{"tiny payload", map[string]string{"TAU_MAX_PAYLOAD_BYTES": "10"}, "TAU_MAX_PAYLOAD_BYTES"},
		{"fsync", map[string]string{"TAU_FSYNC": "never"}, `TAU_FSYNC="never"`},
		{"log level", map[string]string{"TAU_LOG_LEVEL": "loud"}, "TAU_LOG_LEVEL"},
		{"log format", map[string]string{"TAU_LOG_FORMAT": "xml"}, "TAU_LOG_FORMAT"},
		{"pprof not a boolean", map[string]string{"TAU_PPROF": "maybe"}, `TAU_PPROF="maybe" is invalid: want true or false`},
		{"pprof on", map[string]string{"TAU_PPROF": "true"}, ""},
		{"listen address", map[string]string{"TAU_LISTEN_ADDRESS": "7701"}, "TAU_LISTEN_ADDRESS"},
		{"both certificates", map[string]string{"TAU_CERTIFICATE": devHex, "TAU_CERTIFICATE_FILE": "/x"}, "both set"},
		{"short certificate", map[string]string{"TAU_CERTIFICATE": "abcd"}, "TAU_CERTIFICATE is invalid"},
		{"dev cert off loopback", map[string]string{"TAU_LISTEN_ADDRESS": "0.0.0.0:7701"}, "not a loopback"},
		{"real cert off loopback", map[string]string{"TAU_LISTEN_ADDRESS": "0.0.0.0:7701", "TAU_CERTIFICATE": devHex}, ""},
		{"ipv6 loopback", map[string]string{"TAU_LISTEN_ADDRESS": "[::1]:7701"}, ""},
		{"service links ignored", map[string]string{"TAU_PORT": "tcp://10.0.0.1:7701", "TAU_SERVICE_HOST": "10.0.0.1", "TAU_PORT_7701_TCP": "x"}, ""},
		{"unprefixed ignored", map[string]string{"LISTEN_ADDRESS": "nonsense", "MAX_CONNECTIONS": "x"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			_, err := Load()
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("err = %v, want it to contain %q", err, c.wantErr)
			case err != nil && (strings.Contains(err.Error(), devHex) || strings.Contains(err.Error(), "\n")):
				t.Fatalf("error leaks the certificate or spans lines: %v", err)
			}
		})
	}
}

func TestLoadValues(t *testing.T) {
	t.Setenv("TAU_CONNECTION_TIMEOUT", "250ms")
	t.Setenv("TAU_ACTOR_POOL_SIZE", "3")
	t.Setenv("TAU_FSYNC", "interval")
	t.Setenv("TAU_PPROF", "true")
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.ConnectionTimeout != 250*time.Millisecond || c.PoolSize() != 3 || c.Fsync != FsyncInterval || !c.Pprof {
		t.Fatalf("got %+v", c)
	}
}

func TestCertificateFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "cert")
	if err := os.WriteFile(good, []byte(devHex+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := Default()
	c.CertificateFile = good
	cert, err := c.LoadCertificate()
	if err != nil || cert != auth.DevCertificate {
		t.Fatalf("cert %x err %v", cert, err)
	}
	c.CertificateFile = filepath.Join(dir, "missing")
	if _, err := c.LoadCertificate(); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing file: %v", err)
	}
	if e := c.Effective(); !strings.Contains(e["certificate"], "missing") {
		t.Fatalf("effective config lost the file path: %v", e)
	}
	c = Default()
	c.Certificate = devHex
	for k, v := range c.Effective() {
		if strings.Contains(v, devHex) {
			t.Fatalf("effective config shows the certificate in %s", k)
		}
	}
}
