package storage

import (
	"sync"
)

// Memory is a Store that keeps nothing: every ticket resolves at once and Recover finds an
// empty database. Unit tests use it; it also documents the Store contract in its simplest form.
type Memory struct {
	mu  sync.Mutex
	lsn uint64
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory { return &Memory{} }

// Append assigns the next LSN; the record is "durable" at once.
func (m *Memory) Append(r *Record) (Ticket, error) {
	m.mu.Lock()
	m.lsn++
	r.LSN = m.lsn
	m.mu.Unlock()
	return Ticket{}, nil
}

// Sync has nothing to wait for.
func (m *Memory) Sync() error { return nil }

// Recover finds nothing.
func (m *Memory) Recover() ([]SeriesState, error) { return nil, nil }

// BeginCheckpoint has no segments to cut.
func (m *Memory) BeginCheckpoint() (Mark, error) { return Mark{}, nil }

// CommitCheckpoint drops the snapshots: the series keep every chunk in memory.
func (m *Memory) CommitCheckpoint(_ Mark, _ []SeriesSnapshot, install func()) error {
	if install != nil {
		install()
	}
	return nil
}

// Close does nothing.
func (m *Memory) Close() error { return nil }
