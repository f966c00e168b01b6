package e2e

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taudb/tau/internal/auth"
	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/internal/testenv/hang"
	"github.com/taudb/tau/internal/testenv/testpki"
	"github.com/taudb/tau/pkg/protocol"
)

// handshakes is tau_tls_handshakes_total{listener="tau", result=result}.
func (s *tlsServer) handshakes(t *testing.T, result string) float64 {
	t.Helper()
	return sample(t, s.Registry, "tau_tls_handshakes_total", map[string]string{"listener": "tau", "result": result})
}

// TestTLS_ServesTAUOverTLS: over TLS the protocol is unchanged: CONNECT, then requests.
func TestTLS_ServesTAUOverTLS(t *testing.T) {
	srv := startTLS(t, false)
	c := dialTLS(t, srv.Addr(), srv.client())
	c.expect(c.call(protocol.OpConnect, auth.DevCertificate[:]), okAnswer)
	l := label("tls.series")
	c.expect(c.call(protocol.OpCreateSeries, series(l)), okAnswer)
	c.expect(c.call(protocol.OpAppend, appendP(l, 1, 2.5)), okAnswer)
	c.expect(c.call(protocol.OpQueryPoint, queryP(l, 1)), foundAnswer(2.5))
	if st := c.nc.(*tls.Conn).ConnectionState(); st.Version < tls.VersionTLS12 {
		t.Fatalf("negotiated %s", tls.VersionName(st.Version))
	}
	if got := srv.handshakes(t, "ok"); got != 1 {
		t.Fatalf("handshakes ok = %v, want 1", got)
	}
	if got := sample(t, srv.Registry, "tau_tls_certificate_expiry_timestamp_seconds", nil); int64(got) != srv.pair.Cert.NotAfter.Unix() {
		t.Fatalf("expiry metric %v, want %d", got, srv.pair.Cert.NotAfter.Unix())
	}
}

