package storage

import (
	"fmt"
	"time"

	"go.uber.org/zap"
)

// batch is one group commit: the frames of every record appended while the previous batch was
// being written, written with one write() and, under FsyncAlways, one fsync. Two batches take
// turns (one filling under Disk.mu, one being written by the committer), so their buffers are
// reused and Append allocates nothing once they have grown.
type batch struct {
	seq  uint64 // the group sequence number its tickets wait for
	buf  []byte
	n    int  // records in buf
	sync bool // fsync even under FsyncInterval (Sync, Close)
	cut  bool // start a new segment after it (BeginCheckpoint)
}

func (b *batch) empty() bool { return len(b.buf) == 0 && !b.sync && !b.cut }

// maxRetainedBatch is the largest buffer a batch keeps between commits: steady traffic reuses
// its buffer, while the memory of a rare burst goes back to the runtime.
const maxRetainedBatch = 1 << 20

func (b *batch) reset() {
	b.buf, b.n, b.sync, b.cut = b.buf[:0], 0, false, false
	if cap(b.buf) > maxRetainedBatch {
		b.buf = nil
	}
}

// run is the committer: the only goroutine that touches the open segment. Batches are written
// one after another; while one is in write()+fsync(), appenders fill the next, which is how
// concurrent appenders come to share an fsync.
func (d *Disk) run() {
	defer close(d.done)
	var tick <-chan time.Time
	if d.opts.Fsync == FsyncInterval {
		t := time.NewTicker(d.opts.Interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-d.kick:
			d.commitPending()
		case <-tick:
			d.backgroundSync()
		case <-d.stop:
			d.commitPending() // Close flagged the last batch for fsync
			return
		}
	}
}

// commitPending commits batches until none is waiting.
func (d *Disk) commitPending() {
	for {
		b := d.take()
		if b == nil {
			return
		}
		d.commit(b)
		b.reset()
		d.spare = b
	}
}

// take swaps the filling batch for the spare one and returns it, or nil if it has nothing.
func (d *Disk) take() *batch {
	d.mu.Lock()
	defer d.mu.Unlock()
	b := d.cur
	if b.empty() {
		return nil
	}
	d.spare.seq = b.seq + 1
	d.cur, d.spare = d.spare, nil
	return b
}

// commit writes b, fsyncs it if the policy or a Sync asks, cuts the segment if asked, and
// resolves b's ticket. After a failure nothing more is written: the batches' tickets already
// carry ErrLogFailed.
func (d *Disk) commit(b *batch) {
	if d.isFailed() {
		return
	}
	if err := d.rotateIfFull(len(b.buf)); err != nil {
		d.failLog(b.seq, "rotate", err)
		return
	}
	start := d.seg.size
	if err := d.write(b); err != nil {
		d.truncateTo(start)
		d.failLog(b.seq, "write", err)
		return
	}
	if b.sync || (d.opts.Fsync == FsyncAlways && len(b.buf) > 0) {
		if err := d.fsync(); err != nil {
			// The kernel may have dropped the pages: this batch is not durable, and never
			// retry the fsync as if it were (fsyncgate). Drop its bytes so a restart does
			// not resurrect records that were answered with an error.
			d.truncateTo(start)
			d.failLog(b.seq, "fsync", err)
			return
		}
	}
	var cutErr error
	if b.cut {
		d.cutSeg, cutErr = d.cut()
		d.cutErr = cutErr
	}
	d.commits.resolve(b.seq)
	if cutErr != nil {
		// The batch itself is durable; the log has no segment to write the next one to.
		d.failLog(b.seq+1, "rotate", cutErr)
	}
}

func (d *Disk) isFailed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.failed
}

// write appends b's frames to the segment with a single write().
func (d *Disk) write(b *batch) error {
	if len(b.buf) == 0 {
		return nil
	}
	d.seg.reserve(int64(len(b.buf)))
	n, err := d.seg.f.Write(b.buf)
	if err != nil {
		return err
	}
	d.seg.size += int64(n)
	d.logSize.Add(int64(n))
	d.dirty = true
	d.metrics.writtenBytes.Add(float64(n))
	d.metrics.records.Add(float64(b.n))
	return nil
}

// fsync makes the open segment durable.
func (d *Disk) fsync() error {
	start := time.Now()
	err := d.seg.f.Sync()
	d.metrics.fsyncDuration.Observe(time.Since(start).Seconds())
	d.metrics.fsyncs.Inc()
	if err == nil {
		d.dirty = false
	}
	return err
}

// backgroundSync is FsyncInterval's periodic fsync. A failure fails the log for every later
// write; what was written before stays, as it was already acknowledged.
func (d *Disk) backgroundSync() {
	if !d.dirty || d.isFailed() {
		return
	}
	if err := d.fsync(); err != nil {
		d.mu.Lock()
		next := d.cur.seq
		d.mu.Unlock()
		d.failLog(next, "fsync", err)
	}
}

// truncateTo cuts the segment back to its last good size, best effort: a failed write may
// have left a torn prefix. If this fails too, recovery cuts the torn tail at the next start.
func (d *Disk) truncateTo(size int64) {
	if err := d.seg.f.Truncate(size); err != nil {
		d.log.Warn("cannot truncate log segment after failure", zap.String("segment", d.seg.path),
			zap.Int64("offset", size), zap.Error(err))
		return
	}
	d.seg.alloc = min(d.seg.alloc, size)
}

// failLog puts the log in the failed state and fails batch seq and all later ones.
func (d *Disk) failLog(seq uint64, op string, err error) {
	d.log.Error("write-ahead log failed; refusing writes until restart",
		zap.String("op", op), zap.String("segment", d.seg.path), zap.Error(err))
	if op == "fsync" {
		d.metrics.fsyncFailures.Inc()
	} else {
		d.metrics.writeFailures.Inc()
	}
	d.mu.Lock()
	d.failed = true
	d.mu.Unlock()
	d.commits.fail(seq, fmt.Errorf("%w: %s %s: %w", ErrLogFailed, op, d.seg.path, err))
}

// rotateIfFull starts a new segment when adding n bytes would take the open one past
// SegmentSize. An empty segment takes any batch, however large.
func (d *Disk) rotateIfFull(n int) error {
	if d.seg.empty() || d.seg.size+int64(n) <= d.opts.SegmentSize {
		return nil
	}
	return d.rotate()
}

// cut makes every record written so far lie in earlier segments and returns the segment that
// starts after them. An empty open segment already does.
func (d *Disk) cut() (uint64, error) {
	if d.seg.empty() {
		return d.seg.seq, nil
	}
	if err := d.rotate(); err != nil {
		return 0, err
	}
	return d.seg.seq, nil
}

// rotate trims, fsyncs and closes the open segment and starts the next. Fsyncing here whatever the
// policy means every segment but the last is complete on disk, so recovery may treat damage in
// them as corruption rather than a torn write.
func (d *Disk) rotate() error {
	if err := d.seg.trim(); err != nil {
		return err
	}
	if err := d.fsync(); err != nil {
		return err
	}
	if err := d.seg.f.Close(); err != nil {
		return err
	}
	next, err := createSegment(d.fs, d.walDir, d.seg.seq+1)
	if err != nil {
		return err
	}
	d.seg = next
	d.curSeg.Store(next.seq)
	d.logSize.Add(next.size)
	d.metrics.writtenBytes.Add(float64(next.size))
	return nil
}
