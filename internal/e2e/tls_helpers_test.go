package e2e

import (
	"bufio"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/internal/server/servertest"
	"github.com/taudb/tau/internal/testenv/testpki"
)

// tlsServer is a server whose TAU port speaks TLS, its pair and CA mounted as kubelet mounts a
// cert-manager Secret (tls.crt, tls.key, ca.crt).
type tlsServer struct {
	*servertest.Server
	ca    *testpki.CA
	mount *testpki.Mount
	pair  testpki.Pair
}

// startTLS runs a TLS server; mutual adds TAU_TLS_CLIENT_CA_FILE (the same CA's ca.crt).
func startTLS(t testing.TB, mutual bool, opts ...func(*config.Config)) *tlsServer {
	t.Helper()
	ca := testpki.NewCA(t, "tau test CA")
	s := &tlsServer{ca: ca, pair: ca.Issue(t, testpki.Options{CommonName: "tau"})}
	s.mount = testpki.NewMount(t, testpki.TLSFiles(s.pair, ca))
	s.Server = start(t, append([]func(*config.Config){func(c *config.Config) {
		c.TLSCertFile, c.TLSKeyFile = s.mount.Path("tls.crt"), s.mount.Path("tls.key")
		if mutual {
			c.TLSClientCAFile = s.mount.Path("ca.crt")
		}
	}}, opts...)...)
	return s
}

// client is a client configuration trusting the server's CA, presenting certs.
func (s *tlsServer) client(certs ...tls.Certificate) *tls.Config {
	return &tls.Config{RootCAs: s.ca.Pool(), ServerName: "localhost", Certificates: certs, MinVersion: tls.VersionTLS12}
}

// clientPair is a client certificate of the server's CA.
func (s *tlsServer) clientPair(t testing.TB) tls.Certificate {
	t.Helper()
	return s.ca.Issue(t, testpki.Options{CommonName: "client", Client: true}).TLS(t)
}

// dialTLS connects and completes the handshake; the rawConn then speaks TAU over it.
func dialTLS(t testing.TB, addr string, cfg *tls.Config) *rawConn {
	t.Helper()
	c, err := tryDialTLS(addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &rawConn{t: t, nc: c, br: bufio.NewReader(c)}
}

func tryDialTLS(addr string, cfg *tls.Config) (*tls.Conn, error) {
	d := &net.Dialer{Timeout: 10 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	return c, nil
}

// clientHello is the first flight of a TLS client: what a handshake trickled or left half
// done sends.
func clientHello(t testing.TB) []byte {
	t.Helper()
	a, b := net.Pipe()
	defer func() { _ = a.Close(); _ = b.Close() }()
	go func() {
		_ = tls.Client(a, &tls.Config{ServerName: "localhost", MinVersion: tls.VersionTLS12}).Handshake()
	}()
	buf := make([]byte, 4096)
	_ = b.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := b.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}