// TestTLS_PlaintextGetsNoTAUAnswer: a plaintext CONNECT on a TLS port gets no TAU answer (it is
// not even read as a frame): the handshake fails and the connection closes.
func TestTLS_PlaintextGetsNoTAUAnswer(t *testing.T) {
	srv := startTLS(t, false)
	for _, input := range [][]byte{
		protocol.AppendFrame(nil, protocol.OpConnect, auth.DevCertificate[:]),
		protocol.AppendFrame(nil, protocol.OpPing, nil),
		[]byte("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
	} {
		nc, err := net.Dial("tcp", srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := nc.Write(input); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(nc)
		_ = nc.Close()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("%q: the server did not close", input[:4])
		}
		if strings.Contains(string(got), "TAU") {
			t.Fatalf("%q: a TAU answer on a TLS port: %x", input[:4], got)
		}
	}
	if got := srv.handshakes(t, "not_tls"); got != 3 {
		t.Fatalf("handshakes not_tls = %v, want 3", got)
	}
}

// TestTLS_OnlyTLS12AndLater: a client offering at most TLS 1.1 is refused.
func TestTLS_OnlyTLS12AndLater(t *testing.T) {
	srv := startTLS(t, false)
	old := srv.client()
	old.MinVersion, old.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	if c, err := tryDialTLS(srv.Addr(), old); err == nil {
		_ = c.Close()
		t.Fatalf("a TLS 1.1 handshake succeeded (%s)", tls.VersionName(c.ConnectionState().Version))
	}
	c := dialTLS(t, srv.Addr(), srv.client())
	c.expect(c.call(protocol.OpConnect, auth.DevCertificate[:]), okAnswer)
}

// TestTLS_MutualTLS: with TAU_TLS_CLIENT_CA_FILE a client needs a certificate that CA signed,
// on top of CONNECT; the HTTP port asks for none.
func TestTLS_MutualTLS(t *testing.T) {
	srv := startTLS(t, true, func(c *config.Config) { c.HTTPTLS = true })
	stranger := testpki.NewCA(t, "another CA").Issue(t, testpki.Options{CommonName: "stranger", Client: true}).TLS(t)
	for name, cfg := range map[string]*tls.Config{
		"no client certificate":            srv.client(),
		"client certificate of another CA": srv.client(stranger),
	} {
		t.Run(name, func(t *testing.T) {
			c, err := tryDialTLS(srv.Addr(), cfg)
			if err == nil { // TLS 1.3: the refusal arrives after the client's side of the handshake
				defer func() { _ = c.Close() }()
				_, err = c.Write(protocol.AppendFrame(nil, protocol.OpConnect, auth.DevCertificate[:]))
				if err == nil {
					_, err = c.Read(make([]byte, 10))
				}
			}
			if err == nil {
				t.Fatal("served without a client certificate of the CA")
			}
		})
	}
	if got := srv.handshakes(t, "bad_certificate"); got != 2 {
		t.Fatalf("handshakes bad_certificate = %v, want 2", got)
	}
	c := dialTLS(t, srv.Addr(), srv.client(srv.clientPair(t)))
	c.expect(c.call(protocol.OpConnect, auth.DevCertificate[:]), okAnswer)
	c.expectOpen()
	t.Run("HTTP: HTTPS only, no client certificate", func(t *testing.T) {
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: srv.client()}, Timeout: 10 * time.Second}
		for _, path := range []string{"/readyz", "/metrics"} {
			resp, err := hc.Get("https://" + srv.HTTPAddr() + path)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: %s", path, resp.Status)
			}
		}
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + srv.HTTPAddr() + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Fatal("plain HTTP served on an HTTPS port")
			}
		}
		// The HTTP port's handshakes are counted under their own listener.
		httpHandshakes := func(result string) float64 {
			return sample(t, srv.Registry, "tau_tls_handshakes_total", map[string]string{"listener": "http", "result": result})
		}
		if httpHandshakes("ok") < 1 || httpHandshakes("not_tls") != 1 || httpHandshakes("bad_certificate") != 0 {
			t.Fatalf("HTTP handshakes ok %v, not_tls %v, bad_certificate %v; want at least 1, 1, 0", httpHandshakes("ok"), httpHandshakes("not_tls"), httpHandshakes("bad_certificate"))
		}
	})
}

// TestTLS_RenewalWithoutAFailedHandshake renews the pair as cert-manager and kubelet do (a new
// Secret, its "..data" link swapped) while clients connect without pause: new handshakes get
// the new pair within seconds, none fails during a swap, and an invalid change (a key of
// another certificate) keeps the current pair.
func TestTLS_RenewalWithoutAFailedHandshake(t *testing.T) {
	srv := startTLS(t, false)
	var failures, done atomic.Int64
	var served atomic.Value // the serial the last handshake was shown
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if serial, err := connectOnce(srv); err != nil {
					failures.Add(1)
					t.Errorf("a connection failed during renewal: %v", err)
				} else {
					served.Store(serial)
					done.Add(1)
				}
			}
		}()
	}
	servedNow := func() string { s, _ := served.Load().(string); return s }
	for i := range 3 {
		next := srv.ca.Issue(t, testpki.Options{CommonName: "renewed"})
		serial := next.Cert.SerialNumber.String()
		swapUntil(t, srv, testpki.TLSFiles(next, srv.ca), func() bool { return servedNow() == serial })
		if i == 1 {
			bad := testpki.TLSFiles(next, srv.ca)
			bad["tls.key"] = srv.ca.Issue(t, testpki.Options{CommonName: "other"}).KeyPEM
			srv.mount.Update(bad)
			waitRejected(t, srv)
			before := done.Load()
			for done.Load() < before+20 {
				time.Sleep(time.Millisecond)
			}
			if got := servedNow(); got != next.Cert.SerialNumber.String() {
				t.Fatalf("after an invalid change the server shows serial %s, want the current %s", got, next.Cert.SerialNumber)
			}
		}
	}
	close(stop)
	wg.Wait()
	if failures.Load() != 0 || srv.handshakes(t, "ok") != float64(done.Load()) {
		t.Fatalf("%d failures; %v handshakes ok for %d connections", failures.Load(), srv.handshakes(t, "ok"), done.Load())
	}
	// Only the invalid change was rejected: a read that straddled a swap is no bad pair.
	if got := sample(t, srv.Registry, "tau_tls_certificate_reloads_total", map[string]string{"result": "rejected"}); got != 1 {
		t.Fatalf("%v changes rejected, want 1", got)
	}
}

