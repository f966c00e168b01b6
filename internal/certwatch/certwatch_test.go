package certwatch

import (
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"

	"github.com/taudb/tau/internal/auth"
)

// secretDir lays out a directory the way kubelet mounts a Secret: the key file is a symlink
// through "..data", itself a symlink to a timestamped directory that rotation replaces.
type secretDir struct {
	t   *testing.T
	dir string
	n   int
}

func (s *secretDir) write(content []byte) {
	s.t.Helper()
	s.n++
	ts := filepath.Join(s.dir, "..2026_11_26_"+string(rune('a'+s.n)))
	must(s.t, os.Mkdir(ts, 0o755))
	must(s.t, os.WriteFile(filepath.Join(ts, "certificate"), content, 0o600))
	tmp := filepath.Join(s.dir, "..data_tmp")
	must(s.t, os.Symlink(filepath.Base(ts), tmp))
	must(s.t, os.Rename(tmp, filepath.Join(s.dir, "..data"))) // the atomic swap
	link := filepath.Join(s.dir, "certificate")
	if _, err := os.Lstat(link); os.IsNotExist(err) {
		must(s.t, os.Symlink("..data/certificate", link))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func cert(b byte) auth.Certificate {
	var c auth.Certificate
	for i := range c {
		c[i] = b
	}
	return c
}

func hexLines(certs ...auth.Certificate) []byte {
	var b []byte
	for _, c := range certs {
		b = append(append(b, hex.EncodeToString(c[:])...), '\n')
	}
	return b
}

func newKeeper(t *testing.T, certs ...auth.Certificate) *auth.Keeper {
	t.Helper()
	k, err := auth.NewKeeper(certs...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// accepts reports whether k accepts c at position pos.
func accepts(k *auth.Keeper, c auth.Certificate, pos int) bool {
	p, ok := k.Check(c[:])
	return ok && p == pos
}

// run starts w; the returned function stops it.
func run(w *Watcher) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = w.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

// rotate writes content as kubelet would until ok holds: the watch may not be set up yet when
// Run has just started, so rotate again, as kubelet's next sync would (events only: polling is
// an hour away in these tests).
func rotate(t *testing.T, s *secretDir, content []byte, ok func() bool) {
	t.Helper()
	for i := 0; !ok(); i++ {
		if i == 500 {
			t.Fatal("rotation never seen")
		}
		if i%20 == 0 {
			s.write(content)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRotation(t *testing.T) {
	s := &secretDir{t: t, dir: t.TempDir()}
	first, second := cert(1), cert(2)
	s.write(hexLines(first))
	k := newKeeper(t, first)
	reg := prometheus.NewRegistry()
	w := New(filepath.Join(s.dir, "certificate"), k, zap.NewNop(), reg, time.Hour) // events only
	defer run(w)()
	rotate(t, s, second[:], func() bool { return accepts(k, second, 0) }) // 32 raw bytes are valid too
	if _, ok := k.Check(first[:]); ok {
		t.Fatal("old certificate still accepted")
	}

	s.write([]byte("not a certificate"))
	waitFor(t, func() bool { return testutil.ToFloat64(w.reloads.WithLabelValues("rejected")) > 0 })
	if !accepts(k, second, 0) {
		t.Fatal("an invalid rotation replaced the certificate")
	}
	if got := testutil.ToFloat64(w.reloads.WithLabelValues("loaded")); got != 1 {
		t.Fatalf("loaded count %v", got)
	}
}

// TestRotationTwoLinesToOne follows the rotation rule (README.md, "Configuration"): the new
// certificate is added as a second line, both are accepted at their positions, then the old
// line is removed and the new one is the first. A bad set in between is refused whole.
func TestRotationTwoLinesToOne(t *testing.T) {
	s := &secretDir{t: t, dir: t.TempDir()}
	oldCert, newCert := cert(1), cert(2)
	s.write(hexLines(oldCert))
	k := newKeeper(t, oldCert)
	w := New(filepath.Join(s.dir, "certificate"), k, zap.NewNop(), prometheus.NewRegistry(), time.Hour)
	defer run(w)()

	rotate(t, s, hexLines(oldCert, newCert), func() bool { return k.Len() == 2 })
	if !accepts(k, oldCert, 0) || !accepts(k, newCert, 1) {
		t.Fatal("during the rotation: want the old certificate at line 1 and the new at line 2")
	}

	rejected := func(n float64) func() bool {
		return func() bool { return testutil.ToFloat64(w.reloads.WithLabelValues("rejected")) == n }
	}
	nine := make([]auth.Certificate, auth.MaxCertificates+1)
	for i := range nine {
		nine[i] = cert(byte(0x40 + i))
	}
	for i, bad := range [][]byte{
		hexLines(oldCert, newCert, oldCert),                                      // a duplicate
		hexLines(nine...),                                                        // more than 8
		append(hexLines(newCert), "not hex\n"...),                                // a bad second line
		append(hexLines(oldCert), append([]byte("\n"), hexLines(newCert)...)...), // an empty line
	} {
		s.write(bad)
		waitFor(t, rejected(float64(i+1)))
		if !k.Holds([]auth.Certificate{oldCert, newCert}) {
			t.Fatalf("bad set %d replaced the certificates", i+1)
		}
	}

	rotate(t, s, hexLines(newCert), func() bool { return k.Len() == 1 })
	if _, ok := k.Check(oldCert[:]); ok {
		t.Fatal("the removed line is still accepted")
	}
	if !accepts(k, newCert, 0) {
		t.Fatal("the new certificate is not at line 1 once the old line is gone")
	}
	if got := testutil.ToFloat64(w.reloads.WithLabelValues("loaded")); got != 2 {
		t.Fatalf("loaded count %v, want 2 (two lines, then one)", got)
	}
}

func TestPollingFallback(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "certificate")
	first, second := cert(3), cert(4)
	must(t, os.WriteFile(path, first[:], 0o600))
	k := newKeeper(t, first)
	w := New(path, k, zap.NewNop(), prometheus.NewRegistry(), 20*time.Millisecond)
	defer run(w)()
	must(t, os.WriteFile(path, second[:], 0o600))
	waitFor(t, func() bool { return accepts(k, second, 0) })
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		if ok() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition never held")
}
