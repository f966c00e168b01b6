// Package raftlog keeps a Raft group's state durable in Tau's write-ahead log (package wal):
// the cluster's Storage. Each Ready is one group commit: its entries and hard state become
// RecordRaft records appended together, with one write and one fsync, so the log's framing,
// torn-tail repair and fsyncgate rule (a failed fsync fails the log for good) hold for Raft
// as for a single node. Raft reads from a raft.MemoryStorage that the log rebuilds at open.
//
// The records are appended, never rewritten: an entry at an index the log already holds
// replaces it and everything after it (a new leader's log wins), on replay as in memory, as
// etcd's wal does. A snapshot is a record too; compacting behind it cuts the log, writes the
// snapshot, the hard state and the entries after it into the new segment, and removes the
// segments before.
//
// Record kinds (Record.Kind), part of the format: never renumber.
//
//	1 entry       a raftpb.Entry, protobuf
//	2 hard state  a raftpb.HardState, protobuf
//	3 snapshot    a raftpb.Snapshot, protobuf: its metadata and the state machine's data
package raftlog

import (
	"errors"
	"fmt"
	"sync"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/taudb/tau/internal/storage/wal"
)

// Record kinds: never renumber.
const (
	kindEntry     byte = 1
	kindHardState byte = 2
	kindSnapshot  byte = 3
)

var marshal = proto.MarshalOptions{Deterministic: true}

// ErrGap is recovery finding an entry after a missing one: the log lost records.
var ErrGap = errors.New("raftlog: an entry follows a missing one")

// Storage is a raft.Storage kept durable in a wal.Log. Save, ApplySnapshot, CreateSnapshot and
// Compact are called by the node's loop only; Raft's reads may come at any time.
type Storage struct {
	*raft.MemoryStorage
	log   *wal.Log
	group uint64
	mu    sync.Mutex // serialises the writers (the loop, and tests)
}

// Open opens the log in dir (Options.Raft is set for it), replays group's records into
// memory and returns the storage ready for Raft.
func Open(dir string, o wal.Options, group uint64) (*Storage, error) {
	o.Raft = true
	log, err := wal.Open(dir, o)
	if err != nil {
		return nil, err
	}
	s := &Storage{MemoryStorage: raft.NewMemoryStorage(), log: log, group: group}
	// Compaction removes the oldest segments, so the log starts at its oldest live one; a
	// lost segment shows as a gap in the entries (ErrGap) instead.
	first, err := wal.OldestSegment(o.FS, dir)
	if err != nil {
		_ = log.Close()
		return nil, err
	}
	var replayErr error
	err = log.Recover(first, 0, func(segment string, r *wal.Record) {
		if replayErr == nil && r.Type == wal.RecordRaft && r.Group == group {
			if replayErr = s.replay(r); replayErr != nil {
				replayErr = fmt.Errorf("raftlog: %s, LSN %d: %w", segment, r.LSN, replayErr)
			}
		}
	})
	if err == nil {
		err = replayErr
	}
	if err != nil {
		_ = log.Close()
		return nil, err
	}
	return s, nil
}

// replay applies one record to memory as the Ready that wrote it did.
func (s *Storage) replay(r *wal.Record) error {
	switch r.Kind {
	case kindEntry:
		e := &raftpb.Entry{}
		if err := proto.Unmarshal(r.Data, e); err != nil {
			return err
		}
		return s.appendEntries([]*raftpb.Entry{e})
	case kindHardState:
		hs := &raftpb.HardState{}
		if err := proto.Unmarshal(r.Data, hs); err != nil {
			return err
		}
		return s.SetHardState(hs)
	case kindSnapshot:
		snap := &raftpb.Snapshot{}
		if err := proto.Unmarshal(r.Data, snap); err != nil {
			return err
		}
		return s.replaySnapshot(snap)
	}
	return fmt.Errorf("unknown record kind %d", r.Kind)
}

// replaySnapshot restores a snapshot record as it was made: one this node created (the log
// holds the entry it was taken at, in its term) keeps the entries after it, as
// CreateSnapshot did; one received from the leader replaced the log, as ApplySnapshot did.
func (s *Storage) replaySnapshot(snap *raftpb.Snapshot) error {
	md := snap.GetMetadata()
	old, err := s.Snapshot()
	if err != nil {
		return err
	}
	if md.GetIndex() <= old.GetMetadata().GetIndex() {
		return nil // superseded by a newer one already replayed
	}
	if term, err := s.Term(md.GetIndex()); err == nil && term == md.GetTerm() {
		_, err := s.MemoryStorage.CreateSnapshot(md.GetIndex(), md.GetConfState(), snap.GetData())
		return err
	}
	return s.MemoryStorage.ApplySnapshot(snap)
}

