package client_test

import (
	"context"
	"crypto/tls"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/taudb/tau/internal/auth"
	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/internal/server/servertest"
	"github.com/taudb/tau/internal/testenv/testpki"
	"github.com/taudb/tau/pkg/client"
	"github.com/taudb/tau/pkg/protocol"
)

// tlsServer starts a server with TLS and mutual TLS from one CA, and returns its address and
// a client pair of that CA.
func tlsServer(t *testing.T) (addr string, ca *testpki.CA, clientPair tls.Certificate) {
	t.Helper()
	ca = testpki.NewCA(t, "client test CA")
	dir := t.TempDir()
	cert, key := ca.Issue(t, testpki.Options{CommonName: "server"}).Write(t, dir)
	caFile := filepath.Join(dir, "ca.crt")
	testpki.WriteFile(t, caFile, ca.CertPEM)
	srv := servertest.Start(t, func(c *config.Config) {
		c.TLSCertFile, c.TLSKeyFile, c.TLSClientCAFile = cert, key, caFile
	})
	return srv.Addr(), ca, ca.Issue(t, testpki.Options{CommonName: "client", Client: true}).TLS(t)
}

func TestTLS(t *testing.T) {
	addr, ca, pair := tlsServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	c, err := client.Dial(ctx, addr, protocol.Certificate(auth.DevCertificate), &client.Options{TLS: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	l := protocol.LabelFromString("tls")
	if err := c.Create(ctx, l); err != nil {
		t.Fatal(err)
	}
	if err := c.Append(ctx, l, 5, 1.5); err != nil {
		t.Fatal(err)
	}
	if v, found, err := c.Query(ctx, l, 5); err != nil || !found || v != 1.5 {
		t.Fatalf("query: %v %v %v", v, found, err)
	}
	if cfg.ServerName != "" {
		t.Fatal("Dial changed the caller's tls.Config")
	}
	t.Run("plaintext to a TLS port fails as a connection error", func(t *testing.T) {
		_, err := client.Dial(ctx, addr, protocol.Certificate(auth.DevCertificate), &client.Options{DialTimeout: 5 * time.Second})
		var ce *client.ConnError
		if !errors.As(err, &ce) {
			t.Fatalf("err = %v, want a *ConnError", err)
		}
	})
	t.Run("an untrusted server fails the handshake", func(t *testing.T) {
		other := &tls.Config{RootCAs: testpki.NewCA(t, "another CA").Pool(), Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
		_, err := client.Dial(ctx, addr, protocol.Certificate(auth.DevCertificate), &client.Options{TLS: other})
		var ce *client.ConnError
		if !errors.As(err, &ce) || !ce.Dial {
			t.Fatalf("err = %v, want a dial *ConnError", err)
		}
	})
}
