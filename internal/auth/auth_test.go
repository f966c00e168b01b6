package auth

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

const hexDev = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

// cert is a certificate of 32 bytes b.
func cert(b byte) Certificate {
	var c Certificate
	for i := range c {
		c[i] = b
	}
	return c
}

func hexOf(c Certificate) string { return hex.EncodeToString(c[:]) }

// noEcho fails when an error shows any certificate's content, or spans lines.
func noEcho(t *testing.T, err error, certs ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, c := range append(certs, hexDev) {
		if strings.Contains(strings.ToLower(err.Error()), c[:16]) {
			t.Fatalf("error echoes a certificate: %v", err)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Fatalf("error spans lines: %q", err)
	}
}

func TestParseFile(t *testing.T) {
	a, b := hexOf(cert(0xa1)), hexOf(cert(0xb2))
	nine := make([]string, 9)
	for i := range nine {
		nine[i] = hexOf(cert(byte(i + 1)))
	}
	cases := []struct {
		name    string
		in      string
		want    []Certificate
		wantErr string
	}{
		{"hex", hexDev, []Certificate{DevCertificate}, ""},
		{"hex with newline", hexDev + "\n", []Certificate{DevCertificate}, ""},
		{"hex with spaces", "  " + strings.ToUpper(hexDev) + " \r\n", []Certificate{DevCertificate}, ""},
		{"blank lines around", "\n\n" + hexDev + "\n\n\n", []Certificate{DevCertificate}, ""},
		{"raw 32 bytes", string(DevCertificate[:]), []Certificate{DevCertificate}, ""},
		{"raw 32 bytes that look like text", strings.Repeat("a\n", 16), []Certificate{[32]byte([]byte(strings.Repeat("a\n", 16)))}, ""},
		{"two lines", a + "\n" + b + "\n", []Certificate{cert(0xa1), cert(0xb2)}, ""},
		{"two lines, CRLF", a + "\r\n" + b + "\r\n", []Certificate{cert(0xa1), cert(0xb2)}, ""},
		{"eight lines", strings.Join(nine[:8], "\n"), nil, ""},
		{"nine lines", strings.Join(nine, "\n"), nil, "9 certificates: at most 8"},
		{"short hex", hexDev[:62], nil, "line 1: want 64 hex characters, got 62 characters (or the whole file exactly 32 raw bytes)"},
		{"bad hex", strings.Replace(hexDev, "0", "g", 1), nil, "line 1: want 64 hex characters, found a non-hex character"},
		{"empty", "", nil, "no certificate"},
		{"only white space", " \n\t\n", nil, "no certificate"},
		{"33 raw bytes", string(DevCertificate[:]) + "\x01", nil, "line 1"},
		{"bad second line", a + "\n" + b[:40] + "\n", nil, "line 2: want 64 hex characters, got 40 characters"},
		{"bad line counted in the file", "\n" + a + "\n" + b + "x\n", nil, "line 3:"},
		{"empty line between", a + "\n\n" + b, nil, "line 2 is empty"},
		{"duplicate", a + "\n" + b + "\n" + strings.ToUpper(a), nil, "line 3 repeats line 1"},
		{"comma in a file", a + "," + b, nil, "line 1: want 64 hex characters, got 129 characters"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseFile([]byte(c.in))
			noEcho(t, err, a, b)
			switch {
			case c.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, c.wantErr)
				}
				return
			case err != nil:
				t.Fatalf("unexpected error: %v", err)
			case c.want != nil && !equal(got, c.want):
				t.Fatalf("parsed %x, want %x", got, c.want)
			}
		})
	}
}