// connectOnce dials, CONNECTs and PINGs, and returns the serial of the certificate shown.
func connectOnce(srv *tlsServer) (string, error) {
	c, err := tryDialTLS(srv.Addr(), srv.client())
	if err != nil {
		return "", err
	}
	defer func() { _ = c.Close() }()
	b := protocol.AppendFrame(protocol.AppendFrame(nil, protocol.OpConnect, auth.DevCertificate[:]), protocol.OpPing, nil)
	if _, err := c.Write(b); err != nil {
		return "", err
	}
	answers := make([]byte, 2*protocol.HeaderSize)
	if _, err := io.ReadFull(c, answers); err != nil {
		return "", err
	}
	if answers[4] != byte(protocol.OpOK) || answers[14] != byte(protocol.OpPong) {
		return "", errors.New("unexpected answers")
	}
	return c.ConnectionState().PeerCertificates[0].SerialNumber.String(), nil
}

func waitRejected(t *testing.T, srv *tlsServer) {
	t.Helper()
	for i := 0; sample(t, srv.Registry, "tau_tls_certificate_reloads_total", map[string]string{"result": "rejected"}) == 0; i++ {
		if i == 1000 {
			t.Fatal("the invalid change was never seen")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTLS_ClientCARotation follows the chart's CA rotation (charts/tau/README.md, "Rotate the
// CA"): once the client CA bundle holds the old and the new CA, clients of both are served
// without a restart; once it holds the new one only, the old CA's clients are refused.
func TestTLS_ClientCARotation(t *testing.T) {
	srv := startTLS(t, true)
	next := testpki.NewCA(t, "next CA")
	oldClient := srv.clientPair(t)
	newClient := next.Issue(t, testpki.Options{CommonName: "new client", Client: true}).TLS(t)
	served := func(pair tls.Certificate) bool {
		c, err := tryDialTLS(srv.Addr(), srv.client(pair))
		if err != nil {
			return false
		}
		defer func() { _ = c.Close() }()
		b := protocol.AppendFrame(nil, protocol.OpConnect, auth.DevCertificate[:])
		if _, err := c.Write(b); err != nil {
			return false
		}
		_, err = io.ReadFull(c, make([]byte, protocol.HeaderSize))
		return err == nil
	}
	if !served(oldClient) || served(newClient) {
		t.Fatal("before the rotation: want the old CA's client served and the new CA's refused")
	}
	files := testpki.TLSFiles(srv.pair, srv.ca)
	files["ca.crt"] = append(append([]byte{}, srv.ca.CertPEM...), next.CertPEM...)
	swapUntil(t, srv, files, func() bool { return served(newClient) })
	if !served(oldClient) {
		t.Fatal("with both CAs in the bundle the old CA's client is refused")
	}
	files["ca.crt"] = next.CertPEM
	swapUntil(t, srv, files, func() bool { return !served(oldClient) })
	if !served(newClient) {
		t.Fatal("after the rotation the new CA's client is refused")
	}
}

// swapUntil swaps files in (again every 200 ms: the watcher may not watch yet) until ok.
func swapUntil(t *testing.T, srv *tlsServer, files map[string][]byte, ok func() bool) {
	t.Helper()
	for i := 0; !ok(); i++ {
		if hang.Passed(t) {
			t.Fatal("the change never took effect before the test binary's deadline")
		}
		if i%20 == 0 {
			srv.mount.Update(files)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
