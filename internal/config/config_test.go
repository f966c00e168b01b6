package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
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
		{"TLS pair", map[string]string{"TAU_TLS_CERT_FILE": "/c", "TAU_TLS_KEY_FILE": "/k", "TAU_TLS_CLIENT_CA_FILE": "/ca", "TAU_HTTP_TLS": "true"}, ""},
		{"TLS certificate alone", map[string]string{"TAU_TLS_CERT_FILE": "/c"}, "TAU_TLS_CERT_FILE and TAU_TLS_KEY_FILE go together: set both or neither"},
		{"TLS key alone", map[string]string{"TAU_TLS_KEY_FILE": "/k"}, "TAU_TLS_CERT_FILE and TAU_TLS_KEY_FILE go together"},
		{"client CA without a pair", map[string]string{"TAU_TLS_CLIENT_CA_FILE": "/ca"}, "TAU_TLS_CLIENT_CA_FILE is set without TAU_TLS_CERT_FILE"},
		{"HTTPS without a pair", map[string]string{"TAU_HTTP_TLS": "true"}, "TAU_HTTP_TLS=true without TAU_TLS_CERT_FILE"},
		{"HTTP TLS not a boolean", map[string]string{"TAU_HTTP_TLS": "yes please"}, `TAU_HTTP_TLS="yes please" is invalid: want true or false`},
		{"retention in days", map[string]string{"TAU_RETENTION": "30d"}, ""},
		{"lens capacity", map[string]string{"TAU_LENS_CAPACITY": "1"}, ""},
		{"lens capacity at its maximum", map[string]string{"TAU_LENS_CAPACITY": "1048576"}, ""},
		{"no lenses", map[string]string{"TAU_LENS_CAPACITY": "0"}, `TAU_LENS_CAPACITY="0" is invalid: want between 1 and 1048576`},
		{"too many lenses", map[string]string{"TAU_LENS_CAPACITY": "1048577"}, `TAU_LENS_CAPACITY="1048577" is invalid: want between 1 and 1048576`},
		{"lens capacity not a number", map[string]string{"TAU_LENS_CAPACITY": "many"}, `TAU_LENS_CAPACITY="many" is invalid: want an integer`},
		{"payload below a CREATE_LENS", map[string]string{"TAU_MAX_PAYLOAD_BYTES": "95"}, `TAU_MAX_PAYLOAD_BYTES="95" is invalid: want between 96 (a CREATE_LENS) and 2147483647`},
		{"retention bare number", map[string]string{"TAU_RETENTION": "30"}, `TAU_RETENTION="30" is invalid: want ` + RetentionSyntax},
		{"retention unknown unit", map[string]string{"TAU_RETENTION": "2w"}, `TAU_RETENTION="2w" is invalid: want ` + RetentionSyntax},
		{"retention empty", map[string]string{"TAU_RETENTION": ""}, `TAU_RETENTION="" is invalid: want ` + RetentionSyntax},
		{"retention negative", map[string]string{"TAU_RETENTION": "-1h"}, `TAU_RETENTION="-1h" is invalid: it is negative: want ` + RetentionSyntax},
		{"retention negative days", map[string]string{"TAU_RETENTION": "-7d"}, `TAU_RETENTION="-7d" is invalid: it is negative: want ` + RetentionSyntax},
		{"retention too long", map[string]string{"TAU_RETENTION": "106752d"}, `TAU_RETENTION="106752d" is invalid: it is longer than a Go duration holds: want at most 106751d`},
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
	t.Setenv("TAU_RETENTION", "1d12h")
	t.Setenv("TAU_DATA_DIR", "/var/lib/tau")
	t.Setenv("TAU_LENS_CAPACITY", "5")
	t.Setenv("TAU_TLS_CERT_FILE", "/tls/tls.crt")
	t.Setenv("TAU_TLS_KEY_FILE", "/tls/tls.key")
	t.Setenv("TAU_TLS_CLIENT_CA_FILE", "/tls/ca.crt")
	t.Setenv("TAU_HTTP_TLS", "true")
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.ConnectionTimeout != 250*time.Millisecond || c.PoolSize() != 3 || c.Fsync != FsyncInterval || !c.Pprof ||
		c.Retention != 36*time.Hour || c.DataDir != "/var/lib/tau" || c.LensCapacity != 5 ||
		c.TLSCertFile != "/tls/tls.crt" || c.TLSKeyFile != "/tls/tls.key" || c.TLSClientCAFile != "/tls/ca.crt" || !c.HTTPTLS {
		t.Fatalf("got %+v", c)
	}
	if got := c.Effective()["TAU_RETENTION"]; got != "36h0m0s" {
		t.Fatalf("effective TAU_RETENTION = %q", got)
	}
	if got := Default().Effective()["TAU_RETENTION"]; got != "0s (keep everything)" {
		t.Fatalf("effective default TAU_RETENTION = %q", got)
	}
}

