package server

import (
	"testing"

	"github.com/taudb/tau/internal/auth"
	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/pkg/protocol"
)

// TestConfigBoundsMatchTheWire: config keeps copies of two wire sizes so that it need not import
// the wire package; they must agree.
func TestConfigBoundsMatchTheWire(t *testing.T) {
	if config.MinPayloadBytes != protocol.MaxRequestPayload {
		t.Fatalf("config.MinPayloadBytes = %d, the largest fixed request is %d", config.MinPayloadBytes, protocol.MaxRequestPayload)
	}
	if protocol.Certificate(auth.DevCertificate) != protocol.DevCertificate {
		t.Fatal("auth and the wire disagree on the development certificate")
	}
	if auth.CertificateSize != protocol.CertificateSize {
		t.Fatalf("auth.CertificateSize = %d, CONNECT carries %d", auth.CertificateSize, protocol.CertificateSize)
	}
}

func TestSession(t *testing.T) {
	k := auth.NewKeeper(auth.DevCertificate)
	s := newSession(k)
	for _, op := range []protocol.Opcode{protocol.OpConnect, protocol.OpDisconnect} {
		if !s.Allowed(op) {
			t.Fatalf("%v refused before CONNECT", op)
		}
	}
	if s.Allowed(protocol.OpPing) || s.Allowed(protocol.OpAppend) {
		t.Fatal("a request allowed before CONNECT")
	}
	if !s.Connect(auth.DevCertificate[:]) || !s.Authenticated() || !s.Allowed(protocol.OpAppend) {
		t.Fatal("CONNECT with the right certificate did not authenticate")
	}
	wrong := auth.DevCertificate
	wrong[0] ^= 1
	if s.Connect(wrong[:]) || s.Authenticated() {
		t.Fatal("a wrong certificate kept the session authenticated (R5)")
	}
	k.Set(wrong) // rotation: a re-CONNECT with the old certificate fails
	if s.Connect(auth.DevCertificate[:]) || s.Authenticated() {
		t.Fatal("rotated-out certificate accepted on re-CONNECT")
	}
}
