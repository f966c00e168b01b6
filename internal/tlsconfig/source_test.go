package tlsconfig

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"

	"github.com/taudb/tau/internal/testenv/testpki"
)

// handshakeWith runs a handshake of server and client over a pipe, the server's through src;
// it returns the certificate the client was shown, and both sides' errors.
func handshakeWith(t *testing.T, src *Source, server *tls.Config, client *tls.Config) (*x509.Certificate, error, error) {
	t.Helper()
	a, b := tcpPair(t) // not net.Pipe: unbuffered, it deadlocks flights that cross (a resumption's)
	defer func() { _ = a.Close(); _ = b.Close() }()
	deadline := time.Now().Add(10 * time.Second)
	_ = a.SetDeadline(deadline)
	_ = b.SetDeadline(deadline)
	sc, cc := tls.Server(a, server), tls.Client(b, client)
	var serr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		serr = src.Handshake(sc, "test")
		if serr == nil {
			// TLS 1.3 tells the client of a refused client certificate only after its handshake:
			// read, so the alert reaches it.
			_, _ = sc.Write([]byte{1})
		}
		_ = a.Close()
	}()
	cerr := cc.Handshake()
	if cerr == nil {
		_, cerr = cc.Read(make([]byte, 1))
	}
	_ = b.Close()
	wg.Wait()
	if cerr != nil {
		return nil, serr, cerr
	}
	return cc.ConnectionState().PeerCertificates[0], serr, nil
}

// tcpPair is both ends of a loopback TCP connection.
func tcpPair(t testing.TB) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if server, err = ln.Accept(); err != nil {
		t.Fatal(err)
	}
	return server, client
}

type fixture struct {
	ca    *testpki.CA
	mount *testpki.Mount
	src   *Source
	reg   *prometheus.Registry
}

// testpkiClient issues a client certificate.
var testpkiClient = testpki.Options{CommonName: "client", Client: true}

func newFixture(t testing.TB, mutual bool) *fixture {
	t.Helper()
	ca := testpki.NewCA(t, "test CA")
	f := &fixture{ca: ca, reg: prometheus.NewRegistry()}
	f.mount = testpki.NewMount(t, testpki.TLSFiles(ca.Issue(t, testpki.Options{CommonName: "server"}), ca))
	files := Files{CertFile: f.mount.Path("tls.crt"), KeyFile: f.mount.Path("tls.key")}
	if mutual {
		files.ClientCAFile = f.mount.Path("ca.crt")
	}
	var err error
	if f.src, err = New(files, zap.NewNop(), f.reg, time.Hour); err != nil {
		t.Fatal(err)
	}
	f.src.RegisterListener("test")
	return f
}

func (f *fixture) client(certs ...tls.Certificate) *tls.Config {
	return &tls.Config{RootCAs: f.ca.Pool(), ServerName: "localhost", Certificates: certs, MinVersion: tls.VersionTLS12}
}

func (f *fixture) handshakes(result string) float64 {
	return testutil.ToFloat64(f.src.handshakes.WithLabelValues("test", result))
}

