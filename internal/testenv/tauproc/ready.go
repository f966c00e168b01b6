package tauproc

import (
	"crypto/tls"
	"net/http"
	"testing"
	"time"

	"github.com/taudb/tau/internal/testenv/hang"
)

// WaitReady polls http://httpAddr/readyz until it answers 200 — the one readiness wait of the
// tests, for the binary and for in-process servers (servertest). It fails the test at once if
// exited is closed first (the server stopped: waiting longer cannot help), and at the test
// binary's deadline (a hang, not a slow machine); either failure shows describe(), e.g. the
// server's log.
func WaitReady(t testing.TB, httpAddr string, exited <-chan struct{}, describe func() string) {
	t.Helper()
	waitReady(t, "http", httpAddr, exited, describe)
}

// WaitReadyHTTPS is WaitReady for a server with TAU_HTTP_TLS=true. Like kubelet's HTTPS
// probes, it does not verify the certificate: readiness is what it asks.
func WaitReadyHTTPS(t testing.TB, httpAddr string, exited <-chan struct{}, describe func() string) {
	t.Helper()
	waitReady(t, "https", httpAddr, exited, describe)
}

func waitReady(t testing.TB, scheme, httpAddr string, exited <-chan struct{}, describe func() string) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // a readiness probe, as kubelet's
	url := scheme + "://" + httpAddr + "/readyz"
	for {
		var last string
		resp, err := client.Get(url)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-exited:
			t.Fatalf("server exited before it was ready; %s", describe())
		case <-time.After(10 * time.Millisecond):
		}
		if hang.Passed(t) {
			t.Fatalf("%s not 200 before the test binary's deadline (last: %s); %s", url, last, describe())
		}
	}
}
