package wal

import (
	"errors"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/taudb/tau/internal/storage/diskfmt"
	"github.com/taudb/tau/internal/storage/vfs"
	"github.com/taudb/tau/internal/storage/vfs/errorfs"
)

// openLog opens and recovers the log in dir, replaying it whole, and closes it at the end of
// the test. It returns the records replayed.
func openLog(t *testing.T, dir string, o Options) (*Log, []Record) {
	t.Helper()
	l, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	var got []Record
	if err := l.Recover(0, 0, func(_ string, r *Record) { got = append(got, clone(r)) }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l, got
}

func clone(r *Record) Record {
	c := *r
	c.Points = slices.Clone(r.Points)
	return c
}

// appendN appends n records (an append each, one batch every fifth) and waits for them.
func appendN(t *testing.T, l *Log, n int) []Record {
	t.Helper()
	var out []Record
	for i := 0; i < n; i++ {
		r := app(lbl("s"), int64(i), uint64(i))
		if i%5 == 4 {
			r = batchOf("s", int64(1000*i), 3)
		}
		tk, err := l.Append(&r)
		if err != nil {
			t.Fatal(err)
		}
		if err := tk.Wait(); err != nil {
			t.Fatal(err)
		}
		out = append(out, clone(&r))
	}
	return out
}

func readAll(t *testing.T, l *Log, from uint64) []Record {
	t.Helper()
	var got []Record
	if err := l.ReadFrom(from, func(r *Record) error { got = append(got, clone(r)); return nil }); err != nil {
		t.Fatal(err)
	}
	return got
}

func sameRecords(t *testing.T, what string, got, want []Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d records, want %d", what, len(got), len(want))
	}
	for i := range want {
		if !sameRecord(got[i], want[i]) {
			t.Fatalf("%s: record %d is %+v, want %+v", what, i, got[i], want[i])
		}
	}
}