func TestReloadKeepsOldPairOnInvalidChange(t *testing.T) {
	f := newFixture(t, false)
	first := f.src.Certificate().SerialNumber
	next := f.ca.Issue(t, testpki.Options{CommonName: "renewed"})
	stranger := f.ca.Issue(t, testpki.Options{CommonName: "stranger"})
	steps := []struct {
		name       string
		files      map[string][]byte
		wantSerial func() string
		loaded     float64
		rejected   float64
	}{
		{"key of another certificate", map[string][]byte{"tls.crt": next.CertPEM, "tls.key": stranger.KeyPEM, "ca.crt": f.ca.CertPEM},
			first.String, 0, 1},
		{"same bad state again: reported once", map[string][]byte{"tls.crt": next.CertPEM, "tls.key": stranger.KeyPEM, "ca.crt": f.ca.CertPEM},
			first.String, 0, 1},
		{"truncated certificate", map[string][]byte{"tls.crt": next.CertPEM[:40], "tls.key": next.KeyPEM, "ca.crt": f.ca.CertPEM},
			first.String, 0, 2},
		{"valid renewal", testpki.TLSFiles(next, f.ca), next.Cert.SerialNumber.String, 1, 2},
		{"unchanged files are not loaded again", testpki.TLSFiles(next, f.ca), next.Cert.SerialNumber.String, 1, 2},
	}
	for _, st := range steps {
		f.mount.Update(st.files)
		f.src.reload()
		cert, serr, cerr := handshakeWith(t, f.src, f.src.ServerConfig(), f.client())
		if serr != nil || cerr != nil {
			t.Fatalf("%s: handshake failed: server %v, client %v", st.name, serr, cerr)
		}
		got := []any{cert.SerialNumber.String(), testutil.ToFloat64(f.src.reloads.WithLabelValues(resultLoaded)),
			testutil.ToFloat64(f.src.reloads.WithLabelValues(resultRejected))}
		want := []any{st.wantSerial(), st.loaded, st.rejected}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s: serial, loaded, rejected = %v, want %v", st.name, got, want)
			}
		}
	}
	if expiry := gauge(t, f.reg, "tau_tls_certificate_expiry_timestamp_seconds"); int64(expiry) != next.Cert.NotAfter.Unix() {
		t.Fatalf("expiry metric %v, want %d", expiry, next.Cert.NotAfter.Unix())
	}
}

// gauge is the value of the registry's gauge name.
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no %s", name)
	return 0
}

// TestHandshakeResults: each way a handshake ends is counted under its own result.
func TestHandshakeResults(t *testing.T) {
	f := newFixture(t, true)
	client := f.ca.Issue(t, testpki.Options{CommonName: "client", Client: true})
	otherCA := testpki.NewCA(t, "another CA")
	stranger := otherCA.Issue(t, testpki.Options{CommonName: "stranger", Client: true})
	cases := []struct {
		name   string
		client *tls.Config
		result string
	}{
		{"client certificate of the CA", f.client(client.TLS(t)), HandshakeOK},
		{"no client certificate", f.client(), HandshakeBadCertificate},
		{"client certificate of another CA", f.client(stranger.TLS(t)), HandshakeBadCertificate},
		{"TLS 1.1", &tls.Config{RootCAs: f.ca.Pool(), ServerName: "localhost", MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, HandshakeError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := f.handshakes(tc.result)
			_, serr, cerr := handshakeWith(t, f.src, f.src.ServerConfig(), tc.client)
			if (tc.result == HandshakeOK) != (serr == nil && cerr == nil) {
				t.Fatalf("server %v, client %v; want %s", serr, cerr, tc.result)
			}
			if got := f.handshakes(tc.result) - before; got != 1 {
				t.Fatalf("%s counted %v times (server error %v)", tc.result, got, serr)
			}
		})
	}
	t.Run("plaintext", func(t *testing.T) {
		a, b := net.Pipe()
		defer func() { _ = a.Close() }()
		go func() {
			_, _ = b.Write([]byte("TAU\x01\x03\x00\x00\x00\x00\x00"))
			_ = b.Close()
		}()
		sc := tls.Server(a, f.src.ServerConfig())
		_ = sc.SetDeadline(time.Now().Add(10 * time.Second))
		before := f.handshakes(HandshakeNotTLS)
		if err := f.src.Handshake(sc, "test"); err == nil {
			t.Fatal("a plaintext frame completed a handshake")
		}
		if f.handshakes(HandshakeNotTLS)-before != 1 {
			t.Fatal("not counted as not_tls")
		}
	})
	t.Run("stalled", func(t *testing.T) {
		a, b := net.Pipe()
		defer func() { _ = a.Close(); _ = b.Close() }()
		sc := tls.Server(a, f.src.ServerConfig())
		_ = sc.SetDeadline(time.Now().Add(50 * time.Millisecond))
		before := f.handshakes(HandshakeTimeout)
		if err := f.src.Handshake(sc, "test"); err == nil {
			t.Fatal("a silent client completed a handshake")
		}
		if f.handshakes(HandshakeTimeout)-before != 1 {
			t.Fatal("not counted as timeout")
		}
	})
	t.Run("HTTP never asks for a client certificate", func(t *testing.T) {
		if _, serr, cerr := handshakeWith(t, f.src, f.src.HTTPConfig(), f.client()); serr != nil || cerr != nil {
			t.Fatalf("server %v, client %v", serr, cerr)
		}
	})
}

