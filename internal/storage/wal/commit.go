package wal

import (
	"errors"
	"fmt"
	"io"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// batch is one group commit: the frames of every record appended while the previous batch was
// being written, written with one write() and, under FsyncAlways, one fsync. Two batches take
// turns (one filling under Log.mu, one being written by the committer), so their buffers are
// reused and Append allocates nothing once they have grown.
type batch struct {
	seq  uint64 // the group sequence number its tickets wait for
	buf  []byte
	n    int  // records in buf
	sync bool // fsync even under FsyncInterval (Sync, Close)
	cut  bool // start a new segment after it (BeginCheckpoint)
	// structural: it holds a drop, which a refusal cannot take back (the dropped series'
	// points are gone from memory, and its label may be created anew): a full disk then fails
	// the log instead. A refused create is taken back: its series leaves the catalog.
	structural bool
}

func (b *batch) empty() bool { return len(b.buf) == 0 && !b.sync && !b.cut }

// maxRetainedBatch is the largest buffer a batch keeps between commits: steady traffic reuses
// its buffer, while the memory of a rare burst goes back to the runtime.
const maxRetainedBatch = 1 << 20

func (b *batch) reset() {
	b.buf, b.n, b.sync, b.cut, b.structural = b.buf[:0], 0, false, false, false
	if cap(b.buf) > maxRetainedBatch {
		b.buf = nil
	}
}

// run is the committer: the only goroutine that touches the open segment. Batches are written
// one after another; while one is in write()+fsync(), appenders fill the next, which is how
// concurrent appenders come to share an fsync.
func (l *Log) run() {
	defer close(l.done)
	var tick <-chan time.Time
	if l.opts.Fsync == FsyncInterval {
		t := time.NewTicker(l.opts.Interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-l.kick:
			l.commitPending()
		case op := <-l.ops:
			l.commitPending()
			op()
		case <-tick:
			l.backgroundSync()
		case <-l.stop:
			l.commitPending() // Close flagged the last batch for fsync
			return
		}
	}
}

// commitPending commits batches until none is waiting.
func (l *Log) commitPending() {
	for {
		b := l.take()
		if b == nil {
			return
		}
		l.commit(b)
		b.reset()
		l.spare = b
	}
}

// take swaps the filling batch for the spare one and returns it, or nil if it has nothing.
func (l *Log) take() *batch {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.cur
	if b.empty() {
		return nil
	}
	l.spare.seq = b.seq + 1
	l.cur, l.spare = l.spare, nil
	return b
}

// commit writes b, fsyncs it if the policy or a Sync asks, cuts the segment if asked, and
// resolves b's ticket. After a failure nothing more is written: the batches' tickets already
// carry ErrLogFailed.
func (l *Log) commit(b *batch) {
	if l.isFailed() {
		return
	}
	if err := l.rotateIfFull(len(b.buf)); err != nil {
		l.failLog(b.seq, "rotate", err)
		return
	}
	start := l.seg.size
	if err := l.write(b); err != nil {
		if l.truncateTo(start) && errors.Is(err, syscall.ENOSPC) && !b.structural && l.rewind(start) && l.refuse(b.seq, err) {
			return // nothing of it is in the log: it may be written again later
		}
		l.failLog(b.seq, "write", err)
		return
	}
	l.spaceBack()
	if b.sync || (l.opts.Fsync == FsyncAlways && len(b.buf) > 0) {
		if err := l.fsync(); err != nil {
			// The kernel may have dropped the pages: this batch is not durable, and never
			// retry the fsync as if it were (fsyncgate). Drop its bytes so a restart does
			// not resurrect records that were answered with an error.
			l.truncateTo(start)
			l.failLog(b.seq, "fsync", err)
			return
		}
	}
	var cutErr error
	if b.cut {
		l.cutSeg, cutErr = l.cut()
		l.cutErr = cutErr
	}
	l.commits.resolve(b.seq)
	if cutErr != nil {
		// The batch itself is durable; the log has no segment to write the next one to.
		l.failLog(b.seq+1, "rotate", cutErr)
	}
}

func (l *Log) isFailed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failed
}

// write appends b's frames to the segment with a single write().
func (l *Log) write(b *batch) error {
	if len(b.buf) == 0 {
		return nil
	}
	l.seg.reserve(int64(len(b.buf)))
	n, err := l.seg.f.Write(b.buf)
	if err != nil {
		return err
	}
	l.seg.size += int64(n)
	l.size.Add(int64(n))
	l.dirty = true
	l.metrics.writtenBytes.Add(float64(n))
	l.metrics.records.Add(float64(b.n))
	return nil
}

// fsync makes the open segment durable.
func (l *Log) fsync() error {
	start := time.Now()
	err := l.seg.f.Sync()
	l.metrics.fsyncDuration.Observe(time.Since(start).Seconds())
	l.metrics.fsyncs.Inc()
	if err == nil {
		l.dirty = false
	}
	return err
}

