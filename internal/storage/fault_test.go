package storage

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest/observer"

	"github.com/taudb/tau/internal/series"
	"github.com/taudb/tau/internal/storage/diskfmt"
	"github.com/taudb/tau/internal/storage/vfs"
	"github.com/taudb/tau/internal/storage/vfs/errorfs"
	"github.com/taudb/tau/internal/storage/wal"
)

const appendFrameSize = wal.FrameHeaderSize + 1 + 8 + series.LabelSize + 8 + 8 // type, LSN, label, ts, value

// seed logs a create and n appends to a, acknowledged, into m.
func seed(t *testing.T, d Store, m model, n int) {
	t.Helper()
	a := lbl("a")
	mustAppend(t, d, m, create(a))
	for ts := 1; ts <= n; ts++ {
		mustAppend(t, d, m, app(a, int64(ts), uint64(ts)))
	}
}

// tornTailWarnings returns the logged torn-tail cuts.
func tornTailWarnings(logs *observer.ObservedLogs) []observer.LoggedEntry {
	return logs.FilterMessage("cutting torn tail off the log").All()
}

func segmentPath(dir string, n uint64) string {
	return filepath.Join(dir, walDirName, diskfmt.SeqName(n))
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestR11_TornWriteEveryOffset: a write of the last record torn at every byte offset (and not
// repaired, as after a crash) recovers every record before it, warns with the bytes cut, keeps
// nothing of the torn record, and leaves a log that takes writes again.
func TestR11_TornWriteEveryOffset(t *testing.T) {
	for _, room := range []bool{false, true} {
		for k := 0; k < appendFrameSize; k++ {
			t.Run(fmt.Sprintf("room=%v/%d", room, k), func(t *testing.T) {
				tornWriteAt(t, room, k)
			})
		}
	}
}

// tornWriteAt tears an append after k of its bytes, in a segment with room reserved ahead of
// its records (segment.reserve) or without (a filesystem without fallocate). With room, the
// torn bytes are followed by the room's zeros, and recovery cuts both.
func tornWriteAt(t *testing.T, room bool, k int) {
	dir := t.TempDir()
	efs := errorfs.Wrap(vfs.OS)
	if !room {
		efs.FailAllocate(errors.ErrUnsupported)
	}
	d, _ := openRecovered(t, dir, DiskOptions{FS: efs})
	m := model{}
	seed(t, d, m, 5)
	good := d.LogBytes()
	efs.FailTruncate(syscall.EIO) // the crash came before any repair
	efs.FailWriteAfter(int64(k), syscall.EIO)
	if _, err := appendWait(d, app(lbl("a"), 100, 100)); !errors.Is(err, syscall.EIO) || !errors.Is(err, ErrLogFailed) {
		t.Fatalf("torn append: %v", err)
	}
	_ = d.Close()
	size := fileSize(t, segmentPath(dir, 1))
	switch {
	case !room && size != good+int64(k):
		t.Fatalf("segment is %d bytes, want %d good + %d torn", size, good, k)
	case room && size != wal.ReserveStep:
		t.Fatalf("segment is %d bytes, want its room's %d", size, wal.ReserveStep)
	}
	if room && wholeFrameAt(t, segmentPath(dir, 1), good) {
		// The bytes the crash kept from landing are zeros anyway: the room's zeros complete
		// the record exactly, and recovery rightly keeps it (never acknowledged, but whole).
		m.apply(app(lbl("a"), 100, 100))
		good += appendFrameSize
		k = 0
	}
	log, logs := observed()
	d, states := openRecovered(t, dir, DiskOptions{Logger: log})
	checkStates(t, states, m)
	warns := tornTailWarnings(logs)
	switch {
	case k == 0 && len(warns) != 0:
		t.Fatalf("warned about a tail that is not there: %v", warns)
	case k > 0 && (len(warns) != 1 || warns[0].ContextMap()["bytes"] != size-good):
		t.Fatalf("want one warning cutting %d bytes, got %v", size-good, warns)
	}
	if got := fileSize(t, segmentPath(dir, 1)); got != good {
		t.Fatalf("repaired segment is %d bytes, want %d", got, good)
	}
	mustAppend(t, d, m, app(lbl("a"), 101, 101))
	_ = d.Close()
	d, states = openRecovered(t, dir, DiskOptions{})
	defer func() { _ = d.Close() }()
	checkStates(t, states, m)
}

// wholeFrameAt reports whether a whole record frame lies at off in the file.
func wholeFrameAt(t *testing.T, path string, off int64) bool {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r Record
	_, err = wal.DecodeFrame(data[off:], &r)
	return err == nil
}

// flipBit flips one bit of the file at off.
func flipBit(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	b := []byte{0}
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x04
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// TestBitFlips: damage in the final record of the last segment is a torn tail and is cut;
// damage anywhere else, the segment header included, stops recovery with an error naming the
// file and the offset of the damaged record (0 for the header).
func TestBitFlips(t *testing.T) {
	const n = 6 // appends after the create: records 0 (create) … 6
	createSize := int64(wal.FrameSize(&Record{Type: RecordCreate}))
	recordAt := func(i int) int64 { // offset of record i in the segment
		if i == 0 {
			return wal.SegmentHeaderSize
		}
		return wal.SegmentHeaderSize + createSize + int64(i-1)*appendFrameSize
	}
	recordContaining := func(off int64) int64 {
		switch {
		case off < wal.SegmentHeaderSize:
			return 0
		case off < recordAt(1):
			return recordAt(0)
		}
		return recordAt(int((off-recordAt(1))/appendFrameSize) + 1)
	}
	tests := []struct {
		name    string
		segment uint64 // 1: the records' segment; it is the last unless reopened is set
		reopen  bool   // reopen once first, so segment 1 is no longer the last
		off     int64
		cutOK   bool
	}{
		{"tail record length", 1, false, recordAt(n), true},
		{"tail record checksum", 1, false, recordAt(n) + 5, true},
		{"tail record type", 1, false, recordAt(n) + 8, true},
		{"tail record LSN", 1, false, recordAt(n) + 10, true},
		{"tail record label", 1, false, recordAt(n) + 30, true},
		{"tail record value", 1, false, recordAt(n) + appendFrameSize - 1, true},
		{"middle record length", 1, false, recordAt(3), false},
		{"middle record payload", 1, false, recordAt(3) + 40, false},
		{"first record", 1, false, recordAt(0) + 2, false},
		{"second-to-last record", 1, false, recordAt(n-1) + 20, false},
		{"tail of a non-last segment", 1, true, recordAt(n) + 20, false},
		{"header tag", 1, false, 2, false},
		{"header segment number", 1, false, 9, false},
		{"header tag of a non-last segment", 1, true, 0, false},
		{"header segment number of a non-last segment", 1, true, 15, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			d, _ := openRecovered(t, dir, DiskOptions{})
			m := model{}
			seed(t, d, m, n)
			_ = d.Close()
			if tc.reopen {
				d, _ = openRecovered(t, dir, DiskOptions{})
				_ = d.Close()
			}
			path := segmentPath(dir, tc.segment)
			flipBit(t, path, tc.off)
			log, logs := observed()
			d, err := OpenDisk(dir, DiskOptions{Logger: log})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = d.Close() }()
			states, err := d.Recover()
			if !tc.cutOK {
				var ce *CorruptionError
				if !errors.As(err, &ce) {
					t.Fatalf("recover: %v, want a CorruptionError", err)
				}
				if rec := recordContaining(tc.off); ce.Path != path || ce.Offset != rec {
					t.Fatalf("error names %s at %d, want %s at %d", ce.Path, ce.Offset, path, rec)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			delete(m, lbl("a"))
			m.apply(Record{Type: RecordCreate, Label: lbl("a")})
			for ts := 1; ts < n; ts++ {
				m.apply(app(lbl("a"), int64(ts), uint64(ts)))
			}
			checkStates(t, states, m)
			if w := tornTailWarnings(logs); len(w) != 1 || w[0].ContextMap()["bytes"] != int64(appendFrameSize) {
				t.Fatalf("want one warning cutting %d bytes, got %v", appendFrameSize, w)
			}
		})
	}
}

// TestZeroFilledTailIsCut: a tail of zeros (a file extended before its data reached the disk)
// is a torn write, however long.
func TestZeroFilledTailIsCut(t *testing.T) {
	dir := t.TempDir()
	d, _ := openRecovered(t, dir, DiskOptions{})
	m := model{}
	seed(t, d, m, 3)
	_ = d.Close()
	path := segmentPath(dir, 1)
	size := fileSize(t, path)
	must(t, os.Truncate(path, size+8192))
	d, states := openRecovered(t, dir, DiskOptions{})
	defer func() { _ = d.Close() }()
	checkStates(t, states, m)
	if got := fileSize(t, path); got != size {
		t.Fatalf("segment %d bytes after repair, want %d", got, size)
	}
}

// TestR11_WriteFailures: a failed write or fsync fails its ticket and every later write, and
// after a restart every acknowledged record is back and the failed one is not. (A full disk
// only refuses: TestNoSpaceRefusesAndResumes.)
func TestR11_WriteFailures(t *testing.T) {
	tests := []struct {
		name    string
		policy  FsyncPolicy
		arm     func(efs *errorfs.FS)
		want    error
		viaSync bool // the failure surfaces through Sync, not the append's ticket
		fsync   bool // counted as an fsync failure
	}{
		{"EIO on write, interval", FsyncInterval, func(e *errorfs.FS) { e.FailWriteAfter(12, syscall.EIO) }, syscall.EIO, false, false},
		{"fsync fails", FsyncAlways, func(e *errorfs.FS) { e.FailSync(syscall.EIO) }, syscall.EIO, false, true},
		{"fsync fails in Sync, interval", FsyncInterval, func(e *errorfs.FS) { e.FailSync(syscall.EIO) }, syscall.EIO, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			efs := errorfs.Wrap(vfs.OS)
			log, logs := observed()
			reg := prometheus.NewRegistry()
			d, _ := openRecovered(t, dir, DiskOptions{FS: efs, Fsync: tc.policy, Logger: log, Registerer: reg})
			m := model{}
			seed(t, d, m, 4)
			tc.arm(efs)
			failed := app(lbl("a"), 5, 5)
			r, err := appendWait(d, failed)
			if tc.viaSync {
				if err != nil {
					t.Fatalf("interval append: %v", err)
				}
				m.apply(r) // acknowledged once written: it must survive a process restart
				err = d.Sync()
			}
			if !errors.Is(err, tc.want) || !errors.Is(err, ErrLogFailed) {
				t.Fatalf("failed write: %v, want %v and ErrLogFailed", err, tc.want)
			}
			efs.Reset() // the disk is fine again: the log must still refuse, not pretend
			if _, err := d.Append(&Record{Type: RecordCreate, Label: lbl("b")}); !errors.Is(err, ErrLogFailed) {
				t.Fatalf("append after failure: %v, want ErrLogFailed", err)
			}
			if err := d.Sync(); !errors.Is(err, ErrLogFailed) {
				t.Fatalf("sync after failure: %v, want ErrLogFailed", err)
			}
			if _, err := d.BeginCheckpoint(); err == nil {
				t.Fatal("checkpoint of a failed log succeeded")
			}
			counter := "tau_storage_write_failures_total"
			if tc.fsync {
				counter = "tau_storage_fsync_failures_total"
			}
			if got := metricValue(t, reg, counter); got != 1 {
				t.Fatalf("%s %v, want 1", counter, got)
			}
			if logs.FilterMessage("write-ahead log failed; refusing writes until restart").Len() != 1 {
				t.Fatalf("failure not logged once: %v", logs.All())
			}
			if err := d.Close(); err == nil {
				t.Fatal("Close of a failed log returned nil")
			}
			d, states := openRecovered(t, dir, DiskOptions{})
			defer func() { _ = d.Close() }()
			checkStates(t, states, m)
		})
	}
}

// TestR11_FailureUnderConcurrency: many appenders, a disk that fills up mid-batch: after a
// restart the store holds exactly the acknowledged appends.
func TestR11_FailureUnderConcurrency(t *testing.T) {
	for _, failAfter := range []int64{0, 1000, 4321} {
		t.Run(fmt.Sprint(failAfter), func(t *testing.T) {
			dir := t.TempDir()
			efs := errorfs.Wrap(vfs.OS)
			d, _ := openRecovered(t, dir, DiskOptions{FS: efs})
			const writers = 20
			acked := make([]model, writers)
			var wg, started sync.WaitGroup
			started.Add(writers)
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					acked[w] = model{}
					l := lbl(fmt.Sprintf("w%d", w))
					mustAppend(t, d, acked[w], create(l))
					started.Done()
					for ts := int64(1); ; ts++ {
						r, err := appendWait(d, app(l, ts, uint64(ts)))
						if err != nil {
							if !errors.Is(err, ErrLogFailed) && !errors.Is(err, wal.ErrNoSpace) {
								t.Errorf("append: %v", err)
							}
							return
						}
						acked[w].apply(r)
					}
				}()
			}
			started.Wait()
			efs.FailWriteAfter(failAfter, syscall.ENOSPC)
			wg.Wait()
			_ = d.Close()
			want := model{}
			for _, m := range acked {
				for l, p := range m {
					want[l] = p
				}
			}
			d, states := openRecovered(t, dir, DiskOptions{})
			defer func() { _ = d.Close() }()
			checkStates(t, states, want)
		})
	}
}