// TestClientConfig: peers verify each other, each presenting the pair and trusting the CA
// bundle; a peer whose certificate another CA signed is refused.
func TestClientConfig(t *testing.T) {
	f := newFixture(t, true)
	// A peer's pair serves both ways: it must allow client authentication too.
	peer := issuePeer(t, f.ca)
	f.mount.Update(testpki.TLSFiles(peer, f.ca))
	f.src.reload()
	if _, serr, cerr := handshakeWith(t, f.src, f.src.ServerConfig(), f.src.ClientConfig("localhost")); serr != nil || cerr != nil {
		t.Fatalf("peer to peer: server %v, client %v", serr, cerr)
	}
	other := newFixture(t, true)
	if _, serr, cerr := handshakeWith(t, f.src, f.src.ServerConfig(), other.src.ClientConfig("localhost")); cerr == nil || serr == nil {
		t.Fatal("a peer of another CA was accepted")
	}
}

// issuePeer is a pair usable both ways, as a peer's is (cert-manager usages: server auth,
// client auth).
func issuePeer(t *testing.T, ca *testpki.CA) testpki.Pair {
	t.Helper()
	return ca.Issue(t, testpki.Options{CommonName: "peer", Peer: true})
}

func TestRunFollowsSecretSwap(t *testing.T) {
	f := newFixture(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.src.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	next := f.ca.Issue(t, testpki.Options{CommonName: "renewed"})
	for i := 0; f.src.Certificate().SerialNumber.Cmp(next.Cert.SerialNumber) != 0; i++ {
		if i == 500 {
			t.Fatal("the renewed pair was never loaded")
		}
		if i%50 == 0 { // the watcher may not watch yet: update again, as kubelet's next sync would
			f.mount.Update(testpki.TLSFiles(next, f.ca))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(f.src.Certificate().Subject.String(), "renewed") {
		t.Fatal("wrong certificate")
	}
}

// TestResumedSessionCheckedAgainstCurrentCAs: sessions resume (one server config, as a
// listener has, keeps its ticket keys across reloads), but a client whose CA has left the
// client CA bundle is refused even with a ticket of an earlier full handshake: crypto/tls
// verifies the session's certificate against the CAs of now and falls back to a full
// handshake, which refuses it (a CA rotation's last step must hold).
func TestResumedSessionCheckedAgainstCurrentCAs(t *testing.T) {
	f := newFixture(t, true)
	client := f.client(f.ca.Issue(t, testpkiClient).TLS(t))
	client.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	server := f.src.ServerConfig() // one config, as a listener has: its ticket keys are its own
	if _, serr, cerr := handshakeWith(t, f.src, server, client); serr != nil || cerr != nil {
		t.Fatalf("first handshake: server %v, client %v", serr, cerr)
	}
	var resumed bool
	client.VerifyConnection = func(cs tls.ConnectionState) error { resumed = cs.DidResume; return nil }
	if _, serr, cerr := handshakeWith(t, f.src, server, client); serr != nil || cerr != nil || !resumed {
		t.Fatalf("resumed handshake: server %v, client %v, resumed %v", serr, cerr, resumed)
	}
	files := testpki.TLSFiles(f.ca.Issue(t, testpki.Options{CommonName: "server"}), f.ca)
	files["ca.crt"] = testpki.NewCA(t, "next CA").CertPEM
	f.mount.Update(files)
	f.src.reload()
	before := f.handshakes(HandshakeBadCertificate)
	resumed = false
	if _, serr, cerr := handshakeWith(t, f.src, server, client); serr == nil || cerr == nil || resumed {
		t.Fatalf("a session of a removed CA was served or resumed (resumed %v)", resumed)
	}
	if got := f.handshakes(HandshakeBadCertificate) - before; got != 1 {
		t.Fatalf("bad_certificate counted %v, want 1", got)
	}
}
