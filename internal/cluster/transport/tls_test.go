package transport

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.etcd.io/raft/v3/raftpb"
)

// testPKI is a CA and one certificate it signed, good for a server on 127.0.0.1 and a client.
type testPKI struct {
	pool *x509.CertPool
	cert tls.Certificate
}

func newPKI(t *testing.T) testPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tau test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "tau peer"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		KeyUsage:    x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return testPKI{pool: pool, cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}}
}

// mutualTLS sets the options for mutual TLS; withClientCert false leaves the client without
// a certificate.
func (p testPKI) mutualTLS(withClientCert bool) nodeOpt {
	return func(o *Options) {
		o.TLS = &tls.Config{
			MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{p.cert},
			ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: p.pool,
		}
		o.ClientTLS = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: p.pool}
		if withClientCert {
			o.ClientTLS.Certificates = []tls.Certificate{p.cert}
		}
	}
}

// Over mutual TLS messages flow; a plaintext node, or a TLS node without a client
// certificate, reaches nothing.
func TestTransport_MutualTLS(t *testing.T) {
	pki := newPKI(t)
	b := startNode(t, 2, "", nil, pki.mutualTLS(true))
	a := startNode(t, 1, "", nil, pki.mutualTLS(true))
	a.t.AddPeer(2, b.addr)
	a.t.Send([]*raftpb.Message{msg(raftpb.MsgApp, 1, 2, 1)})
	if m := receive(t, b.h, 1)[0]; m.GetIndex() != 1 {
		t.Fatalf("got index %d", m.GetIndex())
	}
	for name, opts := range map[string][]nodeOpt{
		"plaintext":             nil,
		"no client certificate": {pki.mutualTLS(false)},
	} {
		t.Run(name, func(t *testing.T) {
			c := startNode(t, 3, "", nil, opts...)
			c.t.AddPeer(2, b.addr)
			c.t.Send([]*raftpb.Message{msg(raftpb.MsgApp, 3, 2, 1)})
			<-c.h.unreachable
			c.stop()
			if testutil.ToFloat64(c.t.m.sentBytes.WithLabelValues("2")) != 0 || len(b.h.msgs) != 0 {
				t.Fatal("a node outside mutual TLS got a message through")
			}
		})
	}
}