func TestParseList(t *testing.T) {
	a, b := hexOf(cert(0xa1)), hexOf(cert(0xb2))
	nine := make([]string, 9)
	for i := range nine {
		nine[i] = hexOf(cert(byte(i + 1)))
	}
	cases := []struct {
		name    string
		in      string
		want    []Certificate
		wantErr string
	}{
		{"one", hexDev, []Certificate{DevCertificate}, ""},
		{"two", a + "," + b, []Certificate{cert(0xa1), cert(0xb2)}, ""},
		{"spaces around entries", " " + a + " , " + b + " ", []Certificate{cert(0xa1), cert(0xb2)}, ""},
		{"eight", strings.Join(nine[:8], ","), nil, ""},
		{"nine", strings.Join(nine, ","), nil, "9 certificates: at most 8 are accepted"},
		{"empty", "", nil, "entry 1 is empty"},
		{"trailing comma", a + ",", nil, "entry 2 is empty"},
		{"empty entry between", a + ",," + b, nil, "entry 2 is empty"},
		{"short second", a + "," + b[:10], nil, "entry 2: want 64 hex characters, got 10 characters"},
		{"non-hex first", "z" + a[1:] + "," + b, nil, "entry 1: want 64 hex characters, found a non-hex character"},
		{"duplicate", a + "," + b + "," + a, nil, "entry 3 repeats entry 1"},
		{"newline-separated", a + "\n" + b, nil, "entry 1: want 64 hex characters, got 129 characters"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseList(c.in)
			noEcho(t, err, a, b)
			switch {
			case c.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, c.wantErr)
				}
			case err != nil:
				t.Fatalf("unexpected error: %v", err)
			case c.want != nil && !equal(got, c.want):
				t.Fatalf("parsed %x, want %x", got, c.want)
			}
		})
	}
}

func equal(a, b []Certificate) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestCheckFindsThePosition: every accepted certificate matches at its own position, nothing
// else matches, and the unused slots (zero) never do.
func TestCheckFindsThePosition(t *testing.T) {
	for n := 1; n <= MaxCertificates; n++ {
		certs := make([]Certificate, n)
		for i := range certs {
			certs[i] = cert(byte(0x10 + i))
		}
		k, err := NewKeeper(certs...)
		if err != nil {
			t.Fatal(err)
		}
		if k.Len() != n || !k.Holds(certs) || len(k.Fingerprints()) != n {
			t.Fatalf("n=%d: Len %d, Holds %v, %d fingerprints", n, k.Len(), k.Holds(certs), len(k.Fingerprints()))
		}
		for i, c := range certs {
			if pos, ok := k.Check(c[:]); !ok || pos != i {
				t.Fatalf("n=%d: certificate %d matched at %d, ok=%v", n, i, pos, ok)
			}
		}
		var zero Certificate
		wrong := certs[n-1]
		wrong[31] ^= 1
		for _, p := range [][]byte{zero[:], wrong[:], certs[0][:31], append(certs[0][:], 0), nil} {
			if pos, ok := k.Check(p); ok || pos != -1 {
				t.Fatalf("n=%d: %x accepted at %d", n, p, pos)
			}
		}
	}
}

func TestKeeperSet(t *testing.T) {
	a, b := cert(1), cert(2)
	k, err := NewKeeper(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if pos, ok := k.Check(b[:]); !ok || pos != 1 {
		t.Fatalf("b at %d, %v", pos, ok)
	}
	// The rotation's last step: the old line goes, the new one becomes the first.
	if err := k.Set(b); err != nil {
		t.Fatal(err)
	}
	if _, ok := k.Check(a[:]); ok {
		t.Fatal("a removed certificate still matches")
	}
	if pos, ok := k.Check(b[:]); !ok || pos != 0 {
		t.Fatalf("b at %d, %v after the old line went", pos, ok)
	}
	nine := make([]Certificate, MaxCertificates+1)
	for i := range nine {
		nine[i] = cert(byte(i + 1))
	}
	for name, set := range map[string][]Certificate{"none": nil, "nine": nine, "duplicate": {a, b, a}} {
		if err := k.Set(set...); err == nil {
			t.Fatalf("%s: set accepted", name)
		}
		if !k.Holds([]Certificate{b}) {
			t.Fatalf("%s: a refused set replaced the current one", name)
		}
	}
	if _, err := NewKeeper(); err == nil {
		t.Fatal("a keeper without a certificate")
	}
}

func TestFingerprint(t *testing.T) {
	fp := Fingerprint(DevCertificate)
	if len(fp) != 8 || strings.Contains(hexDev, fp) {
		t.Fatalf("fingerprint %q", fp)
	}
}

// BenchmarkCheck: one certificate or eight, the check reads all MaxCertificates slots, so the
// two take the same time.
func BenchmarkCheck(b *testing.B) {
	for _, n := range []int{1, MaxCertificates} {
		certs := make([]Certificate, n)
		for i := range certs {
			certs[i] = cert(byte(i + 1))
		}
		k, err := NewKeeper(certs...)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				k.Check(certs[0][:])
			}
		})
	}
}
