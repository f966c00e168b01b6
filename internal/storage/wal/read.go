package wal

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/taudb/tau/internal/storage/diskfmt"
)

// errStop ends a scan early; it is never returned.
var errStop = errors.New("wal: stop")

// ReadFrom calls fn with every record of the live log whose LSN is lsn or higher, in log
// order, once everything appended before the call has been written: how a consensus loop reads
// entries back from an index. fn must not keep r, and may end the read early by returning an
// error, which ReadFrom returns. It reads the segments from disk, so it suits a rare read
// (a lagging follower); it may not run concurrently with TruncateAfter or RemoveBefore.
func (l *Log) ReadFrom(lsn uint64, fn func(r *Record) error) error {
	if err := l.written(); err != nil {
		return err
	}
	var ferr error
	err := l.scanFrom(func(_ uint64, _ int, r *Record) error {
		if r.LSN < lsn {
			return nil
		}
		if ferr = fn(r); ferr != nil {
			return errStop
		}
		return nil
	})
	if errors.Is(err, errStop) {
		return ferr
	}
	return err
}

// scanFrom decodes every record of every live segment in order, with the segment it is in and
// its offset there. The open segment's end (reserved room, or a batch being written) ends the
// scan as a torn tail ends recovery's.
func (l *Log) scanFrom(fn func(seg uint64, off int, r *Record) error) error {
	segs, err := l.segmentsFrom(0)
	if err != nil {
		return err
	}
	var buf []byte
	for i, n := range segs {
		path := filepath.Join(l.dir, diskfmt.SeqName(n))
		if buf, err = readFile(l.fs, path, buf); err != nil {
			return fmt.Errorf("storage: read log segment %s: %w", path, err)
		}
		if err := scanOffsets(path, n, buf, i == len(segs)-1, func(off int, r *Record) error {
			return fn(n, off, r)
		}); err != nil {
			return err
		}
	}
	return nil
}

// scanOffsets is scanSegment for reads: it passes each record's offset, and stops at fn's
// first error.
func scanOffsets(path string, seq uint64, data []byte, last bool, fn func(off int, r *Record) error) error {
	version, off, err := readSegmentHeader(path, data, seq)
	if err != nil {
		return &diskfmt.CorruptionError{Path: path, Offset: 0, Err: err}
	}
	var r Record
	for off < len(data) {
		n, derr := decodeFrame(data[off:], &r)
		if derr != nil {
			if last && isTornTail(data[off:], version) {
				return nil
			}
			return &diskfmt.CorruptionError{Path: path, Offset: int64(off), Err: derr}
		}
		if err := fn(off, &r); err != nil {
			return err
		}
		off += n
	}
	return nil
}

// TruncateAfter removes every record after lsn from the log, durably, and continues LSNs after
// lsn: how a consensus loop drops a suffix of entries that a new leader overwrites. The
// segment that keeps the last record at or below lsn is cut after it, the later segments are
// removed, and appends go on in a new segment after it. No Append may run concurrently.
func (l *Log) TruncateAfter(lsn uint64) error {
	if err := l.Sync(); err != nil {
		return err
	}
	l.mu.Lock()
	if err := l.writableLocked(); err != nil {
		l.mu.Unlock()
		return err
	}
	l.mu.Unlock()
	done := make(chan error, 1)
	select {
	case l.ops <- func() { done <- l.truncateAfter(lsn) }:
	case <-l.done:
		return ErrClosed
	}
	return <-done
}

// truncateAfter runs on the committer.
func (l *Log) truncateAfter(lsn uint64) error {
	cutSeg, cutOff := uint64(0), -1
	err := l.scanFrom(func(seg uint64, off int, r *Record) error {
		if r.LSN > lsn {
			cutSeg, cutOff = seg, off
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return err
	}
	if cutOff >= 0 {
		if err := l.cutAt(cutSeg, int64(cutOff)); err != nil {
			l.failLog(l.nextSeq(), "truncate", err)
			return err
		}
	}
	l.mu.Lock()
	l.lsn = min(l.lsn, lsn)
	l.mu.Unlock()
	return nil
}

// cutAt closes the open segment, cuts segment seg at off, removes every later segment and
// starts a new one after seg.
func (l *Log) cutAt(seg uint64, off int64) error {
	if err := l.seg.trim(); err != nil {
		return err
	}
	if err := l.seg.f.Close(); err != nil {
		return err
	}
	segs, err := l.segmentsFrom(seg + 1)
	if err != nil {
		return err
	}
	for i := len(segs) - 1; i >= 0; i-- { // newest first: a crash leaves a contiguous log
		if err := l.fs.Remove(filepath.Join(l.dir, diskfmt.SeqName(segs[i]))); err != nil {
			return err
		}
	}
	if err := l.truncateFile(filepath.Join(l.dir, diskfmt.SeqName(seg)), off); err != nil {
		return err
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		return err
	}
	next, err := createSegment(l.fs, l.dir, seg+1, l.version)
	if err != nil {
		return err
	}
	l.seg = next
	l.curSeg.Store(next.seq)
	l.size.Store(l.liveBytes())
	return nil
}

// liveBytes is the size of the segments on disk, for the gauge after a truncation.
func (l *Log) liveBytes() int64 {
	segs, _ := l.segmentsFrom(0)
	var total int64
	for _, n := range segs {
		if fi, err := l.fs.Stat(filepath.Join(l.dir, diskfmt.SeqName(n))); err == nil {
			total += fi.Size()
		}
	}
	return total
}

// nextSeq is the batch filling now, the first a failure of the committer's own operation
// fails.
func (l *Log) nextSeq() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur.seq
}
