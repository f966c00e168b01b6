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
	next := auth.DevCertificate
	next[0] ^= 0xff
	k, err := auth.NewKeeper(auth.DevCertificate, next)
	if err != nil {
		t.Fatal(err)
	}
	s := newSession(k)
	for _, op := range []protocol.Opcode{protocol.OpConnect, protocol.OpDisconnect} {
		if !s.Allowed(op) {
			t.Fatalf("%v refused before CONNECT", op)
		}
	}
	if s.Allowed(protocol.OpPing) || s.Allowed(protocol.OpAppend) {
		t.Fatal("a request allowed before CONNECT")
	}
	if pos, ok := s.Connect(auth.DevCertificate[:]); !ok || pos != 0 || !s.Authenticated() || !s.Allowed(protocol.OpAppend) {
		t.Fatal("CONNECT with the first certificate did not authenticate at position 0")
	}
	if pos, ok := s.Connect(next[:]); !ok || pos != 1 || !s.Authenticated() {
		t.Fatal("CONNECT with the second certificate did not authenticate at position 1")
	}
	wrong := auth.DevCertificate
	wrong[0] ^= 1
	if _, ok := s.Connect(wrong[:]); ok || s.Authenticated() {
		t.Fatal("a wrong certificate kept the session authenticated (R5)")
	}
	if err := k.Set(next); err != nil { // rotation: a re-CONNECT with the removed certificate fails
		t.Fatal(err)
	}
	if _, ok := s.Connect(auth.DevCertificate[:]); ok || s.Authenticated() {
		t.Fatal("rotated-out certificate accepted on re-CONNECT")
	}
}
