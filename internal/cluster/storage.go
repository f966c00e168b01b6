package cluster

import (
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// Storage is where a node's Raft state lives: what Raft reads (raft.Storage) and what the loop
// saves from each Ready.
type Storage interface {
	raft.Storage
	// Save makes hs (when not empty) and ents durable together, in one write and one fsync:
	// a Ready is one group commit. Entries from ents[0]'s index on replace any the log held at
	// the same or a higher index.
	Save(hs *raftpb.HardState, ents []*raftpb.Entry) error
	// ApplySnapshot replaces the log with a snapshot received from the leader.
	ApplySnapshot(snap *raftpb.Snapshot) error
	// CreateSnapshot records a snapshot of the state machine at index i (data is what its
	// Snapshot returned) and Compact drops the entries it covers.
	CreateSnapshot(i uint64, cs *raftpb.ConfState, data []byte) (*raftpb.Snapshot, error)
	Compact(i uint64) error
}

// MemStorage is a Storage kept in memory: a node restarted on the same MemStorage finds what
// it saved, as after a crash of the process alone. Tests use it; it is durable only as long
// as the process lives.
type MemStorage struct {
	*raft.MemoryStorage
}

// NewMemStorage returns an empty MemStorage.
func NewMemStorage() *MemStorage { return &MemStorage{raft.NewMemoryStorage()} }

// Save stores ents, then hs.
func (m *MemStorage) Save(hs *raftpb.HardState, ents []*raftpb.Entry) error {
	if err := m.Append(ents); err != nil {
		return err
	}
	if hs != nil && !raft.IsEmptyHardState(hs) {
		return m.SetHardState(hs)
	}
	return nil
}

var _ Storage = (*MemStorage)(nil)
