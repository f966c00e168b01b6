package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/taudb/tau/internal/auth"
)

const (
	devHex   = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	otherHex = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
)

// hexList is n distinct certificates, comma-separated.
func hexList(n int) string {
	entries := make([]string, n)
	for i := range entries {
		entries[i] = strings.Repeat(fmt.Sprintf("%02x", 0x10+i), 32)
	}
	return strings.Join(entries, ",")
}

// leaks reports whether a message shows any part of a test certificate.
func leaks(msg string) bool {
	msg = strings.ToLower(msg)
	for _, c := range append(strings.Split(hexList(9), ","), devHex, otherHex) {
		if strings.Contains(msg, c[:16]) || strings.Contains(msg, c[48:]) {
			return true
		}
	}
	return false
}

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
		{"bad duration", map[string]string{"TAU_CONNECTION_TIMEOUT": "30"}, `TAU_CONNECTION_TIMEOUT="30" is invalid: want a Go duration such as 30s or 500ms`},
		{"negative pool", map[string]string{"TAU_ACTOR_POOL_SIZE": "-1"}, "TAU_ACTOR_POOL_SIZE"},
		{"tiny payload", map[string]string{"TAU_MAX_PAYLOAD_BYTES": "10"}, "TAU_MAX_PAYLOAD_BYTES"},
		{"fsync", map[string]string{"TAU_FSYNC": "never"}, `TAU_FSYNC="never"`},
		{"log level", map[string]string{"TAU_LOG_LEVEL": "loud"}, "TAU_LOG_LEVEL"},
		{"log format", map[string]string{"TAU_LOG_FORMAT": "xml"}, "TAU_LOG_FORMAT"},
		{"pprof not a boolean", map[string]string{"TAU_PPROF": "maybe"}, `TAU_PPROF="maybe" is invalid: want true or false`},
		{"pprof on", map[string]string{"TAU_PPROF": "true"}, ""},
		{"listen address", map[string]string{"TAU_LISTEN_ADDRESS": "7701"}, "TAU_LISTEN_ADDRESS"},
		{"both certificates", map[string]string{"TAU_CERTIFICATE": devHex, "TAU_CERTIFICATE_FILE": "/x"}, "both set"},
		{"short certificate", map[string]string{"TAU_CERTIFICATE": "abcd"}, "TAU_CERTIFICATE is invalid: entry 1: want 64 hex characters, got 4 characters"},
		{"two certificates", map[string]string{"TAU_CERTIFICATE": devHex + "," + otherHex}, ""},
		{"eight certificates", map[string]string{"TAU_CERTIFICATE": hexList(8)}, ""},
		{"nine certificates", map[string]string{"TAU_CERTIFICATE": hexList(9)}, "TAU_CERTIFICATE is invalid: 9 certificates: at most 8 are accepted"},
		{"bad second certificate", map[string]string{"TAU_CERTIFICATE": devHex + "," + otherHex[:63] + "x"}, "TAU_CERTIFICATE is invalid: entry 2: want 64 hex characters, found a non-hex character"},
		{"empty entry", map[string]string{"TAU_CERTIFICATE": devHex + ",," + otherHex}, "TAU_CERTIFICATE is invalid: entry 2 is empty"},
		{"trailing comma", map[string]string{"TAU_CERTIFICATE": devHex + ","}, "TAU_CERTIFICATE is invalid: entry 2 is empty"},
		{"duplicate certificate", map[string]string{"TAU_CERTIFICATE": otherHex + "," + devHex + "," + strings.ToUpper(otherHex)}, "TAU_CERTIFICATE is invalid: entry 3 repeats entry 1"},
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
			case err != nil && (leaks(err.Error()) || strings.Contains(err.Error(), "\n")):
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
	certs, err := c.LoadCertificates()
	if err != nil || len(certs) != 1 || certs[0] != auth.DevCertificate {
		t.Fatalf("certs %x err %v", certs, err)
	}
	c.CertificateFile = filepath.Join(dir, "missing")
	if _, err := c.LoadCertificates(); err == nil || !strings.Contains(err.Error(), "missing") {
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

// TestLoadCertificates: the list and the file give the accepted certificates in their order
// (positions 1, 2, ... of tau_auth_connects_total), and a bad entry or line is named by its
// position, with the variable, and never shown.
func TestLoadCertificates(t *testing.T) {
	dev, other := mustHex(t, devHex), mustHex(t, otherHex)
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name     string
		list     string
		file     string
		want     []auth.Certificate
		wantErrs []string
	}{
		{name: "list of two", list: otherHex + "," + devHex, want: []auth.Certificate{other, dev}},
		{name: "list, bad second", list: otherHex + ",abc", wantErrs: []string{"TAU_CERTIFICATE is invalid: entry 2: want 64 hex characters, got 3 characters"}},
		{name: "dev", want: []auth.Certificate{dev}},
		{name: "file of one", file: file("one", devHex+"\n"), want: []auth.Certificate{dev}},
		{name: "file of raw bytes", file: file("raw", string(dev[:])), want: []auth.Certificate{dev}},
		{name: "file of two", file: file("two", devHex+"\n"+otherHex+"\n"), want: []auth.Certificate{dev, other}},
		{name: "file of eight", file: file("eight", strings.ReplaceAll(hexList(8), ",", "\n")+"\n")},
		{name: "file of nine", file: file("nine", strings.ReplaceAll(hexList(9), ",", "\n")),
			wantErrs: []string{`TAU_CERTIFICATE_FILE="`, `nine" is invalid: 9 certificates: at most 8 are accepted`}},
		{name: "file, bad second line", file: file("bad2", devHex+"\n"+otherHex[:60]+"\n"),
			wantErrs: []string{`bad2" is invalid: line 2: want 64 hex characters, got 60 characters`}},
		{name: "file, empty line", file: file("gap", devHex+"\n\n"+otherHex+"\n"), wantErrs: []string{`gap" is invalid: line 2 is empty`}},
		{name: "file, duplicate", file: file("dup", devHex+"\n"+otherHex+"\n"+devHex+"\n"), wantErrs: []string{`dup" is invalid: line 3 repeats line 1`}},
		{name: "file, comma-separated", file: file("commas", devHex+","+otherHex), wantErrs: []string{`commas" is invalid: line 1`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			c.Certificate, c.CertificateFile = tc.list, tc.file
			got, err := c.LoadCertificates()
			if err != nil && (leaks(err.Error()) || strings.Contains(err.Error(), "\n")) {
				t.Fatalf("error leaks a certificate or spans lines: %v", err)
			}
			if tc.wantErrs != nil {
				for _, w := range tc.wantErrs {
					if err == nil || !strings.Contains(err.Error(), w) {
						t.Fatalf("err = %v, want it to contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != nil && fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %x, want %x", got, tc.want)
			}
			if tc.list != "" {
				if err := c.Validate(); err != nil {
					t.Fatalf("Validate refuses what LoadCertificates takes: %v", err)
				}
			}
		})
	}
}

func mustHex(t *testing.T, s string) auth.Certificate {
	t.Helper()
	c, err := auth.ParseHex(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
