package raftlog

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/taudb/tau/internal/cluster"
	"github.com/taudb/tau/internal/storage/diskfmt"
	"github.com/taudb/tau/internal/storage/vfs"
	"github.com/taudb/tau/internal/storage/vfs/errorfs"
	"github.com/taudb/tau/internal/storage/wal"
	"github.com/taudb/tau/internal/testenv/golden"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from today's encoders")

var _ cluster.Storage = (*Storage)(nil)

func entries(term uint64, from, to uint64) []*raftpb.Entry {
	var out []*raftpb.Entry
	for i := from; i <= to; i++ {
		out = append(out, &raftpb.Entry{Term: proto.Uint64(term), Index: proto.Uint64(i), Type: raftpb.EntryNormal.Enum(),
			Data: []byte{byte(i), byte(term)}})
	}
	return out
}

func hardState(term, vote, commit uint64) *raftpb.HardState {
	return &raftpb.HardState{Term: proto.Uint64(term), Vote: proto.Uint64(vote), Commit: proto.Uint64(commit)}
}

func open(t *testing.T, dir string, o wal.Options) *Storage {
	t.Helper()
	s, err := Open(dir, o, 0)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// check compares what Raft reads from s with the entries (first..last, terms) and hard state.
func check(t *testing.T, s *Storage, first, last uint64, terms map[uint64]uint64, hs *raftpb.HardState) {
	t.Helper()
	f, _ := s.FirstIndex()
	l, _ := s.LastIndex()
	if f != first || l != last {
		t.Fatalf("log holds %d..%d, want %d..%d", f, l, first, last)
	}
	for i := first; i <= last; i++ {
		term, err := s.Term(i)
		if err != nil || term != terms[i] {
			t.Fatalf("entry %d: term %d, %v; want %d", i, term, err, terms[i])
		}
	}
	got, _, err := s.InitialState()
	if err != nil || !proto.Equal(got, hs) {
		t.Fatalf("hard state %v, %v; want %v", got, err, hs)
	}
}

// TestSaveSurvivesRestart: what Save made durable is what a reopened storage gives Raft,
// and an entry at an index already held replaces it and the rest (a new leader's log wins).
func TestSaveSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, wal.Options{})
	must(t, s.Save(hardState(1, 1, 3), entries(1, 1, 5)))
	must(t, s.Save(hardState(2, 2, 3), entries(2, 4, 6)))
	must(t, s.Close())
	terms := map[uint64]uint64{1: 1, 2: 1, 3: 1, 4: 2, 5: 2, 6: 2}
	s = open(t, dir, wal.Options{})
	check(t, s, 1, 6, terms, hardState(2, 2, 3))
	must(t, s.Save(nil, entries(3, 3, 3)))
	must(t, s.Close())
	s = open(t, dir, wal.Options{})
	defer func() { _ = s.Close() }()
	check(t, s, 1, 3, map[uint64]uint64{1: 1, 2: 1, 3: 3}, hardState(2, 2, 3))
}

// TestCompactBehindASnapshot: after a snapshot at 6 and a compaction, the old segment is
// gone, and a reopened storage holds the snapshot, the hard state and the entries after it.
func TestCompactBehindASnapshot(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, wal.Options{})
	must(t, s.Save(hardState(1, 1, 8), entries(1, 1, 10)))
	cs := &raftpb.ConfState{Voters: []uint64{1, 2, 3}}
	_, err := s.CreateSnapshot(6, cs, []byte("state at 6"))
	must(t, err)
	must(t, s.Compact(6))
	if _, err := os.Stat(filepath.Join(dir, diskfmt.SeqName(1))); !os.IsNotExist(err) {
		t.Fatalf("segment 1 survived the compaction: %v", err)
	}
	must(t, s.Close())
	s = open(t, dir, wal.Options{})
	defer func() { _ = s.Close() }()
	check(t, s, 7, 10, map[uint64]uint64{7: 1, 8: 1, 9: 1, 10: 1}, hardState(1, 1, 8))
	snap, err := s.Snapshot()
	must(t, err)
	if snap.GetMetadata().GetIndex() != 6 || string(snap.GetData()) != "state at 6" || len(snap.GetMetadata().GetConfState().GetVoters()) != len(cs.GetVoters()) {
		t.Fatalf("snapshot after reopen: %v", snap)
	}
}

