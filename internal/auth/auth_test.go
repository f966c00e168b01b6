package auth

import (
	"strings"
	"testing"

	"github.com/taudb/tau/pkg/protocol"
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

func TestSession(t *testing.T) {
	k := NewKeeper(DevCertificate)
	s := NewSession(k)
	if s.Allowed(protocol.OpPing) || !s.Allowed(protocol.OpConnect) || !s.Allowed(protocol.OpDisconnect) {
		t.Fatal("unauthenticated session allows the wrong opcodes")
	}
	if s.Connect(make([]byte, 32)) {
		t.Fatal("wrong certificate accepted")
	}
	if !s.Connect(DevCertificate[:]) || !s.Allowed(protocol.OpAppend) {
		t.Fatal("right certificate refused")
	}
	var other protocol.Certificate
	other[0] = 9
	k.Set(other)
	if s.Connect(DevCertificate[:]) || s.Authenticated() {
		t.Fatal("rotated-out certificate accepted on re-CONNECT")
	}
}
