package e2e

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/taudb/tau/internal/auth"
	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/pkg/protocol"
)

// secretMount is a directory laid out as kubelet mounts a Secret: "certificate" is a link
// through "..data", itself a link to a timestamped directory that an update replaces whole.
type secretMount struct {
	t   *testing.T
	dir string
	n   int
}

func newSecretMount(t *testing.T, certs ...[]byte) *secretMount {
	m := &secretMount{t: t, dir: t.TempDir()}
	m.update(certs...)
	if err := os.Symlink("..data/certificate", m.path()); err != nil {
		t.Fatal(err)
	}
	return m
}

func (m *secretMount) path() string { return filepath.Join(m.dir, "certificate") }

// update swaps in a file with certs, one hex certificate a line.
func (m *secretMount) update(certs ...[]byte) {
	m.t.Helper()
	var lines []string
	for _, c := range certs {
		lines = append(lines, hex.EncodeToString(c))
	}
	m.n++
	ts := filepath.Join(m.dir, "..v"+strings.Repeat("i", m.n))
	tmp := filepath.Join(m.dir, "..data_tmp")
	for _, err := range []error{
		os.Mkdir(ts, 0o755),
		os.WriteFile(filepath.Join(ts, "certificate"), []byte(strings.Join(lines, "\n")+"\n"), 0o600),
		os.Symlink(filepath.Base(ts), tmp),
		os.Rename(tmp, filepath.Join(m.dir, "..data")),
	} {
		if err != nil {
			m.t.Fatal(err)
		}
	}
}

