package storage

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/taudb/tau/internal/storage/chunkfile"
	"github.com/taudb/tau/internal/storage/vfs"
)

// FsyncPolicy decides when a ticket resolves (TAU_FSYNC, README.md "Configuration").
type FsyncPolicy int

const (
	// FsyncAlways resolves a ticket once its batch is fsynced: acknowledged effects survive a
	// machine crash. Concurrent appenders share each fsync (group commit).
	FsyncAlways FsyncPolicy = iota
	// FsyncInterval resolves a ticket once its batch's write() returns: acknowledged effects
	// survive a process crash; a background fsync runs every DiskOptions.Interval.
	FsyncInterval
)

// String is the policy's TAU_FSYNC spelling.
func (p FsyncPolicy) String() string {
	switch p {
	case FsyncAlways:
		return "always"
	case FsyncInterval:
		return "interval"
	}
	return fmt.Sprintf("FsyncPolicy(%d)", int(p))
}

// ParseFsyncPolicy reads a TAU_FSYNC value.
func ParseFsyncPolicy(s string) (FsyncPolicy, error) {
	switch s {
	case "always":
		return FsyncAlways, nil
	case "interval":
		return FsyncInterval, nil
	}
	return 0, fmt.Errorf("storage: fsync policy %q: want always or interval", s)
}

