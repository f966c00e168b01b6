package storage

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/taudb/tau/internal/series"
	"github.com/taudb/tau/internal/storage/chunkenc"
	"github.com/taudb/tau/internal/storage/diskfmt"
	"github.com/taudb/tau/internal/storage/vfs"
	"github.com/taudb/tau/internal/storage/vfs/errorfs"
)

// actor stands in for a series actor: it logs a record and applies it in one step under its
// own lock, and snapshots under the same lock, exactly as the server's actors do.
type actor struct {
	mu      sync.Mutex
	label   series.Label
	live    bool
	series  *chunkenc.Series
	lastLSN uint64
	ts      int64
}

// step logs the actor's next mutation (mostly appends, sometimes a drop and a re-create) and
// returns its ticket.
func (a *actor) step(t testing.TB, d Store, rng *rand.Rand) Ticket {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := Record{Label: a.label}
	switch {
	case !a.live:
		r.Type = RecordCreate
	case rng.Intn(50) == 0:
		r.Type = RecordDrop
	default:
		a.ts++
		r.Type, r.TS, r.Value = RecordAppend, a.ts, uint64(a.ts)*3
	}
	tk, err := d.Append(&r)
	if err != nil {
		t.Error(err)
		return Ticket{}
	}
	switch r.Type {
	case RecordCreate:
		a.live, a.series, a.ts = true, chunkenc.NewSeries(), 0
	case RecordDrop:
		a.live, a.series = false, nil
	case RecordAppend:
		a.series.Append(r.TS, r.Value)
	}
	a.lastLSN = r.LSN
	return tk
}

func (a *actor) snapshot() (SeriesSnapshot, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.live {
		return SeriesSnapshot{}, false
	}
	return SeriesSnapshot{Label: a.label, LastLSN: a.lastLSN, Data: a.series.AppendBinary(nil)}, true
}

func (a *actor) want(m model) {
	if !a.live {
		return
	}
	pts := []point{}
	for ts := int64(1); ts <= a.ts; ts++ {
		pts = append(pts, point{ts, uint64(ts) * 3})
	}
	m[a.label] = pts
}

// checkpointNow takes a checkpoint the way the server does: cut, snapshot every actor, commit.
func checkpointNow(t testing.TB, d Store, actors []*actor) {
	m, err := d.BeginCheckpoint()
	if err != nil {
		t.Fatal(err)
	}
	var snaps []SeriesSnapshot
	for _, a := range actors {
		if s, ok := a.snapshot(); ok {
			snaps = append(snaps, s)
		}
	}
	if err := d.CommitCheckpoint(m, snaps, nil); err != nil {
		t.Fatal(err)
	}
}