// headerRepairWarnings returns the logged torn-header repairs.
func headerRepairWarnings(logs *observer.ObservedLogs) []observer.LoggedEntry {
	return logs.FilterMessage("rewriting torn log segment header").All()
}

// TestR11_TornHeaderEveryOffset: a crash right after a new segment was created leaves it empty
// or ending inside its header, torn at any byte. Whether the segment was created by a rotation
// (here the cut of a checkpoint) or at start, recovery treats that last segment as a torn tail:
// it keeps every record before it, rewrites the header (the file then holds just its header),
// warns, and the log takes writes and restarts again.
func TestR11_TornHeaderEveryOffset(t *testing.T) {
	for _, at := range []string{"rotate", "start"} {
		for k := 0; k < wal.SegmentHeaderSize; k++ {
			t.Run(fmt.Sprintf("%s/%d", at, k), func(t *testing.T) {
				dir := t.TempDir()
				efs := errorfs.Wrap(vfs.OS)
				d, _ := openRecovered(t, dir, DiskOptions{FS: efs})
				m := model{}
				seed(t, d, m, 5)
				// The crash came before any repair of the new segment (the one before it was
				// trimmed of its reserved room, as every rotation and clean stop does).
				efs.OnlyPaths(func(p string) bool { return p == segmentPath(dir, 2) })
				efs.FailTruncate(syscall.EIO)
				switch at {
				case "rotate":
					efs.FailWriteAfter(int64(k), syscall.EIO)
					if _, err := d.BeginCheckpoint(); !errors.Is(err, syscall.EIO) {
						t.Fatalf("cut with a torn header: %v", err)
					}
					_ = d.Close()
				case "start":
					_ = d.Close()
					efs.FailWriteAfter(int64(k), syscall.EIO)
					d, err := OpenDisk(dir, DiskOptions{FS: efs})
					if err != nil {
						t.Fatal(err)
					}
					if _, err := d.Recover(); !errors.Is(err, syscall.EIO) {
						t.Fatalf("start with a torn header: %v", err)
					}
					_ = d.Close()
				}
				torn := segmentPath(dir, 2)
				if got := fileSize(t, torn); got != int64(k) {
					t.Fatalf("new segment is %d bytes, want %d of its header", got, k)
				}
				log, logs := observed()
				d, states := openRecovered(t, dir, DiskOptions{Logger: log})
				checkStates(t, states, m)
				if w := headerRepairWarnings(logs); len(w) != 1 || w[0].ContextMap()["bytes"] != int64(k) {
					t.Fatalf("want one header repair of %d bytes, got %v", k, logs.All())
				}
				if len(tornTailWarnings(logs)) != 0 {
					t.Fatalf("records cut: %v", logs.All())
				}
				if b, _ := os.ReadFile(torn); !bytes.Equal(b, wal.SegmentHeader(2, wal.SegmentVersion)) {
					t.Fatalf("repaired segment holds %q, want just its header", b)
				}
				mustAppend(t, d, m, app(lbl("a"), 100, 100))
				_ = d.Close()
				d, states = openRecovered(t, dir, DiskOptions{})
				defer func() { _ = d.Close() }()
				checkStates(t, states, m)
			})
		}
	}
}