// Defaults of DiskOptions' zero fields.
const (
	DefaultSegmentSize   = 64 << 20
	DefaultFsyncInterval = time.Second
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

// ErrClosed is returned by operations on a closed Disk.
var ErrClosed = errors.New("storage: closed")

// errNotRecovered is returned by writes before Recover has run: the log's next LSN and
// segment are only known once the old log has been read.
var errNotRecovered = errors.New("storage: Recover must run before the log takes writes")

// Disk is the on-disk Store: a segmented write-ahead log with group commit, checkpoints, and
// recovery. It is safe for concurrent use.
//
// Lock order: ckptMu, then mu, then group.mu. The committer goroutine owns the open segment
// and the spare batch; mu guards only what Append touches, so Append's critical section is an
// encode into a buffer.
type Disk struct {
	fs      vfs.FS
	dir     string
	walDir  string
	ckptDir string
	opts    DiskOptions
	log     *zap.Logger
	metrics *metrics
	commits *group

	ckptMu sync.Mutex // one checkpoint at a time

	mu      sync.Mutex
	state   diskState
	failed  bool   // a write or fsync failed: no more writes until restart
	lsn     uint64 // last assigned LSN
	cur     *batch // the batch filling now
	running bool   // the committer goroutine was started

	kick chan struct{} // wakes the committer; capacity 1 so Append never blocks on it
	stop chan struct{}
	done chan struct{}

	// Owned by the committer goroutine (and by Recover before it starts).
	seg    *segment
	spare  *batch
	dirty  bool   // written since the last fsync (FsyncInterval)
	cutSeg uint64 // segment a cut started; read by BeginCheckpoint after its ticket resolves
	cutErr error

	// Chunk files, under ckptMu (and Recover before the log starts): every file the newest
	// checkpoint names, open, and the next sequence number to use.
	chunkDir string
	files    map[uint64]*chunkfile.File
	nextFile uint64
	fileSize atomic.Int64 // bytes of live chunk files, for the gauges
	fileNum  atomic.Int64
	ckptSize atomic.Int64 // bytes of the newest checkpoint

	curSeg  atomic.Uint64 // the open segment, for CommitCheckpoint's check
	logSize atomic.Int64  // bytes of live segments, for the gauge
}

type diskState int

const (
	stateNew diskState = iota // opened, not yet recovered
	stateOpen
	stateClosed
)

var _ Store = (*Disk)(nil)

// OpenDisk opens (creating if needed) the store in dir. Call Recover before anything else.
func OpenDisk(dir string, opts DiskOptions) (*Disk, error) {
	if opts.FS == nil {
		opts.FS = vfs.OS
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultFsyncInterval
	}
	if opts.SegmentSize <= 0 {
		opts.SegmentSize = DefaultSegmentSize
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Fsync != FsyncAlways && opts.Fsync != FsyncInterval {
		return nil, fmt.Errorf("storage: unknown fsync policy %v", opts.Fsync)
	}
	d := &Disk{
		fs:       opts.FS,
		dir:      dir,
		walDir:   filepath.Join(dir, walDirName),
		ckptDir:  filepath.Join(dir, checkpointDirName),
		chunkDir: filepath.Join(dir, chunkDirName),
		files:    map[uint64]*chunkfile.File{},
		nextFile: 1,
		opts:     opts,
		log:      opts.Logger.Named("storage"),
		commits:  newGroup(),
		kick:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	d.metrics = newMetrics(opts.Registerer, sizes{
		log:        func() float64 { return float64(d.logSize.Load()) },
		files:      func() float64 { return float64(d.fileSize.Load()) },
		fileCount:  func() float64 { return float64(d.fileNum.Load()) },
		checkpoint: func() float64 { return float64(d.ckptSize.Load()) },
	})
	d.cur = &batch{seq: 1}
	d.spare = &batch{}
	if err := d.makeDirs(); err != nil {
		return nil, err
	}
	return d, nil
}

// makeDirs creates the layout and syncs the parents, so the directories survive a crash.
func (d *Disk) makeDirs() error {
	for _, sub := range []string{d.walDir, d.ckptDir, d.chunkDir} {
		if err := d.fs.MkdirAll(sub, 0o755); err != nil {
			return fmt.Errorf("storage: create %s: %w", sub, err)
		}
	}
	if err := d.fs.SyncDir(d.dir); err != nil {
		return fmt.Errorf("storage: sync %s: %w", d.dir, err)
	}
	return nil
}

// Append assigns r.LSN, encodes r into the batch filling now and returns that batch's ticket.
// It never waits for I/O and, once the batch buffers have grown, never allocates.
func (d *Disk) Append(r *Record) (Ticket, error) {
	if payloadSize(r) == 0 {
		return Ticket{}, fmt.Errorf("storage: unknown record type %d or batch of %d points", r.Type, len(r.Points))
	}
	d.mu.Lock()
	if err := d.writableLocked(); err != nil {
		d.mu.Unlock()
		return Ticket{}, err
	}
	d.lsn++
	r.LSN = d.lsn
	b := d.cur
	b.buf = appendFrame(b.buf, r)
	b.n++
	seq := b.seq
	d.mu.Unlock()
	d.wake()
	return Ticket{g: d.commits, seq: seq}, nil
}

// writableLocked says why the log cannot take a write now, if it cannot.
func (d *Disk) writableLocked() error {
	switch {
	case d.failed:
		return ErrLogFailed
	case d.state == stateNew:
		return errNotRecovered
	case d.state == stateClosed:
		return ErrClosed
	}
	return nil
}

// wake tells the committer there is work, without ever blocking.
func (d *Disk) wake() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// request flags the filling batch (fsync it, or cut the segment after it) and returns the
// ticket that resolves when that is done.
func (d *Disk) request(sync, cut bool) (Ticket, error) {
	d.mu.Lock()
	if err := d.writableLocked(); err != nil {
		d.mu.Unlock()
		return Ticket{}, err
	}
	b := d.cur
	if sync && !cut && d.opts.Fsync == FsyncAlways && len(b.buf) == 0 {
		// Every batch is fsynced in this mode: the one in flight, if any, covers it all.
		// Read seq under the lock: once unlocked, the committer may recycle b.
		seq := b.seq - 1
		d.mu.Unlock()
		return Ticket{g: d.commits, seq: seq}, nil
	}
	b.sync = b.sync || sync
	b.cut = b.cut || cut
	seq := b.seq
	d.mu.Unlock()
	d.wake()
	return Ticket{g: d.commits, seq: seq}, nil
}

// Sync waits until everything appended so far is on stable storage, whatever the policy.
func (d *Disk) Sync() error {
	t, err := d.request(true, false)
	if err != nil {
		return err
	}
	return t.Wait()
}

// Close flushes and fsyncs what was appended, stops the committer and closes the segment.
// Appends after Close fail with ErrClosed. It returns the log's failure, if it failed. Chunk
// files stay mapped: a series may still be read after Close (tests do), and the mappings go
// with the process.
func (d *Disk) Close() error {
	d.mu.Lock()
	if d.state == stateClosed {
		d.mu.Unlock()
		return ErrClosed
	}
	d.state = stateClosed
	d.cur.sync = true
	running := d.running
	d.mu.Unlock()
	if !running {
		return nil
	}
	close(d.stop)
	<-d.done
	// A clean stop leaves the log as an earlier release wrote it: no reserved room.
	terr := d.seg.trim()
	cerr := d.seg.f.Close()
	if cerr == nil {
		cerr = terr
	}
	if err := d.commits.outcome(d.cur.seq); err != nil {
		return err
	}
	return cerr
}

// LogBytes is the size of the live log segments: what a restart would replay. The server
// checkpoints when it grows, so restart time and disk use stay bounded.
func (d *Disk) LogBytes() int64 { return d.logSize.Load() }
