package wal

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/taudb/tau/internal/storage/vfs"
)

// FsyncPolicy decides when a ticket resolves (TAU_FSYNC, README.md "Configuration").
type FsyncPolicy int

const (
	// FsyncAlways resolves a ticket once its batch is fsynced: acknowledged effects survive a
	// machine crash. Concurrent appenders share each fsync (group commit).
	FsyncAlways FsyncPolicy = iota
	// FsyncInterval resolves a ticket once its batch's write() returns: acknowledged effects
	// survive a process crash; a background fsync runs every Options.Interval.
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

// Defaults of Options' zero fields.
const (
	DefaultSegmentSize   = 64 << 20
	DefaultFsyncInterval = time.Second
)

// Options configure Open. The zero value is usable.
type Options struct {
	FS          vfs.FS        // nil: the real filesystem
	Fsync       FsyncPolicy   // FsyncAlways by default
	Interval    time.Duration // background fsync period for FsyncInterval; 0: DefaultFsyncInterval
	SegmentSize int64         // a segment is closed once it would grow past this; 0: DefaultSegmentSize
	Logger      *zap.Logger   // nil: no logs
	Registerer  prometheus.Registerer
	// Raft says the log takes Raft records (cluster mode): its new segments are written in
	// format version 3. Without it they stay version 2, which earlier releases read.
	Raft bool
}

// ErrLogFailed is returned by Append once the log has seen a write or fsync failure: after a
// failed fsync the kernel may have dropped the data, so the log takes no more writes until the
// server restarts (the "fsyncgate" lesson). Reads keep being served from memory.
var ErrLogFailed = errors.New("storage: write-ahead log failed; restart to resume writes")

// ErrFsyncFailed is inside the failure of a log whose fsync failed: the kernel may have
// dropped written data, so only a restart, and recovery from what is on disk, can be trusted.
var ErrFsyncFailed = errors.New("fsync failed")

// ErrNoSpace is inside the error of a write a full disk refused. Unlike a failure it is not
// for good: the log stays as it was before the write, and takes writes again once there is
// space.
var ErrNoSpace = errors.New("storage: no space left for the log")

// ErrClosed is returned by operations on a closed Log.
var ErrClosed = errors.New("storage: closed")

// errNotRecovered is returned by writes before Recover has run: the log's next LSN and
// segment are only known once the old log has been read.
var errNotRecovered = errors.New("storage: Recover must run before the log takes writes")

// Log is the write-ahead log: segments in one directory, appended by one committer goroutine
// with group commit. It is safe for concurrent use.
//
// Two ownership regimes, and only two: mu guards what Append touches (the LSN, the filling
// batch, the state), so Append's critical section is an encode into a buffer; the committer
// goroutine owns the open segment and the spare batch, and runs every operation that changes
// segments while the log runs (a cut, a truncation). Lock order: mu, then group.mu.
type Log struct {
	fs      vfs.FS
	dir     string
	version int // of the segments it creates
	opts    Options
	log     *zap.Logger
	metrics *metrics
	commits *group

	mu      sync.Mutex
	state   logState
	failed  bool   // a write or fsync failed: no more writes until restart
	failure error  // why, the first time
	lsn     uint64 // last assigned LSN
	cur     *batch // the batch filling now
	running bool   // the committer goroutine was started

	kick chan struct{} // wakes the committer; capacity 1 so Append never blocks on it
	ops  chan func()   // run by the committer between batches (TruncateAfter)
	stop chan struct{}
	done chan struct{}

	// Owned by the committer goroutine (and by Recover before it starts).
	seg    *segment
	spare  *batch
	dirty  bool        // written since the last fsync (FsyncInterval)
	full   atomic.Bool // the last write was refused for space: drops are refused up front
	cutSeg uint64      // segment a cut started; read by Cut after its ticket resolves
	cutErr error

	curSeg atomic.Uint64 // the open segment
	size   atomic.Int64  // bytes of live segments
}

type logState int

const (
	stateNew logState = iota // opened, not yet recovered
	stateOpen
	stateClosed
)

// Open opens (creating if needed) the log in dir. Call Recover before anything else.
func Open(dir string, opts Options) (*Log, error) {
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
	if err := opts.FS.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("storage: create %s: %w", dir, err)
	}
	l := &Log{
		fs:      opts.FS,
		dir:     dir,
		opts:    opts,
		log:     opts.Logger,
		commits: newGroup(),
		kick:    make(chan struct{}, 1),
		ops:     make(chan func()),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		cur:     &batch{seq: 1},
		spare:   &batch{},
		version: segmentVersion,
	}
	if opts.Raft {
		l.version = raftVersion
	}
	l.metrics = newMetrics(opts.Registerer, func() float64 { return float64(l.size.Load()) })
	return l, nil
}

// Dir is the log's directory.
func (l *Log) Dir() string { return l.dir }

// Append assigns r.LSN, encodes r into the batch filling now and returns that batch's ticket.
// It never waits for I/O and, once the batch buffers have grown, never allocates.
func (l *Log) Append(r *Record) (Ticket, error) {
	if err := l.accepts(r); err != nil {
		return Ticket{}, err
	}
	l.mu.Lock()
	if err := l.writableLocked(); err != nil {
		l.mu.Unlock()
		return Ticket{}, err
	}
	l.addLocked(r)
	seq := l.cur.seq
	l.mu.Unlock()
	l.wake()
	return Ticket{g: l.commits, seq: seq}, nil
}