// until updates the mount with certs, again every 200ms as kubelet's next sync would (the
// watcher may not watch yet when the server has just started), until ok holds.
func (m *secretMount) until(ok func() bool, certs ...[]byte) {
	m.t.Helper()
	for i := 0; !ok(); i++ {
		if i == 1000 {
			m.t.Fatal("the server never loaded the updated certificate file")
		}
		if i%20 == 0 {
			m.update(certs...)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sample is the value of one series of a counter or gauge family, 0 if absent.
func sample(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue next
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

// connects is tau_auth_connects_total{certificate=pos, result=result}.
func connects(t *testing.T, reg *prometheus.Registry, pos, result string) float64 {
	t.Helper()
	return sample(t, reg, "tau_auth_connects_total", map[string]string{"certificate": pos, "result": result})
}

// expectCounts waits until tau_auth_connects_total holds want (position → ok count, "none" →
// auth_failed count; every other position 0) and checks it against the metrics that count
// the same CONNECTs another way: tau_requests_total{opcode="CONNECT"} by status, and
// tau_connections_rejected_total{reason="auth"} for the failures (no request before a CONNECT
// in these tests). The counters of an answer may land just after the client reads it.
func expectCounts(t *testing.T, reg *prometheus.Registry, want map[string]float64) {
	t.Helper()
	var got map[string]float64
	for range 500 {
		got = map[string]float64{}
		var ok float64
		for i := 1; i <= auth.MaxCertificates; i++ {
			pos := strconv.Itoa(i)
			got[pos] = connects(t, reg, pos, "ok")
			ok += got[pos]
		}
		got["none"] = connects(t, reg, "none", "auth_failed")
		consistent := ok == sample(t, reg, "tau_requests_total", map[string]string{"opcode": "CONNECT", "status": "ok"}) &&
			got["none"] == sample(t, reg, "tau_requests_total", map[string]string{"opcode": "CONNECT", "status": "auth_failed"}) &&
			got["none"] == sample(t, reg, "tau_connections_rejected_total", map[string]string{"reason": "auth"})
		same := consistent
		for k, v := range got {
			same = same && v == want[k]
		}
		if same {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("tau_auth_connects_total = %v, want %v (or it disagrees with tau_requests_total and tau_connections_rejected_total)", got, want)
}

// TestRotationWithTwoCertificates follows the rotation rule of README.md ("Configuration") on
// a real server: the new certificate is added as the file's second line, CONNECTs with either
// are accepted and counted by the line that matched, then the old line is removed: a new
// CONNECT with the old certificate fails, while a connection it authenticated before stays
// open, and the new certificate now counts as line 1.
func TestRotationWithTwoCertificates(t *testing.T) {
	oldCert, newCert := make([]byte, 32), make([]byte, 32)
	for i := range oldCert {
		oldCert[i], newCert[i] = 0xA0, byte(i*7)
	}
	mount := newSecretMount(t, oldCert)
	srv := start(t, func(c *config.Config) { c.CertificateFile = mount.path() })
	reg, k := srv.Registry, srv.Keeper()
	loaded := func() float64 { return sample(t, reg, "tau_auth_loaded_certificates", nil) }
	if loaded() != 1 {
		t.Fatalf("tau_auth_loaded_certificates = %v, want 1", loaded())
	}
	held := dial(t, srv.Addr())
	held.expect(held.call(protocol.OpConnect, oldCert), okAnswer)
	expectCounts(t, reg, map[string]float64{"1": 1})

	// 1. The new certificate as the second line: both are accepted.
	mount.until(func() bool { return k.Len() == 2 }, oldCert, newCert)
	if loaded() != 2 {
		t.Fatalf("tau_auth_loaded_certificates = %v during the rotation, want 2", loaded())
	}
	for _, cert := range [][]byte{oldCert, newCert, newCert} {
		c := dial(t, srv.Addr())
		c.expect(c.call(protocol.OpConnect, cert), okAnswer)
		c.expectOpen()
	}
	expectCounts(t, reg, map[string]float64{"1": 2, "2": 2})

	// 2. Clients have moved: the old line goes, and the new certificate is line 1.
	mount.until(func() bool { return k.Len() == 1 }, newCert)
	if loaded() != 1 {
		t.Fatalf("tau_auth_loaded_certificates = %v after the rotation, want 1", loaded())
	}
	old := dial(t, srv.Addr())
	old.expect(old.call(protocol.OpConnect, oldCert), errAnswer(protocol.StatusAuthFailed))
	old.expectClosed()
	c := dial(t, srv.Addr())
	c.expect(c.call(protocol.OpConnect, newCert), okAnswer)
	expectCounts(t, reg, map[string]float64{"1": 3, "2": 2, "none": 1})

	// A connection authenticated with the removed certificate stays open and keeps working
	// (README.md: "as with any rotation"); its next CONNECT is checked afresh.
	held.expectOpen()
	l := label("rotation")
	held.expect(held.call(protocol.OpCreateSeries, series(l)), okAnswer)
	held.expect(held.call(protocol.OpConnect, oldCert), errAnswer(protocol.StatusAuthFailed))
	held.expectClosed()
	expectCounts(t, reg, map[string]float64{"1": 3, "2": 2, "none": 2})
	if got := sample(t, reg, "tau_auth_certificate_reloads_total", map[string]string{"result": "loaded"}); got != 2 {
		t.Fatalf("tau_auth_certificate_reloads_total{result=\"loaded\"} = %v, want 2 (two lines, then one)", got)
	}
}

// TestCertificateListCountsByPosition: TAU_CERTIFICATE's entries are all accepted and counted
// by their place in the list.
func TestCertificateListCountsByPosition(t *testing.T) {
	other := auth.DevCertificate
	other[0] ^= 0xff
	srv := start(t, func(c *config.Config) {
		c.Certificate = hex.EncodeToString(other[:]) + "," + hex.EncodeToString(auth.DevCertificate[:])
	})
	if got := sample(t, srv.Registry, "tau_auth_loaded_certificates", nil); got != 2 {
		t.Fatalf("tau_auth_loaded_certificates = %v, want 2", got)
	}
	connect(t, srv.Addr()) // the development certificate, entry 2
	c := dial(t, srv.Addr())
	c.expect(c.call(protocol.OpConnect, other[:]), okAnswer)
	connect(t, srv.Addr())
	wrong := dial(t, srv.Addr())
	wrong.expect(wrong.call(protocol.OpConnect, make([]byte, 32)), errAnswer(protocol.StatusAuthFailed))
	expectCounts(t, srv.Registry, map[string]float64{"1": 1, "2": 2, "none": 1})
}