// TestFailedFsyncFailsForGood: a Ready whose fsync fails is refused, and so is every later
// one, even once the disk works again (fsyncgate): the node stops and recovery runs.
func TestFailedFsyncFailsForGood(t *testing.T) {
	efs := errorfs.Wrap(vfs.OS)
	dir := t.TempDir()
	s := open(t, dir, wal.Options{FS: efs})
	must(t, s.Save(hardState(1, 1, 1), entries(1, 1, 2)))
	efs.FailSync(syscall.EIO)
	if err := s.Save(hardState(1, 1, 2), entries(1, 3, 3)); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Save with a failing fsync: %v", err)
	}
	efs.Reset()
	if err := s.Save(hardState(1, 1, 2), entries(1, 3, 3)); !errors.Is(err, wal.ErrLogFailed) {
		t.Fatalf("Save after a failed fsync: %v, want ErrLogFailed", err)
	}
	_ = s.Close()
	s = open(t, dir, wal.Options{})
	defer func() { _ = s.Close() }()
	check(t, s, 1, 2, map[uint64]uint64{1: 1, 2: 1}, hardState(1, 1, 1))
}

// TestTornReadyKeepsAPrefix: a crash at any byte of a Ready's write leaves, after recovery,
// the earlier Readies whole and some prefix of the torn one's entries: never a gap, never an
// entry that was not written.
func TestTornReadyKeepsAPrefix(t *testing.T) {
	src := t.TempDir()
	s := open(t, src, wal.Options{})
	must(t, s.Save(hardState(1, 1, 2), entries(1, 1, 2)))
	must(t, s.Close())
	base, err := os.ReadFile(filepath.Join(src, diskfmt.SeqName(1)))
	must(t, err)
	s = open(t, src, wal.Options{})
	must(t, s.Save(hardState(1, 1, 4), entries(1, 3, 6)))
	must(t, s.Close())
	whole, err := os.ReadFile(filepath.Join(src, diskfmt.SeqName(2)))
	must(t, err)
	for cut := wal.SegmentHeaderSize; cut <= len(whole); cut++ {
		dir := t.TempDir()
		must(t, os.WriteFile(filepath.Join(dir, diskfmt.SeqName(1)), base, 0o644))
		must(t, os.WriteFile(filepath.Join(dir, diskfmt.SeqName(2)), whole[:cut], 0o644))
		s := open(t, dir, wal.Options{})
		last, _ := s.LastIndex()
		if last < 2 || last > 6 {
			t.Fatalf("cut at %d: last index %d", cut, last)
		}
		for i := uint64(1); i <= last; i++ {
			if term, err := s.Term(i); err != nil || term != 1 {
				t.Fatalf("cut at %d: entry %d: %d, %v", cut, i, term, err)
			}
		}
		_ = s.Close()
	}
}

// TestGoldenRaftLog pins the records a Ready, a snapshot and a compaction write: kinds,
// groups and protobuf contents, in a version-3 segment.
func TestGoldenRaftLog(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, wal.Options{})
	must(t, s.Save(hardState(1, 1, 2), entries(1, 1, 3)))
	_, err := s.CreateSnapshot(2, &raftpb.ConfState{Voters: []uint64{1, 2, 3}}, []byte("sm"))
	must(t, err)
	must(t, s.Close())
	got, err := os.ReadFile(filepath.Join(dir, diskfmt.SeqName(1)))
	must(t, err)
	golden.Check(t, "testdata/raftlog-v1.golden", got, *update)
	s = open(t, dir, wal.Options{})
	defer func() { _ = s.Close() }()
	snap, _ := s.Snapshot()
	if snap.GetMetadata().GetIndex() != 2 {
		t.Fatalf("golden log reopens with snapshot %v", snap.GetMetadata())
	}
	check(t, s, 1, 3, map[uint64]uint64{1: 1, 2: 1, 3: 1}, hardState(1, 1, 2)) // a snapshot made here keeps the entries
}
