package engine

import (
	"testing"
	"time"

	"github.com/taudb/tau/internal/series"
	"github.com/taudb/tau/internal/storage"
	"github.com/taudb/tau/internal/testenv/hang"
)

// TestFullChunksInMemoryMakeACheckpointDue: with the log far from its bound and the period
// far away, full chunks piling up in memory make a checkpoint due, which moves them to a chunk
// file: what memory holds stays bounded by the policy, not by ingest.
func TestFullChunksInMemoryMakeACheckpointDue(t *testing.T) {
	store, err := storage.OpenDisk(t.TempDir(), storage.DiskOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e := start(t, store, Options{})
	l := series.LabelFromString("fast")
	if _, err := call(func(r *Result) { e.Create(l, r) }); err != nil {
		t.Fatal(err)
	}
	for i := range 120 * 40 { // 39 full chunks and an open one
		if _, err := call(func(r *Result) { e.Append(l, int64(i), 0, r) }); err != nil {
			t.Fatal(err)
		}
	}
	full := e.fullChunksInMemory()
	if full != 39 {
		t.Fatalf("%d full chunks in memory, want 39", full)
	}
	stop := make(chan struct{})
	done := make(chan error)
	go func() {
		done <- e.RunCheckpoints(stop, CheckpointOptions{Check: 5 * time.Millisecond, Every: time.Hour, LogBytes: 1 << 40, FullChunks: 30})
	}()
	for e.fullChunksInMemory() != 0 && !hang.Passed(t) { // however long a loaded machine takes
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := e.fullChunksInMemory(); n != 0 {
		t.Fatalf("%d full chunks still in memory: no checkpoint ran", n)
	}
}