// appendEntries appends to memory what the log holds: entries a snapshot covers are
// skipped, one at an index already there replaces the rest, and a gap is an error (the
// memory storage would panic on it).
func (s *Storage) appendEntries(ents []*raftpb.Entry) error {
	if len(ents) == 0 {
		return nil
	}
	first, _ := s.FirstIndex()
	last, _ := s.LastIndex()
	for len(ents) > 0 && ents[0].GetIndex() < first {
		ents = ents[1:]
	}
	if len(ents) == 0 {
		return nil
	}
	if ents[0].GetIndex() > last+1 {
		return fmt.Errorf("%w: entry %d after %d", ErrGap, ents[0].GetIndex(), last)
	}
	return s.Append(ents)
}

// Save makes the entries and the hard state durable in one group commit, then gives them to
// Raft's view.
func (s *Storage) Save(hs *raftpb.HardState, ents []*raftpb.Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	recs := make([]*wal.Record, 0, len(ents)+1)
	for _, e := range ents {
		r, err := s.record(kindEntry, e)
		if err != nil {
			return err
		}
		recs = append(recs, r)
	}
	if hs != nil && !raft.IsEmptyHardState(hs) {
		r, err := s.record(kindHardState, hs)
		if err != nil {
			return err
		}
		recs = append(recs, r)
	}
	if err := s.write(recs); err != nil {
		return err
	}
	if err := s.appendEntries(ents); err != nil {
		return err
	}
	if hs != nil && !raft.IsEmptyHardState(hs) {
		return s.SetHardState(hs)
	}
	return nil
}

// ApplySnapshot makes a snapshot received from the leader durable, then replaces Raft's view
// with it.
func (s *Storage) ApplySnapshot(snap *raftpb.Snapshot) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.record(kindSnapshot, snap)
	if err != nil {
		return err
	}
	if err := s.write([]*wal.Record{r}); err != nil {
		return err
	}
	return s.MemoryStorage.ApplySnapshot(snap)
}

// CreateSnapshot records the state machine's snapshot at index i durably.
func (s *Storage) CreateSnapshot(i uint64, cs *raftpb.ConfState, data []byte) (*raftpb.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap, err := s.MemoryStorage.CreateSnapshot(i, cs, data)
	if err != nil {
		return nil, err
	}
	r, err := s.record(kindSnapshot, snap)
	if err != nil {
		return nil, err
	}
	return snap, s.write([]*wal.Record{r})
}

// Compact drops the entries up to i from memory and the log's segments that only held what
// the newest snapshot covers: the log is cut, the snapshot, the hard state and the entries
// after it are written again into the new segment, and the segments before are removed.
func (s *Storage) Compact(i uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.MemoryStorage.Compact(i); err != nil {
		return err
	}
	seg, err := s.log.Cut()
	if err != nil {
		return err
	}
	recs, err := s.liveRecords()
	if err != nil {
		return err
	}
	if err := s.write(recs); err != nil {
		return err
	}
	s.log.RemoveBefore(seg)
	return nil
}

// liveRecords are the records that rebuild today's state alone.
func (s *Storage) liveRecords() ([]*wal.Record, error) {
	snap, err := s.Snapshot()
	if err != nil {
		return nil, err
	}
	var recs []*wal.Record
	if !raft.IsEmptySnap(snap) {
		r, err := s.record(kindSnapshot, snap)
		if err != nil {
			return nil, err
		}
		recs = append(recs, r)
	}
	hs, _, err := s.InitialState()
	if err != nil {
		return nil, err
	}
	if !raft.IsEmptyHardState(hs) {
		r, err := s.record(kindHardState, hs)
		if err != nil {
			return nil, err
		}
		recs = append(recs, r)
	}
	first, _ := s.FirstIndex()
	last, _ := s.LastIndex()
	if last >= first {
		ents, err := s.Entries(first, last+1, ^uint64(0))
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			r, err := s.record(kindEntry, e)
			if err != nil {
				return nil, err
			}
			recs = append(recs, r)
		}
	}
	return recs, nil
}

func (s *Storage) record(kind byte, m proto.Message) (*wal.Record, error) {
	data, err := marshal.Marshal(m)
	if err != nil {
		return nil, err
	}
	if len(data) > wal.MaxRaftData {
		return nil, fmt.Errorf("raftlog: a %d-byte record is over the log's %d", len(data), wal.MaxRaftData)
	}
	return &wal.Record{Type: wal.RecordRaft, Group: s.group, Kind: kind, Data: data}, nil
}

// write appends recs as one group commit and waits until they are durable.
func (s *Storage) write(recs []*wal.Record) error {
	if len(recs) == 0 {
		return nil
	}
	t, err := s.log.AppendAll(recs)
	if err != nil {
		return err
	}
	return t.Wait()
}

// Close syncs and closes the log.
func (s *Storage) Close() error { return s.log.Close() }