// AppendAll appends rs in order into one group commit and returns its ticket: all of them
// are durable, or none is acknowledged. An error means nothing was logged.
func (l *Log) AppendAll(rs []*Record) (Ticket, error) {
	for _, r := range rs {
		if err := l.accepts(r); err != nil {
			return Ticket{}, err
		}
	}
	l.mu.Lock()
	if err := l.writableLocked(); err != nil {
		l.mu.Unlock()
		return Ticket{}, err
	}
	for _, r := range rs {
		l.addLocked(r)
	}
	seq := l.cur.seq
	l.mu.Unlock()
	l.wake()
	return Ticket{g: l.commits, seq: seq}, nil
}

// accepts says why r cannot be logged, if it cannot, whatever the log's state.
func (l *Log) accepts(r *Record) error {
	if payloadSize(r) == 0 {
		return fmt.Errorf("storage: unknown record type %d or batch of %d points", r.Type, len(r.Points))
	}
	if r.Type == RecordDrop && l.full.Load() {
		// A drop is refused before it is done while the disk is full: once done, memory could
		// not take it back, and a refusal after the fact would fail the log for good.
		return fmt.Errorf("%w: a drop waits for space", ErrNoSpace)
	}
	return nil
}

// addLocked assigns r the next LSN and encodes it into the filling batch. Under mu.
func (l *Log) addLocked(r *Record) {
	l.lsn++
	r.LSN = l.lsn
	b := l.cur
	b.buf = appendFrame(b.buf, r)
	b.n++
	b.structural = b.structural || r.Type == RecordDrop
}

// writableLocked says why the log cannot take a write now, if it cannot.
func (l *Log) writableLocked() error {
	switch {
	case l.failed:
		return ErrLogFailed
	case l.state == stateNew:
		return errNotRecovered
	case l.state == stateClosed:
		return ErrClosed
	}
	return nil
}

// wake tells the committer there is work, without ever blocking.
func (l *Log) wake() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// request flags the filling batch (fsync it, or cut the segment after it) and returns the
// ticket that resolves when that is done.
func (l *Log) request(sync, cut bool) (Ticket, error) {
	l.mu.Lock()
	if err := l.writableLocked(); err != nil {
		l.mu.Unlock()
		return Ticket{}, err
	}
	b := l.cur
	if !cut && len(b.buf) == 0 && (!sync || l.opts.Fsync == FsyncAlways) {
		// Every batch is written (and, in this mode, fsynced) in turn: the one in flight, if
		// any, covers it all. Read seq under the lock: once unlocked, the committer may
		// recycle b.
		seq := b.seq - 1
		l.mu.Unlock()
		return Ticket{g: l.commits, seq: seq}, nil
	}
	b.sync = b.sync || sync
	b.cut = b.cut || cut
	seq := b.seq
	l.mu.Unlock()
	l.wake()
	return Ticket{g: l.commits, seq: seq}, nil
}

// Sync waits until everything appended so far is on stable storage, whatever the policy.
func (l *Log) Sync() error {
	t, err := l.request(true, false)
	if err != nil {
		return err
	}
	return t.Wait()
}

// written waits until everything appended so far has reached the segment files (not
// necessarily stable storage).
func (l *Log) written() error {
	t, err := l.request(false, false)
	if err != nil {
		return err
	}
	return t.Wait()
}

// Cut makes every record appended before the call lie in a segment before the returned one,
// which the log appends to from now on: the mark a checkpoint begins at.
func (l *Log) Cut() (uint64, error) {
	t, err := l.request(false, true)
	if err != nil {
		return 0, err
	}
	if err := t.Wait(); err != nil {
		return 0, err
	}
	// The committer set these before resolving the ticket.
	if l.cutErr != nil {
		return 0, l.cutErr
	}
	return l.cutSeg, nil
}

// Close flushes and fsyncs what was appended, stops the committer and closes the segment.
// Appends after Close fail with ErrClosed. It returns the log's failure, if it failed.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.state == stateClosed {
		l.mu.Unlock()
		return ErrClosed
	}
	l.state = stateClosed
	l.cur.sync = true
	running := l.running
	l.mu.Unlock()
	if !running {
		return nil
	}
	close(l.stop)
	<-l.done
	// A clean stop leaves the log as an earlier release wrote it: no reserved room.
	terr := l.seg.trim()
	cerr := l.seg.f.Close()
	if cerr == nil {
		cerr = terr
	}
	if err := l.commits.outcome(l.cur.seq); err != nil {
		return err
	}
	return cerr
}

// Failure is why the log refuses writes, nil while it takes them.
func (l *Log) Failure() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failure
}

// Bytes is the size of the live log segments: what a restart would replay.
func (l *Log) Bytes() int64 { return l.size.Load() }

// LastLSN is the LSN of the last record appended (or recovered).
func (l *Log) LastLSN() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lsn
}

// Segment is the number of the segment the log appends to now.
func (l *Log) Segment() uint64 { return l.curSeg.Load() }
