package wal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"go.uber.org/zap"

	"github.com/taudb/tau/internal/storage/diskfmt"
	"github.com/taudb/tau/internal/storage/vfs"
)

// Fresh reports whether Recover may still run: the log is neither recovered nor closed.
func (l *Log) Fresh() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state == stateNew
}

// Recover replays every segment from first on (the segment a checkpoint begins at; 0 for the
// whole log), calling apply with each record in log order and the segment it is in, repairs a
// torn tail of the last segment, removes the segments before first, and opens a fresh segment
// for new writes, with LSNs continuing after the greater of lsn and the highest replayed. It
// must be called exactly once, before the first Append.
func (l *Log) Recover(first, lsn uint64, apply func(segment string, r *Record)) error {
	l.mu.Lock()
	state := l.state
	l.mu.Unlock()
	if state != stateNew {
		return fmt.Errorf("storage: Recover on a store already recovered or closed")
	}
	maxLSN := lsn
	size, last, err := l.replay(first, func(path string, r *Record) {
		maxLSN = max(maxLSN, r.LSN)
		apply(path, r)
	})
	if err != nil {
		return err
	}
	l.RemoveBefore(first)
	return l.start(max(last+1, first, 1), maxLSN, size)
}

// replay replays every segment from first on, in order, and returns their total size after
// repair and the last segment's number (0 if none).
func (l *Log) replay(first uint64, apply func(string, *Record)) (size int64, last uint64, err error) {
	segs, err := l.segmentsFrom(first)
	if err != nil {
		return 0, 0, err
	}
	if err := checkContiguous(segs, first); err != nil {
		return 0, 0, err
	}
	var buf []byte
	headered := false // an earlier segment had a header: every later one must
	for i, n := range segs {
		var scan segmentScan
		buf, scan, err = l.replaySegment(n, i == len(segs)-1, headered, buf, apply)
		if err != nil {
			return 0, 0, err
		}
		size += int64(scan.valid)
		last = n
		headered = headered || scan.version > 0
	}
	return size, last, nil
}

// segmentsFrom lists the segments numbered first or higher, ascending.
func (l *Log) segmentsFrom(first uint64) ([]uint64, error) {
	all, err := diskfmt.ListSeqs(l.fs, l.dir)
	if err != nil {
		return nil, err
	}
	segs := all[:0:0]
	for _, n := range all {
		if n >= first {
			segs = append(segs, n)
		}
	}
	return segs, nil
}

// checkContiguous refuses a log with a hole: replaying past a missing segment would silently
// lose its records. Without a checkpoint (first == 0) the log must start at segment 1.
func checkContiguous(segs []uint64, first uint64) error {
	want := max(first, 1)
	for _, n := range segs {
		if n != want {
			return fmt.Errorf("storage: log segment %s is missing (found %s)", diskfmt.SeqName(want), diskfmt.SeqName(n))
		}
		want++
	}
	return nil
}

// replaySegment applies one segment and, if it is the last, repairs a torn tail: cuts torn
// records off, or rewrites a torn header. The scan's valid is the segment's size after repair.
func (l *Log) replaySegment(n uint64, last, headered bool, buf []byte, apply func(string, *Record)) ([]byte, segmentScan, error) {
	path := filepath.Join(l.dir, diskfmt.SeqName(n))
	buf, err := readFile(l.fs, path, buf)
	if err != nil {
		return buf, segmentScan{}, fmt.Errorf("storage: read log segment %s: %w", path, err)
	}
	scan, err := scanSegment(path, n, buf, last, headered, func(r *Record) { apply(path, r) })
	if err != nil {
		return buf, segmentScan{}, err
	}
	switch {
	case scan.tornHeader:
		l.log.Warn("rewriting torn log segment header", zap.String("segment", path),
			zap.Int("bytes", scan.tail))
		if err := rewriteHeader(l.fs, path, n, l.version); err != nil {
			return buf, segmentScan{}, fmt.Errorf("storage: rewrite torn header of %s: %w", path, err)
		}
		scan.valid = segmentHeaderSize
	case scan.tail > 0:
		msg, level := "cutting torn tail off the log", zap.WarnLevel
		if scan.zeros {
			msg, level = "cutting reserved room off the log", zap.DebugLevel
		}
		l.log.Log(level, msg, zap.String("segment", path), zap.Int("offset", scan.valid),
			zap.Int("bytes", scan.tail))
		if err := l.truncateFile(path, int64(scan.valid)); err != nil {
			return buf, segmentScan{}, fmt.Errorf("storage: cut torn tail of %s: %w", path, err)
		}
	}
	return buf, scan, nil
}

// truncateFile cuts path to size and makes that durable before anything is written after it.
func (l *Log) truncateFile(path string, size int64) error {
	f, err := l.fs.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// start opens segment seg for new records, continues LSNs after lsn and starts the
// committer.
func (l *Log) start(seg, lsn uint64, size int64) error {
	s, err := createSegment(l.fs, l.dir, seg, l.version)
	if err != nil {
		return fmt.Errorf("storage: create log segment: %w", err)
	}
	l.seg = s
	l.curSeg.Store(seg)
	l.size.Store(size + s.size)
	l.metrics.writtenBytes.Add(float64(s.size))
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state != stateNew {
		_ = s.f.Close() // nothing was written to it
		return ErrClosed
	}
	l.lsn = lsn
	l.state = stateOpen
	l.running = true
	go l.run()
	return nil
}

// RemoveBefore deletes the segments before seg, once a checkpoint at seg makes them
// unnecessary: the prefix of the log is compacted away. Failures only leave garbage, which a
// later call removes: they are logged.
func (l *Log) RemoveBefore(seg uint64) {
	segs, err := diskfmt.ListSeqs(l.fs, l.dir)
	if err != nil {
		l.log.Warn("cannot list log segments", zap.Error(err))
	}
	for _, n := range segs {
		if n >= seg {
			break
		}
		path := filepath.Join(l.dir, diskfmt.SeqName(n))
		if fi, err := l.fs.Stat(path); err == nil {
			l.size.Add(-fi.Size())
		}
		if err := l.fs.Remove(path); err != nil {
			l.log.Warn("cannot remove superseded file", zap.String("path", path), zap.Error(err))
		}
	}
}

// OldestSegment is the number of the oldest segment in dir, 0 when there is none: where a
// log whose prefix is compacted by RemoveBefore alone (no checkpoint names its start) is
// replayed from.
func OldestSegment(fs vfs.FS, dir string) (uint64, error) {
	if fs == nil {
		fs = vfs.OS
	}
	segs, err := diskfmt.ListSeqs(fs, dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, nil
		}
		return 0, err
	}
	if len(segs) == 0 {
		return 0, nil
	}
	return segs[0], nil
}
