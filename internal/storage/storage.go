// Package storage makes series durable: a write-ahead log of every mutation (create, drop,
// append) with group commit, periodic checkpoints of whole series, and recovery at start.
//
// The actors own the series data in memory (Gorilla-compressed, package chunkenc); storage owns
// what is on disk. An actor logs a record and keeps the Ticket; the connection answers OK only
// once the ticket resolves (docs/protocol.md, R11).
//
// Disk is the on-disk Store. Its data directory (TAU_DATA_DIR) holds:
//
//	wal/<16-digit segment>         log segments: a 16-byte header ("TAUWSEG", version '2', u64
//	                               segment number), then records framed as
//	                               u32 length | u32 CRC32C | type, LSN, label[, ts, value bits]
//	                               (a batch: label, u32 n, n × (ts, value bits))
//	checkpoint/<16-digit segment>  every live series as of a cut ("TAUCKPT" + version '2'):
//	                               its head, and its spans in chunk files; the log replays
//	                               from that segment
//	checkpoint/<…>.tmp             a checkpoint being written; removed at start
//	chunks/<16-digit file>         full chunks, immutable, read through mmap (package chunkfile)
//
// docs/storage-format.md describes every format byte by byte. Each carries a version; the
// golden files in testdata pin them, and testdata/release-cc5f6c9 is a directory written by an
// older release. Segments written before the header existed (format version 0, records from
// byte 0) and segments of version 1 (no batch records) are read as they are: an upgrade needs
// no migration. A file in a version this release does not know stops recovery with a
// VersionError; a format changes only by a new version with a reader kept for the old one.
//
// The store is three parts, each with one owner: the write-ahead log (package wal: segments,
// group commit, torn-tail repair; its own lock and committer goroutine); the checkpoints
// (checkpoint.go), which cut the log, write every series and compact the log's prefix away;
// and the chunk files (chunks.go) with their compactor (compact.go), which belong to the
// checkpointer. Disk composes them. Recovery loads the newest valid checkpoint, opens the
// chunk files it names and replays the log from its mark. After a write or fsync failure the
// log refuses all writes until restart (ErrLogFailed).
package storage

import (
	"github.com/taudb/tau/internal/series"
	"github.com/taudb/tau/internal/storage/chunkenc"
	"github.com/taudb/tau/internal/storage/chunkfile"
	"github.com/taudb/tau/internal/storage/diskfmt"
	"github.com/taudb/tau/internal/storage/wal"
)

// The log's types, under the names the engine has always used: the log itself is package wal.
type (
	// RecordType is the kind of a logged mutation.
	RecordType = wal.RecordType
	// Record is one logged mutation.
	Record = wal.Record
	// Ticket resolves when the records it covers are durable.
	Ticket = wal.Ticket
	// Point is one appended point: a timestamp and its value's exact IEEE-754 bits.
	Point = chunkenc.Point
	// FsyncPolicy decides when a ticket resolves (TAU_FSYNC).
	FsyncPolicy = wal.FsyncPolicy
	// VersionError reports a file in a format version this release does not read.
	VersionError = diskfmt.VersionError
	// CorruptionError reports damage that recovery must not guess around.
	CorruptionError = diskfmt.CorruptionError
)

// Record types (package wal). Their numbers are part of the on-disk format: never renumber.
const (
	RecordCreate = wal.RecordCreate
	RecordDrop   = wal.RecordDrop
	RecordAppend = wal.RecordAppend
	RecordBatch  = wal.RecordBatch
)

// MaxBatchPoints is the most points one RecordBatch holds (package wal).
const MaxBatchPoints = wal.MaxBatchPoints

// Fsync policies (TAU_FSYNC), as package wal defines them.
const (
	FsyncAlways   = wal.FsyncAlways
	FsyncInterval = wal.FsyncInterval
)

// ParseFsyncPolicy reads a TAU_FSYNC value.
func ParseFsyncPolicy(s string) (FsyncPolicy, error) { return wal.ParseFsyncPolicy(s) }

// Errors of the log (package wal).
var (
	ErrLogFailed   = wal.ErrLogFailed
	ErrFsyncFailed = wal.ErrFsyncFailed
	ErrNoSpace     = wal.ErrNoSpace
	ErrClosed      = wal.ErrClosed
)

// Log is the durable sequence of mutations.
type Log interface {
	// Append assigns r.LSN and queues r. The Ticket resolves once r is durable under the
	// store's fsync policy. An error means nothing was logged.
	Append(r *Record) (Ticket, error)
	// Sync waits until everything appended so far is on stable storage.
	Sync() error
}

// SeriesState is one series as recovered at start.
type SeriesState struct {
	Label   series.Label
	Series  *Series
	LastLSN uint64 // LSN of the last record applied to this series (its create or last append)
}

// SeriesSnapshot is one series as its actor saw it for a checkpoint (Series.Snapshot), and,
// once the checkpoint is committed, where its full chunks now are (Series.Install).
type SeriesSnapshot struct {
	Label   series.Label
	LastLSN uint64
	// Data is the chunkenc encoding of the chunks that stay in memory: the head (and, for a
	// store that writes no chunk files, every chunk).
	Data []byte
	// Spans are the series' runs already in chunk files; Flush its full chunks still in memory,
	// which the checkpoint writes to a new file. Flush shares the chunks' bytes: they are
	// immutable.
	Spans []chunkfile.Ref
	Flush []chunkenc.Chunk
	Keep  int64 // the oldest timestamp not expired (E6): older chunks need not be kept

	spans   []span // set by the store at commit: the runs the series reads from now on
	flushed int    // how many of Flush are now in a file
	install bool   // whether the store set spans and flushed
}

// Mark identifies the start of the log segment a checkpoint begins at.
type Mark struct{ Segment uint64 }

// Store is a Log that can be recovered and checkpointed. The server uses the on-disk store;
// tests may use the in-memory one.
type Store interface {
	Log
	// Recover loads the newest checkpoint and replays the log after it. It is called once,
	// before the first Append, and returns every live series.
	Recover() ([]SeriesState, error)
	// BeginCheckpoint starts a new log segment: every record appended before the call lies in
	// an earlier segment. Snapshots for the checkpoint must be taken after it returns.
	BeginCheckpoint() (Mark, error)
	// CommitCheckpoint durably writes the snapshots' full chunks to a new chunk file and the
	// snapshots as the checkpoint at m (each: write, fsync, rename, fsync dir), then removes
	// the log segments before m. Replay after it skips any record whose LSN is at or below its
	// series' snapshot LastLSN. Once the checkpoint is committed it calls install, which must
	// hand every snapshot to its series' Install and return when all are done; only then are
	// chunk files the checkpoint no longer names deleted.
	CommitCheckpoint(m Mark, snaps []SeriesSnapshot, install func()) error
	// Close syncs and closes the log.
	Close() error
}
