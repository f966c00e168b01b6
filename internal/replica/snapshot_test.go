package replica

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap"

	"github.com/taudb/tau/internal/engine"
	"github.com/taudb/tau/internal/testenv/golden"
)

// newEngine is a running engine that keeps nothing itself, as a cluster member's.
func newEngine(t *testing.T) *engine.Engine {
	t.Helper()
	e, err := engine.Open(engine.Options{Store: engine.MemoryStore(), Capacity: 8, Workers: 1, MailboxCapacity: 8,
		LensCapacity: 4, MaxCallers: 4}, zap.NewNop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Recover(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.Run() }()
	t.Cleanup(func() {
		e.Stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return e
}

// fill gives e the state testdata/snapshot-v1.golden holds: two series (one empty), points
// at the timestamps' extremes with NaN payloads, and a lens of two transforms.
func fill(t *testing.T, e *engine.Engine) {
	t.Helper()
	for _, req := range []func(*engine.Result){
		func(r *engine.Result) { e.Create(lbl("cpu.load"), r) },
		func(r *engine.Result) { e.Create(lbl("empty"), r) },
		func(r *engine.Result) {
			e.AppendBatch(lbl("cpu.load"), []engine.BatchPoint{{TS: -1 << 63, Value: 0x7ff8000000000001}, {TS: 0, Value: 1 << 63},
				{TS: 1<<63 - 1, Value: 0x3ff0000000000000}}, r)
		},
		func(r *engine.Result) {
			e.RestoreLens(lbl("both"), lbl("cpu.load"), []string{"celsius_to_kelvin", "returns"}, r)
		},
	} {
		if err := run(req); err != nil {
			t.Fatal(err)
		}
	}
}

// TestGoldenSnapshot pins the snapshot file (version 1) and its descriptor: a member restarts
// from them, and sends them to others, so they stay readable.
func TestGoldenSnapshot(t *testing.T) {
	e := newEngine(t)
	fill(t, e)
	snaps, err := NewSnapshots(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	desc, err := snaps.write(e, 7, nil)
	if err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(filepath.Join(snaps.dir, snapshotName(7)))
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "testdata/snapshot-v1.golden", file, *update)
	golden.Check(t, "testdata/snapshot-descriptor-v1.golden", desc, *update)

	// The golden file restores into an engine that held something else, which it replaces.
	other := newEngine(t)
	if err := run(func(r *engine.Result) { other.Create(lbl("gone"), r) }); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile("testdata/snapshot-v1.golden")
	restoreDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(restoreDir, snapshotName(7)), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := decodeDescriptor(mustRead(t, "testdata/snapshot-descriptor-v1.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&Snapshots{dir: restoreDir}).restore(other, d); err != nil {
		t.Fatal(err)
	}
	again, err := (&Snapshots{dir: t.TempDir()}).write(other, 7, nil)
	if err != nil || !bytes.Equal(again, desc) {
		t.Fatalf("the restored engine dumps to %x (%v), want %x: not the same state", again, err, desc)
	}
	// A file that does not match its descriptor is refused, and changes nothing.
	raw[len(raw)-2] ^= 1
	if err := os.WriteFile(filepath.Join(restoreDir, snapshotName(7)), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := (&Snapshots{dir: restoreDir}).restore(other, d); err == nil {
		t.Fatal("a corrupt snapshot file was restored")
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
