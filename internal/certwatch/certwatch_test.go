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

func TestRotation(t *testing.T) {
	s := &secretDir{t: t, dir: t.TempDir()}
	first, second := cert(1), cert(2)
	s.write([]byte(hex.EncodeToString(first[:]) + "\n"))
	k := auth.NewKeeper(first)
	reg := prometheus.NewRegistry()
	w := New(filepath.Join(s.dir, "certificate"), k, zap.NewNop(), reg, time.Hour) // events only
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = w.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	// The watch may not be set up yet when Run has just started: rotate again, as kubelet's
	// next sync would, until the change is seen (events only: polling is an hour away).
	for i := 0; !k.Check(second[:]); i++ {
		if i == 500 {
			t.Fatal("rotation never seen")
		}
		if i%20 == 0 {
			s.write(second[:]) // 32 raw bytes are valid too
		}
		time.Sleep(10 * time.Millisecond)
	}
	if k.Check(first[:]) {
		t.Fatal("old certificate still accepted")
	}

	s.write([]byte("not a certificate"))
	waitFor(t, func() bool { return testutil.ToFloat64(w.reloads.WithLabelValues("rejected")) > 0 })
	if !k.Check(second[:]) {
		t.Fatal("an invalid rotation replaced the certificate")
	}
	if got := testutil.ToFloat64(w.reloads.WithLabelValues("loaded")); got != 1 {
		t.Fatalf("loaded count %v", got)
	}
}

func TestPollingFallback(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "certificate")
	first, second := cert(3), cert(4)
	must(t, os.WriteFile(path, first[:], 0o600))
	k := auth.NewKeeper(first)
	w := New(path, k, zap.NewNop(), prometheus.NewRegistry(), 20*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = w.Run(ctx) }()
	must(t, os.WriteFile(path, second[:], 0o600))
	waitFor(t, func() bool { return k.Check(second[:]) })
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
