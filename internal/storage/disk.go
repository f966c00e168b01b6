package storage

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/taudb/tau/internal/storage/vfs"
	"github.com/taudb/tau/internal/storage/wal"
)

// Defaults of DiskOptions' zero fields.
const (
	DefaultSegmentSize   = wal.DefaultSegmentSize
	DefaultFsyncInterval = wal.DefaultFsyncInterval
)

// DiskOptions configures OpenDisk. The zero value is usable.
type DiskOptions struct {
	FS          vfs.FS        // nil: the real filesystem
	Fsync       FsyncPolicy   // FsyncAlways by default
	Interval    time.Duration // background fsync period for FsyncInterval; 0: DefaultFsyncInterval
	SegmentSize int64         // a segment is closed once it would grow past this; 0: DefaultSegmentSize
	Logger      *zap.Logger   // nil: no logs
	Registerer  prometheus.Registerer
}

// Disk is the on-disk Store: the write-ahead log (package wal), the checkpoints, and the
// chunk files with their compaction, composed. It is safe for concurrent use.
//
// Each part has one owner. The log guards itself (its own lock and committer goroutine);
// checkpoints, the chunk-file registry and the compactor belong to ckptMu, held by one
// checkpoint at a time and by nothing else once Recover has run. Lock order: ckptMu, then the
// log's.
type Disk struct {
	fs      vfs.FS
	dir     string
	ckptDir string
	log     *zap.Logger
	metrics *metrics
	wal     *wal.Log

	ckptMu    sync.Mutex // one checkpoint at a time
	chunks    *chunkFiles
	compactor *compactor
	ckptSize  atomic.Int64 // bytes of the newest checkpoint
}

var _ Store = (*Disk)(nil)

// OpenDisk opens (creating if needed) the store in dir. Call Recover before anything else.
func OpenDisk(dir string, opts DiskOptions) (*Disk, error) {
	if opts.FS == nil {
		opts.FS = vfs.OS
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	logger := opts.Logger.Named("storage")
	log, err := wal.Open(filepath.Join(dir, walDirName), wal.Options{
		FS: opts.FS, Fsync: opts.Fsync, Interval: opts.Interval, SegmentSize: opts.SegmentSize,
		Logger: logger, Registerer: opts.Registerer,
	})
	if err != nil {
		return nil, err
	}
	d := &Disk{
		fs:      opts.FS,
		dir:     dir,
		ckptDir: filepath.Join(dir, checkpointDirName),
		log:     logger,
		wal:     log,
	}
	d.metrics = newMetrics(opts.Registerer, sizes{
		log:        func() float64 { return float64(d.wal.Bytes()) },
		files:      func() float64 { return float64(d.chunks.size.Load()) },
		fileCount:  func() float64 { return float64(d.chunks.count.Load()) },
		checkpoint: func() float64 { return float64(d.ckptSize.Load()) },
	})
	d.chunks = newChunkFiles(opts.FS, filepath.Join(dir, chunkDirName), logger, d.metrics.retentionDeleted)
	d.compactor = &compactor{files: d.chunks, log: logger, count: d.metrics.compactions, duration: d.metrics.compactionDuration}
	if err := d.makeDirs(); err != nil {
		return nil, err
	}
	return d, nil
}

// makeDirs creates the layout and syncs the parents, so the directories survive a crash.
func (d *Disk) makeDirs() error {
	for _, sub := range []string{d.ckptDir, d.chunks.dir} {
		if err := d.fs.MkdirAll(sub, 0o755); err != nil {
			return fmt.Errorf("storage: create %s: %w", sub, err)
		}
	}
	if err := d.fs.SyncDir(d.dir); err != nil {
		return fmt.Errorf("storage: sync %s: %w", d.dir, err)
	}
	return nil
}

// Append logs r (package wal: it assigns r.LSN and never waits for I/O).
func (d *Disk) Append(r *Record) (Ticket, error) { return d.wal.Append(r) }

// Sync waits until everything appended so far is on stable storage, whatever the policy.
func (d *Disk) Sync() error { return d.wal.Sync() }

// Close flushes and fsyncs what was appended and closes the log. Appends after Close fail
// with ErrClosed. It returns the log's failure, if it failed. Chunk files stay mapped: a
// series may still be read after Close (tests do), and the mappings go with the process.
func (d *Disk) Close() error { return d.wal.Close() }

// Failure is why the log refuses writes (wal.ErrFsyncFailed inside when an fsync failed), nil
// while it takes them.
func (d *Disk) Failure() error { return d.wal.Failure() }

// LogBytes is the size of the live log segments: what a restart would replay. The server
// checkpoints when it grows, so restart time and disk use stay bounded.
func (d *Disk) LogBytes() int64 { return d.wal.Bytes() }
