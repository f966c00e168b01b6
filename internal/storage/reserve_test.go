package storage

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/taudb/tau/internal/storage/vfs"
	"github.com/taudb/tau/internal/storage/vfs/errorfs"
	"github.com/taudb/tau/internal/storage/wal"
)

// needAllocate skips a test where the filesystem under dir reserves no room.
func needAllocate(t *testing.T, dir string) {
	t.Helper()
	f, err := vfs.OS.Create(filepath.Join(dir, "probe"))
	must(t, err)
	defer func() { _ = f.Close() }()
	if err := f.Allocate(1); err != nil {
		t.Skipf("no fallocate here: %v", err)
	}
}

// TestLogReservesRoomAhead: the open segment reserves room a step ahead of its records; a
// rotation and a clean stop trim it, so every closed segment ends with its last record; a
// crash leaves the room's zeros, which recovery cuts without a warning and without losing a
// record.
func TestLogReservesRoomAhead(t *testing.T) {
	dir := t.TempDir()
	needAllocate(t, dir)
	d, _ := openRecovered(t, dir, DiskOptions{})
	m := model{}
	seed(t, d, m, 100)
	if got := fileSize(t, segmentPath(dir, 1)); got != wal.ReserveStep {
		t.Fatalf("open segment is %d bytes, want the room's %d", got, wal.ReserveStep)
	}
	if _, err := d.BeginCheckpoint(); err != nil { // cuts the log: segment 2 is open
		t.Fatal(err)
	}
	if got, want := fileSize(t, segmentPath(dir, 1)), d.LogBytes()-wal.SegmentHeaderSize; got != want {
		t.Fatalf("rotated segment is %d bytes, want its records' %d", got, want)
	}
	mustAppend(t, d, m, app(lbl("a"), 1000, 1))
	crash := t.TempDir()
	copyDir(t, dir, crash) // as SIGKILL leaves it: the room still there
	if got := fileSize(t, segmentPath(crash, 2)); got != wal.ReserveStep {
		t.Fatalf("crashed open segment is %d bytes, want the room's %d", got, wal.ReserveStep)
	}
	must(t, d.Close())
	if got := fileSize(t, segmentPath(dir, 2)); got >= wal.ReserveStep {
		t.Fatalf("a clean stop left segment 2 at %d bytes, its room untrimmed", got)
	}
	clean := fileSize(t, segmentPath(dir, 2))
	log, logs := observed()
	d, states := openRecovered(t, crash, DiskOptions{Logger: log})
	defer func() { _ = d.Close() }()
	checkStates(t, states, m)
	if logs.Len() != 0 {
		t.Fatalf("recovery from a crash with room reserved warned: %v", logs.All())
	}
	if got := fileSize(t, segmentPath(crash, 2)); got != clean {
		t.Fatalf("recovered segment 2 is %d bytes, want %d as a clean stop leaves it", got, clean)
	}
}

// TestLogWorksWithoutRoom: a failing Allocate (a full disk, a filesystem without fallocate)
// costs the log nothing but the room: every append is still acknowledged and recovered.
func TestLogWorksWithoutRoom(t *testing.T) {
	for _, err := range []error{errors.ErrUnsupported, syscall.ENOSPC, syscall.EIO} {
		t.Run(err.Error(), func(t *testing.T) {
			dir := t.TempDir()
			efs := errorfs.Wrap(vfs.OS)
			efs.FailAllocate(err)
			d, _ := openRecovered(t, dir, DiskOptions{FS: efs})
			m := model{}
			seed(t, d, m, 100)
			if got, want := fileSize(t, segmentPath(dir, 1)), d.LogBytes(); got != want {
				t.Fatalf("segment is %d bytes, want its records' %d (no room)", got, want)
			}
			must(t, d.Close())
			d, states := openRecovered(t, dir, DiskOptions{})
			defer func() { _ = d.Close() }()
			checkStates(t, states, m)
		})
	}
}