// TestReadFromReadsEveryIndexAcrossSegments: ReadFrom gives the records from any LSN on, in
// order, across rotated segments and the open one, under both policies, before and after a
// restart.
func TestReadFromReadsEveryIndexAcrossSegments(t *testing.T) {
	for _, policy := range []FsyncPolicy{FsyncAlways, FsyncInterval} {
		t.Run(policy.String(), func(t *testing.T) {
			dir := t.TempDir()
			o := Options{Fsync: policy, SegmentSize: 300}
			l, _ := openLog(t, dir, o)
			want := appendN(t, l, 30)
			if segs, _ := diskfmt.ListSeqs(vfs.OS, dir); len(segs) < 3 {
				t.Fatalf("%d segments: the test does not cross segments", len(segs))
			}
			for from := uint64(0); from <= uint64(len(want))+1; from++ {
				sameRecords(t, "read", readAll(t, l, from), want[min(len(want), int(max(from, 1))-1):])
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l, replayed := openLog(t, dir, o)
			sameRecords(t, "replayed", replayed, want)
			sameRecords(t, "read after restart", readAll(t, l, 7), want[6:])
		})
	}
}

func TestReadFromStopsAtTheCallersError(t *testing.T) {
	l, _ := openLog(t, t.TempDir(), Options{})
	appendN(t, l, 5)
	stop := errors.New("enough")
	n := 0
	err := l.ReadFrom(1, func(*Record) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("ReadFrom = %v after %d records, want the caller's error after 1", err, n)
	}
}

// TestAppendAllIsOneGroupCommit: a batch of records shares one ticket and one fsync, takes
// consecutive LSNs, and comes back whole.
func TestAppendAllIsOneGroupCommit(t *testing.T) {
	efs := errorfs.Wrap(vfs.OS)
	dir := t.TempDir()
	l, _ := openLog(t, dir, Options{FS: efs})
	before := appendN(t, l, 2)
	rs := []*Record{{Type: RecordCreate, Label: lbl("x")}, {Type: RecordAppend, Label: lbl("x"), TS: 1, Value: 2}, {Type: RecordDrop, Label: lbl("x")}}
	syncs := efs.Syncs()
	tk, err := l.AppendAll(rs)
	if err != nil {
		t.Fatal(err)
	}
	if err := tk.Wait(); err != nil {
		t.Fatal(err)
	}
	if got := efs.Syncs() - syncs; got != 1 {
		t.Fatalf("%d fsyncs for one AppendAll, want 1", got)
	}
	want := before
	for i, r := range rs {
		if r.LSN != before[len(before)-1].LSN+uint64(i)+1 {
			t.Fatalf("record %d has LSN %d, not consecutive", i, r.LSN)
		}
		want = append(want, clone(r))
	}
	sameRecords(t, "read", readAll(t, l, 0), want)
	if _, err := l.AppendAll([]*Record{{Type: RecordCreate}, {Type: RecordType(99)}}); err == nil {
		t.Fatal("AppendAll took an invalid record")
	}
	if l.LastLSN() != want[len(want)-1].LSN {
		t.Fatalf("a refused AppendAll moved the LSN to %d", l.LastLSN())
	}
}

// TestTruncateAfterDropsTheSuffixDurably: after TruncateAfter(k) the log holds records 1..k,
// the next append takes LSN k+1, and a restart replays exactly that, for cuts inside the open
// segment, inside an earlier one, at a segment's end, before everything and after everything.
func TestTruncateAfterDropsTheSuffixDurably(t *testing.T) {
	for _, cut := range []uint64{0, 1, 9, 10, 17, 24, 25, 40} {
		t.Run("", func(t *testing.T) {
			dir := t.TempDir()
			l, _ := openLog(t, dir, Options{SegmentSize: 400})
			all := appendN(t, l, 25)
			if err := l.TruncateAfter(cut); err != nil {
				t.Fatal(err)
			}
			keep := all[:min(int(cut), len(all))]
			sameRecords(t, "read after truncation", readAll(t, l, 0), keep)
			r := create(lbl("after"))
			tk, err := l.Append(&r)
			if err != nil {
				t.Fatal(err)
			}
			if err := tk.Wait(); err != nil {
				t.Fatal(err)
			}
			if want := min(cut, uint64(len(all))) + 1; r.LSN != want {
				t.Fatalf("append after truncation got LSN %d, want %d", r.LSN, want)
			}
			want := append(slices.Clone(keep), clone(&r))
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			_, replayed := openLog(t, dir, Options{SegmentSize: 400})
			sameRecords(t, "replayed after truncation", replayed, want)
		})
	}
}

// TestTruncateAfterFailureFailsTheLog: a truncation the disk refuses leaves the log refusing
// writes, as any failed write does, never half cut and still taking appends.
func TestTruncateAfterFailureFailsTheLog(t *testing.T) {
	efs := errorfs.Wrap(vfs.OS)
	l, _ := openLog(t, t.TempDir(), Options{FS: efs})
	appendN(t, l, 5)
	efs.FailTruncate(syscall.EIO)
	if err := l.TruncateAfter(2); !errors.Is(err, syscall.EIO) {
		t.Fatalf("TruncateAfter on a failing disk: %v, want EIO", err)
	}
	efs.Reset()
	r := create(lbl("x"))
	if _, err := l.Append(&r); !errors.Is(err, ErrLogFailed) {
		t.Fatalf("append after a failed truncation: %v, want ErrLogFailed", err)
	}
}

// TestCutAndRemoveBeforeCompactThePrefix: Cut starts a new segment after every record so far;
// RemoveBefore deletes the segments before it; the log then replays from the cut.
func TestCutAndRemoveBeforeCompactThePrefix(t *testing.T) {
	dir := t.TempDir()
	l, _ := openLog(t, dir, Options{})
	old := appendN(t, l, 4)
	seg, err := l.Cut()
	if err != nil {
		t.Fatal(err)
	}
	if seg != l.Segment() || seg < 2 {
		t.Fatalf("Cut returned segment %d; the log appends to %d", seg, l.Segment())
	}
	kept := appendN(t, l, 3)
	bytesBefore := l.Bytes()
	l.RemoveBefore(seg)
	if l.Bytes() >= bytesBefore {
		t.Fatalf("log size %d after removing a segment, was %d", l.Bytes(), bytesBefore)
	}
	if _, err := vfs.OS.Stat(filepath.Join(dir, diskfmt.SeqName(1))); err == nil {
		t.Fatal("segment 1 is still there")
	}
	sameRecords(t, "read after compaction", readAll(t, l, 0), readAll(t, l, kept[0].LSN))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []Record
	if err := l2.Recover(seg, old[len(old)-1].LSN, func(_ string, r *Record) { got = append(got, clone(r)) }); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l2.Close() }()
	if len(got) != len(kept) {
		t.Fatalf("replayed %d records from the cut, want %d", len(got), len(kept))
	}
	r := create(lbl("next"))
	if _, err := l2.Append(&r); err != nil || r.LSN != got[len(got)-1].LSN+1 {
		t.Fatalf("append after recovery: LSN %d, %v; want %d", r.LSN, err, got[len(got)-1].LSN+1)
	}
}

// TestRecoverContinuesLSNsAfterTheCheckpoints: LSNs continue after the greater of the
// checkpoint's LSN and the highest replayed, so they never repeat, even when every record a
// checkpoint covered was a drop.
func TestRecoverContinuesLSNsAfterTheCheckpoints(t *testing.T) {
	for _, ckptLSN := range []uint64{0, 3, 100} {
		dir := t.TempDir()
		l, _ := openLog(t, dir, Options{})
		appendN(t, l, 5)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		l2, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := l2.Recover(0, ckptLSN, func(string, *Record) {}); err != nil {
			t.Fatal(err)
		}
		if got, want := l2.LastLSN(), max(ckptLSN, 5); got != want {
			t.Fatalf("checkpoint LSN %d: log continues after %d, want %d", ckptLSN, got, want)
		}
		if l2.Fresh() {
			t.Fatal("a recovered log is still fresh")
		}
		if err := l2.Recover(0, 0, func(string, *Record) {}); err == nil {
			t.Fatal("a second Recover succeeded")
		}
		_ = l2.Close()
	}
}
