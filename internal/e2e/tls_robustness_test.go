package e2e

import (
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/taudb/tau/internal/auth"
	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/pkg/protocol"
)

// expectCut waits for the server to close nc, without a byte of TAU, and fails on a timeout.
func expectCut(t *testing.T, nc net.Conn) {
	t.Helper()
	_ = nc.SetReadDeadline(time.Now().Add(20 * time.Second))
	got, err := io.ReadAll(nc)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server did not cut the connection")
	}
	if len(got) >= 3 && string(got[:3]) == "TAU" {
		t.Fatalf("a TAU answer on a TLS port: %x", got)
	}
}

func dialTCP(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	return nc
}

// TestR12_TLSHandshakeAbuse: handshakes that stall, trickle, or are garbage are cut at the
// idle timeout (counted from the accept) or at once, counted, and never hurt a good client.
func TestR12_TLSHandshakeAbuse(t *testing.T) {
	srv := startTLS(t, false, func(c *config.Config) { c.ConnectionTimeout = 300 * time.Millisecond })
	hello := clientHello(t)
	t.Run("stalled: nothing sent", func(t *testing.T) {
		expectCut(t, dialTCP(t, srv.Addr()))
	})
	t.Run("half done: a ClientHello, then nothing", func(t *testing.T) {
		nc := dialTCP(t, srv.Addr())
		if _, err := nc.Write(hello); err != nil {
			t.Fatal(err)
		}
		expectCut(t, nc)
	})
	t.Run("trickled: a byte of the ClientHello every 50 ms", func(t *testing.T) {
		nc := dialTCP(t, srv.Addr())
		for i := range hello { // 300 ms lets through at most 6 or so bytes of ~250
			if _, err := nc.Write(hello[i : i+1]); err != nil {
				return // cut while trickling
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatal("a ClientHello trickled over many idle timeouts was never cut")
	})
	t.Run("garbage", func(t *testing.T) {
		rng := rand.New(rand.NewSource(21))
		for range 20 {
			junk := make([]byte, 1+rng.Intn(300))
			rng.Read(junk)
			nc := dialTCP(t, srv.Addr())
			if _, err := nc.Write(junk); err == nil {
				expectCut(t, nc)
			}
		}
	})
	// Each cut is counted: one timeout for each of the first three, the garbage under the
	// results a failed handshake has, the trickled one's among the timeouts.
	if got := srv.handshakes(t, "timeout"); got != 3 {
		t.Fatalf("handshakes timeout = %v, want 3", got)
	}
	if got := sample(t, srv.Registry, "tau_connections_rejected_total", map[string]string{"reason": "idle_timeout"}); got != 3 {
		t.Fatalf("connections rejected for idle_timeout = %v, want 3", got)
	}
	failed := srv.handshakes(t, "not_tls") + srv.handshakes(t, "error") + srv.handshakes(t, "closed")
	if failed != 20 || sample(t, srv.Registry, "tau_connections_rejected_total", map[string]string{"reason": "tls_handshake"}) != 20 {
		t.Fatalf("%v garbage handshakes counted, want 20", failed)
	}
	c := dialTLS(t, srv.Addr(), srv.client())
	c.expect(c.call(protocol.OpConnect, auth.DevCertificate[:]), okAnswer)
}

// TestR12_TLSHalfOpenFlood: a flood of half-open TLS connections holds places of the
// connection limit only until the idle timeout, while a good client is served; over the limit
// a connection is closed without a byte (a TLS port never answers in plaintext).
func TestR12_TLSHalfOpenFlood(t *testing.T) {
	const limit, flood = 40, 39
	srv := startTLS(t, false, func(c *config.Config) {
		c.MaxConnections, c.ConnectionTimeout = limit, 2*time.Second
	})
	good := dialTLS(t, srv.Addr(), srv.client())
	good.expect(good.call(protocol.OpConnect, auth.DevCertificate[:]), okAnswer)
	hello := clientHello(t)
	conns := make([]net.Conn, flood)
	for i := range conns {
		conns[i] = dialTCP(t, srv.Addr())
		if _, err := conns[i].Write(hello[:len(hello)/2]); err != nil {
			t.Fatal(err)
		}
	}
	waitGauge(t, srv, "tau_connections_open", limit)
	over := dialTCP(t, srv.Addr())
	expectCut(t, over)
	for range 50 { // the good client is served while the flood holds its places
		good.expectOpen()
	}
	var wg sync.WaitGroup
	for _, nc := range conns {
		wg.Add(1)
		go func() { defer wg.Done(); expectCut(t, nc) }()
	}
	wg.Wait()
	// The flood's places are free again. The good client may be cut too by now, for its own
	// idleness on a loaded machine: what it had to show, being served during the flood, it did.
	waitUntil(t, "the flood's connections closed", func() bool {
		return sample(t, srv.Registry, "tau_connections_open", nil) <= 1
	})
	if got := srv.handshakes(t, "timeout"); got != flood {
		t.Fatalf("handshakes timeout = %v, want %d", got, flood)
	}
	if got := sample(t, srv.Registry, "tau_connections_rejected_total", map[string]string{"reason": "limit"}); got != 1 {
		t.Fatalf("connections rejected over the limit = %v, want 1", got)
	}
	fresh := dialTLS(t, srv.Addr(), srv.client())
	fresh.expect(fresh.call(protocol.OpConnect, auth.DevCertificate[:]), okAnswer)
}

// TestR12_TLSHalfOpenMemory: a connection whose handshake never completes costs only its TLS
// state; the buffers and window of a TAU connection (over 64 KiB) come after the handshake.
func TestR12_TLSHalfOpenMemory(t *testing.T) {
	const n = 200
	srv := startTLS(t, false, func(c *config.Config) { c.MaxConnections = 2 * n })
	hello := clientHello(t)
	before := heapInUse()
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = dialTCP(t, srv.Addr())
		if _, err := conns[i].Write(hello[:len(hello)/2]); err != nil {
			t.Fatal(err)
		}
	}
	waitGauge(t, srv, "tau_connections_open", n)
	perConn := (heapInUse() - before) / n
	t.Logf("%d bytes of heap a half-open connection", perConn)
	if perConn > 32<<10 {
		t.Fatalf("a half-open TLS connection holds %d bytes of heap, want at most 32 KiB", perConn)
	}
}

func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// waitGauge waits until the server's gauge reads want.
func waitGauge(t *testing.T, srv *tlsServer, name string, want float64) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("%s reaching %v", name, want), func() bool {
		return sample(t, srv.Registry, name, nil) == want
	})
}

// TestTLS_ShutdownCutsHandshakes: shutdown does not wait for a handshake under way: with
// the idle and shutdown timeouts far beyond servertest's hang detector, a server that
// waited for its half-open connections would be reported hung.
func TestTLS_ShutdownCutsHandshakes(t *testing.T) {
	srv := startTLS(t, false, func(c *config.Config) {
		c.ConnectionTimeout, c.ShutdownTimeout = 10*time.Minute, 10*time.Minute
	})
	hello := clientHello(t)
	conns := make([]net.Conn, 5)
	for i := range conns {
		conns[i] = dialTCP(t, srv.Addr())
		if _, err := conns[i].Write(hello[:len(hello)/2]); err != nil {
			t.Fatal(err)
		}
	}
	waitGauge(t, srv, "tau_connections_open", float64(len(conns)))
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, nc := range conns {
		expectCut(t, nc)
	}
}
