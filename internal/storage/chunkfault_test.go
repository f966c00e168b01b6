package storage

import (
	"math/rand"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/taudb/tau/internal/storage/vfs"
	"github.com/taudb/tau/internal/storage/vfs/errorfs"
)

// TestCheckpointFailuresLoseNothing: a write or fsync that fails at any step of a checkpoint
// (the new chunk file, the merge of older files, the checkpoint itself) fails the checkpoint
// and changes nothing: the series keep answering every point, from memory and from the files
// of the last good checkpoint, and after a restart every logged point is back. The next
// checkpoint then succeeds.
func TestCheckpointFailuresLoseNothing(t *testing.T) {
	inChunks := func(p string) bool { return strings.Contains(p, string(filepath.Separator)+chunkDirName) }
	inCkpt := func(p string) bool { return strings.Contains(p, string(filepath.Separator)+checkpointDirName) }
	tests := []struct {
		name  string
		match func(string) bool
		arm   func(*errorfs.FS)
	}{
		{"new chunk file: no space at its first byte", inChunks, func(e *errorfs.FS) { e.FailWriteAfter(0, syscall.ENOSPC) }},
		{"new chunk file: torn mid-run", inChunks, func(e *errorfs.FS) { e.FailWriteAfter(700, syscall.EIO) }},
		{"merged file: torn", inChunks, func(e *errorfs.FS) { e.FailWriteAfter(5000, syscall.ENOSPC) }},
		{"chunk file fsync", inChunks, func(e *errorfs.FS) { e.FailSync(syscall.EIO) }},
		{"checkpoint write after the chunk files", inCkpt, func(e *errorfs.FS) { e.FailWriteAfter(40, syscall.ENOSPC) }},
		{"checkpoint fsync", inCkpt, func(e *errorfs.FS) { e.FailSync(syscall.EIO) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(3))
			dir := t.TempDir()
			efs := errorfs.Wrap(vfs.OS)
			d, _ := openRecovered(t, dir, DiskOptions{FS: efs})
			w := newLoggedSeries(t, d, rng)
			w.filesThenWrite(600)
			m, err := d.BeginCheckpoint()
			must(t, err)
			snaps := []SeriesSnapshot{snapshotOf(w.label, 0, w.s)}
			efs.OnlyPaths(tc.match)
			tc.arm(efs)
			if err := d.CommitCheckpoint(m, snaps, func() { t.Fatal("installed a failed checkpoint") }); err == nil {
				t.Fatal("checkpoint succeeded through the fault")
			}
			efs.Reset()
			checkSeries(t, rng, w.s, w.all, 0)
			must(t, d.Close())
			d, states := openRecovered(t, dir, DiskOptions{})
			checkSeries(t, rng, states[0].Series, w.all, 0)
			w.d, w.s = d, states[0].Series
			w.write(300)
			flushNow(t, d, w.s)
			checkSeries(t, rng, w.s, w.all, 0)
			must(t, d.Close())
		})
	}
}
