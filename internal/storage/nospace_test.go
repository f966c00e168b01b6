package storage

import (
	"errors"
	"syscall"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/taudb/tau/internal/storage/vfs"
	"github.com/taudb/tau/internal/storage/vfs/errorfs"
	"github.com/taudb/tau/internal/storage/wal"
)

// TestNoSpaceRefusesAndResumes: a full disk refuses appends (ErrNoSpace, not a failed log),
// the gauge says so, and once there is space again the same log takes appends, without a
// restart; after one, every acknowledged append is there and no refused one is.
func TestNoSpaceRefusesAndResumes(t *testing.T) {
	for _, after := range []int64{0, 30} { // before any byte, and mid record
		dir := t.TempDir()
		efs := errorfs.Wrap(vfs.OS)
		reg := prometheus.NewRegistry()
		d, _ := openRecovered(t, dir, DiskOptions{FS: efs, Registerer: reg})
		m := model{}
		seed(t, d, m, 3)
		efs.FailWriteAfter(after, syscall.ENOSPC)
		for ts := int64(10); ts < 13; ts++ {
			if _, err := appendWait(d, app(lbl("a"), ts, 1)); !errors.Is(err, wal.ErrNoSpace) || !errors.Is(err, syscall.ENOSPC) || errors.Is(err, ErrLogFailed) {
				t.Fatalf("append on a full disk: %v, want ErrNoSpace and ENOSPC, not a failed log", err)
			}
		}
		if got := metricValue(t, reg, "tau_storage_out_of_space"); got != 1 {
			t.Fatalf("tau_storage_out_of_space %v on a full disk", got)
		}
		if d.Failure() != nil {
			t.Fatalf("a full disk failed the log: %v", d.Failure())
		}
		efs.Reset() // space is back
		mustAppend(t, d, m, app(lbl("a"), 20, 2))
		if got := metricValue(t, reg, "tau_storage_out_of_space"); got != 0 {
			t.Fatalf("tau_storage_out_of_space %v once writes succeed again", got)
		}
		must(t, d.Close())
		d, states := openRecovered(t, dir, DiskOptions{})
		checkStates(t, states, m)
		_ = d.Close()
	}
}

// TestNoSpaceRefusesDropsUpFront: while the disk is full a drop is refused before it is done
// (memory could not take a done drop back) and the log goes on; once there is space it is
// done. A drop that races the first refused write, in the same batch, fails the log for good
// instead: a restart recovers.
func TestNoSpaceRefusesDropsUpFront(t *testing.T) {
	dir := t.TempDir()
	efs := errorfs.Wrap(vfs.OS)
	d, _ := openRecovered(t, dir, DiskOptions{FS: efs})
	m := model{}
	seed(t, d, m, 2)
	efs.FailWriteAfter(0, syscall.ENOSPC)
	if _, err := appendWait(d, create(lbl("new"))); !errors.Is(err, wal.ErrNoSpace) || errors.Is(err, ErrLogFailed) {
		t.Fatalf("a create on a full disk: %v, want ErrNoSpace alone", err)
	}
	if _, err := d.Append(&Record{Type: RecordDrop, Label: lbl("a")}); !errors.Is(err, wal.ErrNoSpace) {
		t.Fatalf("a drop on a full disk: %v, want ErrNoSpace before anything is logged", err)
	}
	efs.Reset()
	mustAppend(t, d, m, app(lbl("a"), 50, 1)) // space is back: the refusal is over
	mustAppend(t, d, m, drop(lbl("a")))
	must(t, d.Close())
	d, states := openRecovered(t, dir, DiskOptions{})
	checkStates(t, states, m)
	_ = d.Close()
}

func TestNoSpaceForARacingDropFailsTheLog(t *testing.T) {
	dir := t.TempDir()
	efs := errorfs.Wrap(vfs.OS)
	d, _ := openRecovered(t, dir, DiskOptions{FS: efs})
	m := model{}
	seed(t, d, m, 2)
	efs.FailWriteAfter(0, syscall.ENOSPC) // the log does not know yet: the drop is logged
	if _, err := appendWait(d, drop(lbl("a"))); !errors.Is(err, ErrLogFailed) {
		t.Fatalf("a drop in the first refused write: %v, want a failed log", err)
	}
	efs.Reset()
	if _, err := appendWait(d, app(lbl("a"), 50, 1)); !errors.Is(err, ErrLogFailed) {
		t.Fatalf("an append after: %v, want ErrLogFailed until a restart", err)
	}
	_ = d.Close()
	d, states := openRecovered(t, dir, DiskOptions{})
	checkStates(t, states, m)
	_ = d.Close()
}
