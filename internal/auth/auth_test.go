package auth

import (
	"strings"
	"testing"
)

func TestParseCertificate(t *testing.T) {
	hexDev := "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	raw := DevCertificate[:]
	cases := []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"hex", []byte(hexDev), true},
		{"hex with newline", []byte(hexDev + "\n"), true},
		{"hex with spaces", []byte("  " + strings.ToUpper(hexDev) + " \r\n"), true},
		{"raw 32 bytes", raw, true},
		{"short hex", []byte(hexDev[:62]), false},
		{"bad hex", []byte(strings.Replace(hexDev, "0", "g", 1)), false},
		{"empty", nil, false},
		{"33 raw bytes", append(append([]byte{}, raw...), 1), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseCertificate(c.in)
			if (err == nil) != c.ok {
				t.Fatalf("err = %v, want ok=%v", err, c.ok)
			}
			if c.ok && got != DevCertificate {
				t.Fatalf("parsed %x", got)
			}
			if err != nil && strings.Contains(err.Error(), hexDev[:10]) {
				t.Fatalf("error echoes the input: %v", err)
			}
		})
	}
}