func TestParseRetention(t *testing.T) {
	const day = 24 * time.Hour
	maxDuration := time.Duration(1<<63 - 1)
	cases := []struct {
		in      string
		want    time.Duration
		wantErr string // substring; empty when valid
	}{
		{in: "0", want: 0},
		{in: "0s", want: 0},
		{in: "0d", want: 0},
		{in: "-0", want: 0},
		{in: "1ns", want: 1},
		{in: "90m", want: 90 * time.Minute},
		{in: "720h", want: 30 * day},
		{in: "1.5h", want: 90 * time.Minute},
		{in: "+1h", want: time.Hour},
		{in: "1d", want: day},
		{in: "30d", want: 30 * day},
		{in: "007d", want: 7 * day},
		{in: "1d12h", want: day + 12*time.Hour},
		{in: "7d30m", want: 7*day + 30*time.Minute},
		{in: "1d1h1m1s", want: day + time.Hour + time.Minute + time.Second},
		{in: "1d0s", want: day},
		{in: "106751d", want: 106751 * day},
		{in: "106751d23h47m16.854775807s", want: maxDuration},
		{in: "", wantErr: "want " + RetentionSyntax},
		{in: "30", wantErr: "want " + RetentionSyntax},
		{in: "d", wantErr: "want " + RetentionSyntax},
		{in: "1.5d", wantErr: "want " + RetentionSyntax},
		{in: "+1d", wantErr: "want " + RetentionSyntax},
		{in: "1D", wantErr: "want " + RetentionSyntax},
		{in: "1 d", wantErr: "want " + RetentionSyntax},
		{in: " 30d", wantErr: "want " + RetentionSyntax},
		{in: "1dd", wantErr: "want " + RetentionSyntax},
		{in: "1d1d", wantErr: "want " + RetentionSyntax},
		{in: "1d0", wantErr: "want " + RetentionSyntax},
		{in: "1d12", wantErr: "want " + RetentionSyntax},
		{in: "12h1d", wantErr: "want " + RetentionSyntax},
		{in: "1d+1h", wantErr: "want " + RetentionSyntax},
		{in: "1d-1h", wantErr: "want " + RetentionSyntax},
		{in: "1y", wantErr: "want " + RetentionSyntax},
		{in: "-1ns", wantErr: "it is negative"},
		{in: "-720h", wantErr: "it is negative"},
		{in: "-30d", wantErr: "it is negative"},
		{in: "106752d", wantErr: "want at most 106751d"},
		{in: "99999999999999999999d", wantErr: "want at most 106751d"},
		{in: "106751d24h", wantErr: "want at most 106751d"},
		{in: "2000000h", want: 2000000 * time.Hour},
		{in: "3000000h", wantErr: "want " + RetentionSyntax}, // time.ParseDuration: overflow
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseRetention(c.in)
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case c.wantErr == "" && got != c.want:
				t.Fatalf("got %v, want %v", got, c.want)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("got %v, err %v; want an error containing %q", got, err, c.wantErr)
			}
		})
	}
}

// TestValidateRetention: a Config built in code with a negative retention is refused too.
func TestValidateRetention(t *testing.T) {
	c := Default()
	c.Retention = -time.Hour
	if err := c.Validate(); err == nil || err.Error() != `TAU_RETENTION="-1h0m0s" is invalid: want `+RetentionSyntax {
		t.Fatalf("Validate: %v", err)
	}
	c.Retention = 30 * 24 * time.Hour
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestSpecMirrorsConfig: what envconfig reads (specType) is Config field for field, name, tags
// and order, with only Retention's type changed and HTTPTLS renamed (for TAU_HTTP_TLS), so
// Load copies every field back.
func TestSpecMirrorsConfig(t *testing.T) {
	ct := reflect.TypeFor[Config]()
	if specType.NumField() != ct.NumField() {
		t.Fatalf("spec has %d fields, Config %d", specType.NumField(), ct.NumField())
	}
	for i := range ct.NumField() {
		cf, sf := ct.Field(i), specType.Field(i)
		renamed := cf.Name == "HTTPTLS" && sf.Name == "HttpTLS"
		if (cf.Name != sf.Name && !renamed) || cf.Tag != sf.Tag || (cf.Type != sf.Type && cf.Name != "Retention") {
			t.Errorf("field %d: Config %s %v %q, spec %s %v %q", i, cf.Name, cf.Type, cf.Tag, sf.Name, sf.Type, sf.Tag)
		}
		if !sf.Type.ConvertibleTo(cf.Type) {
			t.Errorf("field %s: spec type %v does not convert to %v", cf.Name, sf.Type, cf.Type)
		}
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