// TestCheckpointWhileAppending: checkpoints taken while every actor keeps appending, dropping
// and re-creating lose nothing and duplicate nothing (the LSN-skip rule), and delete the
// segments they cover.
func TestCheckpointWhileAppending(t *testing.T) {
	for _, policy := range []FsyncPolicy{FsyncAlways, FsyncInterval} {
		t.Run(policy.String(), func(t *testing.T) {
			dir := t.TempDir()
			d, _ := openRecovered(t, dir, DiskOptions{Fsync: policy, SegmentSize: 4 << 10})
			actors := make([]*actor, 8)
			for i := range actors {
				actors[i] = &actor{label: lbl(fmt.Sprintf("s/%d/..", i))}
			}
			var wg sync.WaitGroup
			stop := make(chan struct{})
			for i, a := range actors {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rng := rand.New(rand.NewSource(int64(i)))
					for n := 0; ; n++ {
						select {
						case <-stop:
							return
						default:
						}
						if err := a.step(t, d, rng).Wait(); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			for i := 0; i < 5; i++ {
				checkpointNow(t, d, actors)
			}
			close(stop)
			wg.Wait()
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			want := model{}
			for _, a := range actors {
				a.want(want)
			}
			d, states := openRecovered(t, dir, DiskOptions{Fsync: policy})
			defer func() { _ = d.Close() }()
			checkStates(t, states, want)
			for _, s := range states {
				for _, a := range actors {
					if a.label == s.Label && a.lastLSN != s.LastLSN {
						t.Errorf("series %q LastLSN %d, want %d", s.Label[:], s.LastLSN, a.lastLSN)
					}
				}
			}
			if ck, _ := diskfmt.ListSeqs(vfs.OS, filepath.Join(dir, checkpointDirName)); len(ck) != 1 {
				t.Errorf("checkpoints left: %v, want 1", ck)
			}
		})
	}
}

// TestCheckpointDeterministic walks the LSN-skip rules through one checkpoint with records
// logged between the cut and the snapshot, and after the snapshot.
func TestCheckpointDeterministic(t *testing.T) {
	a, b, c := lbl("a"), lbl("b"), lbl("c")
	dir := t.TempDir()
	d, _ := openRecovered(t, dir, DiskOptions{})
	m := model{}
	mustAppend(t, d, m, create(a))
	for ts := int64(1); ts <= 3; ts++ {
		mustAppend(t, d, m, app(a, ts, uint64(ts)))
	}
	mustAppend(t, d, m, create(b))
	mark, err := d.BeginCheckpoint()
	if err != nil {
		t.Fatal(err)
	}
	// Logged after the cut but before the snapshots: in both the snapshot and the new segment.
	mustAppend(t, d, m, app(a, 4, 4))
	mustAppend(t, d, m, drop(b))
	cr := mustAppend(t, d, m, create(c))
	snapA := chunkenc.NewSeries()
	for _, p := range m[a] {
		snapA.Append(p.ts, p.bits)
	}
	snaps := []SeriesSnapshot{
		{Label: a, LastLSN: cr.LSN - 2, Data: snapA.AppendBinary(nil)},
		{Label: c, LastLSN: cr.LSN, Data: chunkenc.NewSeries().AppendBinary(nil)},
	}
	// Logged after the snapshots: only in the log.
	mustAppend(t, d, m, app(a, 5, 5))
	mustAppend(t, d, m, drop(c))
	if err := d.CommitCheckpoint(mark, snaps, nil); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, d, m, app(a, 6, 6))
	mustAppend(t, d, m, create(b))
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	segs, _ := diskfmt.ListSeqs(vfs.OS, filepath.Join(dir, walDirName))
	if len(segs) == 0 || segs[0] != mark.Segment {
		t.Fatalf("segments %v left after checkpoint at %d", segs, mark.Segment)
	}
	d, states := openRecovered(t, dir, DiskOptions{})
	defer func() { _ = d.Close() }()
	checkStates(t, states, m)
}

// copyDir copies the data directory: taken before a step, restored after it, it stands for a
// crash in the middle of that step.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if fi.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCrashDuringCheckpoint: whichever step of CommitCheckpoint a crash interrupts, reopening
// loses nothing; if the only copy of some data is damaged, recovery refuses rather than guess.
func TestCrashDuringCheckpoint(t *testing.T) {
	ckptPath := func(dir string, m Mark) string {
		return filepath.Join(dir, checkpointDirName, diskfmt.SeqName(m.Segment))
	}
	tests := []struct {
		name    string
		crash   func(t *testing.T, dir, before string, m Mark) // before: copy of dir taken before the commit
		wantErr bool
	}{
		{"temp file half written", func(t *testing.T, dir, before string, m Mark) {
			must(t, os.RemoveAll(dir))
			copyDir(t, before, dir)
			must(t, os.WriteFile(ckptPath(dir, m)+diskfmt.TmpSuffix, []byte("TAUCKPT1 half"), 0o644))
		}, false},
		{"temp file complete, not renamed", func(t *testing.T, dir, before string, m Mark) {
			b, _ := os.ReadFile(ckptPath(dir, m))
			must(t, os.RemoveAll(dir))
			copyDir(t, before, dir)
			must(t, os.WriteFile(ckptPath(dir, m)+diskfmt.TmpSuffix, b, 0o644))
		}, false},
		{"renamed, old files not yet deleted", func(t *testing.T, dir, before string, _ Mark) {
			copyDir(t, before, dir) // puts back the old checkpoint and segments
		}, false},
		{"new checkpoint damaged, old files still there", func(t *testing.T, dir, before string, m Mark) {
			copyDir(t, before, dir)
			must(t, os.Truncate(ckptPath(dir, m), 40))
		}, false},
		{"new checkpoint damaged, old segments gone", func(t *testing.T, dir, _ string, m Mark) {
			f, err := os.OpenFile(ckptPath(dir, m), os.O_RDWR, 0)
			must(t, err)
			_, err = f.WriteAt([]byte{0xff}, 50)
			must(t, err)
			must(t, f.Close())
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, before := t.TempDir(), t.TempDir()
			d, _ := openRecovered(t, dir, DiskOptions{SegmentSize: 512})
			actors := []*actor{{label: lbl("x")}, {label: lbl("y")}}
			rng := rand.New(rand.NewSource(1))
			steps := func(n int) {
				for i := 0; i < n; i++ {
					for _, a := range actors {
						if err := a.step(t, d, rng).Wait(); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			steps(40)
			checkpointNow(t, d, actors) // an old checkpoint for the crash to fall back on
			steps(40)
			m, err := d.BeginCheckpoint()
			if err != nil {
				t.Fatal(err)
			}
			steps(10)
			if err := d.Sync(); err != nil {
				t.Fatal(err)
			}
			copyDir(t, dir, before)
			var snaps []SeriesSnapshot
			for _, a := range actors {
				if s, ok := a.snapshot(); ok {
					snaps = append(snaps, s)
				}
			}
			if err := d.CommitCheckpoint(m, snaps, nil); err != nil {
				t.Fatal(err)
			}
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			tc.crash(t, dir, before, m)
			log, _ := observed()
			d, err = OpenDisk(dir, DiskOptions{Logger: log})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = d.Close() }()
			states, err := d.Recover()
			if tc.wantErr {
				if err == nil {
					t.Fatal("recovered from a damaged checkpoint whose segments are gone")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := model{}
			for _, a := range actors {
				a.want(want)
			}
			checkStates(t, states, want)
			names, _ := os.ReadDir(filepath.Join(dir, checkpointDirName))
			for _, n := range names {
				if filepath.Ext(n.Name()) == diskfmt.TmpSuffix {
					t.Errorf("temporary checkpoint %s not removed", n.Name())
				}
			}
		})
	}
}

// TestCheckpointWriteFailureKeepsLog: a checkpoint that cannot be written fails alone; the log
// keeps working and nothing is lost.
func TestCheckpointWriteFailureKeepsLog(t *testing.T) {
	dir := t.TempDir()
	efs := errorfs.Wrap(vfs.OS)
	d, _ := openRecovered(t, dir, DiskOptions{FS: efs})
	m := model{}
	a := lbl("a")
	mustAppend(t, d, m, create(a))
	mustAppend(t, d, m, app(a, 1, 1))
	mark, err := d.BeginCheckpoint()
	if err != nil {
		t.Fatal(err)
	}
	efs.OnlyPaths(func(p string) bool { return bytes.Contains([]byte(p), []byte(checkpointDirName)) })
	efs.FailWriteAfter(10, syscall.ENOSPC)
	err = d.CommitCheckpoint(mark, []SeriesSnapshot{{Label: a, LastLSN: 2, Data: make([]byte, 100)}}, nil)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("commit error %v, want ENOSPC", err)
	}
	efs.Reset()
	mustAppend(t, d, m, app(a, 2, 2))
	_ = d.Close()
	d, states := openRecovered(t, dir, DiskOptions{})
	defer func() { _ = d.Close() }()
	checkStates(t, states, m)
}

func TestCheckpointFileDamage(t *testing.T) {
	s := chunkenc.NewSeries()
	s.Append(1, 2)
	var buf bytes.Buffer
	if err := encodeCheckpoint(&buf, checkpointVersion, 3, 9, []SeriesSnapshot{{Label: lbl("a"), LastLSN: 4, Data: s.AppendBinary(nil)}}); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	ck, err := readCheckpoint(bytes.NewReader(good), int64(len(good)))
	if err != nil || ck.segment != 3 || ck.lsn != 9 || ck.series[lbl("a")].LastLSN != 4 {
		t.Fatalf("round trip: %+v, %v", ck, err)
	}
	for cut := 0; cut < len(good); cut++ {
		if _, err := readCheckpoint(bytes.NewReader(good[:cut]), int64(cut)); !errors.Is(err, errBadCheckpoint) {
			t.Fatalf("cut at %d: %v", cut, err)
		}
	}
	for i := range good {
		b := append([]byte{}, good...)
		b[i] ^= 0x10
		if _, err := readCheckpoint(bytes.NewReader(b), int64(len(b))); !errors.Is(err, errBadCheckpoint) {
			t.Fatalf("flip at %d: %v", i, err)
		}
	}
}