// backgroundSync is FsyncInterval's periodic fsync. A failure fails the log for every later
// write; what was written before stays, as it was already acknowledged.
func (l *Log) backgroundSync() {
	if !l.dirty || l.isFailed() {
		return
	}
	if err := l.fsync(); err != nil {
		l.mu.Lock()
		next := l.cur.seq
		l.mu.Unlock()
		l.failLog(next, "fsync", err)
	}
}

// truncateTo cuts the segment back to its last good size, best effort: a failed write may
// have left a torn prefix. If this fails too, recovery cuts the torn tail at the next start.
// It reports whether the segment ends at size again.
func (l *Log) truncateTo(size int64) bool {
	if err := l.seg.f.Truncate(size); err != nil {
		l.log.Warn("cannot truncate log segment after failure", zap.String("segment", l.seg.path),
			zap.Int64("offset", size), zap.Error(err))
		return false
	}
	l.seg.alloc = min(l.seg.alloc, size)
	return true
}

// refuse answers batch seq, whose write a full disk refused, and the batch filling now, whose
// records may rest on it (an append after a refused one), with err; the log takes writes
// again from the next batch on, and stays as it was before seq. Nothing of either batch is
// logged: the series take their points back (actor), and a write retried once space is back
// succeeds. Under l.mu the filling batch is swapped for a fresh one, so no append lands in
// a batch already answered. It refuses nothing, and reports false, when the filling batch
// holds a drop: the log then fails as for any other write error.
func (l *Log) refuse(seq uint64, err error) bool {
	l.mu.Lock()
	if l.cur.structural {
		l.mu.Unlock()
		return false
	}
	hi := l.cur.seq
	l.cur = &batch{seq: hi + 1}
	l.mu.Unlock()
	l.metrics.writeFailures.Inc()
	l.metrics.outOfSpace.Set(1)
	if !l.full.Swap(true) {
		l.log.Warn("the disk is full: writes are refused until space is back; reads go on",
			zap.String("segment", l.seg.path), zap.Error(err))
	}
	l.commits.refuse(seq, hi, fmt.Errorf("%w: write %s: %w", ErrNoSpace, l.seg.path, err))
	l.wake() // the fresh batch may already hold records
	return true
}

// rewind puts the segment's write offset back at size, where a torn write was cut off: the
// next write must follow the last record, not leave a hole where the torn bytes were.
func (l *Log) rewind(size int64) bool {
	if _, err := l.seg.f.Seek(size, io.SeekStart); err != nil {
		l.log.Warn("cannot rewind log segment after a refused write", zap.String("segment", l.seg.path), zap.Error(err))
		return false
	}
	return true
}

// spaceBack notes a write that succeeded after refusals.
func (l *Log) spaceBack() {
	if l.full.Swap(false) {
		l.metrics.outOfSpace.Set(0)
		l.log.Info("space is back: the log takes writes again", zap.String("segment", l.seg.path))
	}
}

// failLog puts the log in the failed state and fails batch seq and all later ones.
func (l *Log) failLog(seq uint64, op string, err error) {
	l.log.Error("write-ahead log failed; refusing writes until restart",
		zap.String("op", op), zap.String("segment", l.seg.path), zap.Error(err))
	if op == "fsync" {
		l.metrics.fsyncFailures.Inc()
	} else {
		l.metrics.writeFailures.Inc()
	}
	cause := fmt.Errorf("%w: %s %s: %w", ErrLogFailed, op, l.seg.path, err)
	if op == "fsync" {
		cause = fmt.Errorf("%w: %w %s: %w", ErrLogFailed, ErrFsyncFailed, l.seg.path, err)
	}
	l.mu.Lock()
	l.failed = true
	if l.failure == nil {
		l.failure = cause
	}
	l.mu.Unlock()
	l.commits.fail(seq, cause)
}

// rotateIfFull starts a new segment when adding n bytes would take the open one past
// SegmentSize. An empty segment takes any batch, however large.
func (l *Log) rotateIfFull(n int) error {
	if l.seg.empty() || l.seg.size+int64(n) <= l.opts.SegmentSize {
		return nil
	}
	return l.rotate()
}

// cut makes every record written so far lie in earlier segments and returns the segment that
// starts after them. An empty open segment already does.
func (l *Log) cut() (uint64, error) {
	if l.seg.empty() {
		return l.seg.seq, nil
	}
	if err := l.rotate(); err != nil {
		return 0, err
	}
	return l.seg.seq, nil
}

// rotate trims, fsyncs and closes the open segment and starts the next. Fsyncing here whatever the
// policy means every segment but the last is complete on disk, so recovery may treat damage in
// them as corruption rather than a torn write.
func (l *Log) rotate() error {
	if err := l.seg.trim(); err != nil {
		return err
	}
	if err := l.fsync(); err != nil {
		return err
	}
	if err := l.seg.f.Close(); err != nil {
		return err
	}
	next, err := createSegment(l.fs, l.dir, l.seg.seq+1, l.version)
	if err != nil {
		return err
	}
	l.seg = next
	l.curSeg.Store(next.seq)
	l.size.Add(next.size)
	l.metrics.writtenBytes.Add(float64(next.size))
	return nil
}