// TestTornHeaderEarlierSegmentIsCorruption: a segment that is not the last never legitimately
// ends inside its header, nor is it empty once an earlier segment has a header: that is lost
// data, and recovery stops, naming the file.
func TestTornHeaderEarlierSegmentIsCorruption(t *testing.T) {
	for k := 0; k < wal.SegmentHeaderSize; k++ {
		t.Run(fmt.Sprint(k), func(t *testing.T) {
			dir := t.TempDir()
			for i := 0; i < 3; i++ { // segments 1, 2, 3 with records, and 4
				d, _ := openRecovered(t, dir, DiskOptions{})
				mustAppend(t, d, nil, create(lbl(fmt.Sprint(i))))
				_ = d.Close()
			}
			victim := uint64(2)
			if k > 0 {
				victim = 1 // a torn header needs no headered segment before it
			}
			if err := os.Truncate(segmentPath(dir, victim), int64(k)); err != nil {
				t.Fatal(err)
			}
			d, err := OpenDisk(dir, DiskOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = d.Close() }()
			_, err = d.Recover()
			var ce *CorruptionError
			if !errors.As(err, &ce) || ce.Path != segmentPath(dir, victim) || ce.Offset != 0 {
				t.Fatalf("recover: %v, want corruption of %s at 0", err, segmentPath(dir, victim))
			}
		})
	}
}
