package tlsconfig

import (
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"
)

// TestListenerHandshakesApart: a client that stalls its handshake does not hold up the next
// one; Accept returns connections with their handshake done; after Close, Accept fails with
// net.ErrClosed.
func TestListenerHandshakesApart(t *testing.T) {
	f := newFixture(t, false)
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := f.src.NewListener(inner, f.src.HTTPConfig(), "test", time.Minute)
	stalled, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stalled.Close() }()
	clientErr := make(chan error, 1)
	go func() {
		c, err := tls.Dial("tcp", ln.Addr().String(), f.client())
		if err == nil {
			_, err = c.Write([]byte("x"))
			_ = c.Close()
		}
		clientErr <- err
	}()
	c, err := ln.Accept() // the stalled one's handshake waits a minute: this is the other's
	if err != nil {
		t.Fatal(err)
	}
	if !c.(*tls.Conn).ConnectionState().HandshakeComplete {
		t.Fatal("accepted before its handshake was done")
	}
	_ = c.Close()
	if err := <-clientErr; err != nil {
		t.Fatal(err)
	}
	if got := f.handshakes(HandshakeOK); got != 1 {
		t.Fatalf("handshakes ok = %v, want 1", got)
	}
	_ = ln.Close()
	for range 2 {
		if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept after Close: %v", err)
		}
	}
}
