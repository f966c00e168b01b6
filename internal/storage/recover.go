package storage

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"go.uber.org/zap"

	"github.com/taudb/tau/internal/series"
)

// Recover loads the newest valid checkpoint, replays the log segments from its mark on,
// repairs a torn tail, and opens a fresh segment for new writes. It must be called exactly
// once, before the first Append. The series come back sorted by label.
func (d *Disk) Recover() ([]SeriesState, error) {
	d.mu.Lock()
	state := d.state
	d.mu.Unlock()
	if state != stateNew {
		return nil, fmt.Errorf("storage: Recover on a store already recovered or closed")
	}
	start := time.Now()
	ck, err := d.loadCheckpoint()
	if err != nil {
		return nil, err
	}
	if err := d.openChunks(ck); err != nil {
		return nil, err
	}
	rp := &replayer{series: ck.series, maxLSN: ck.lsn, log: d.log}
	size, last, err := d.replayLog(ck.segment, rp)
	if err != nil {
		return nil, err
	}
	d.removeBefore(ck.segment)
	if err := d.startLog(max(last+1, ck.segment, 1), rp.maxLSN, size); err != nil {
		return nil, err
	}
	states := rp.result()
	d.reportRecovery(start, len(states), rp.records)
	return states, nil
}

// replayLog replays every segment from first on, in order, and returns their total size after
// repair and the last segment's number (0 if none).
func (d *Disk) replayLog(first uint64, rp *replayer) (size int64, last uint64, err error) {
	all, err := listSeqs(d.fs, d.walDir)
	if err != nil {
		return 0, 0, err
	}
	segs := all[:0:0]
	for _, n := range all {
		if n >= first {
			segs = append(segs, n)
		}
	}
	if err := checkContiguous(segs, first); err != nil {
		return 0, 0, err
	}
	var buf []byte
	headered := false // an earlier segment had a header: every later one must
	for i, n := range segs {
		var scan segmentScan
		buf, scan, err = d.replaySegment(n, i == len(segs)-1, headered, buf, rp)
		if err != nil {
			return 0, 0, err
		}
		size += int64(scan.valid)
		last = n
		headered = headered || scan.version > 0
	}
	return size, last, nil
}

// checkContiguous refuses a log with a hole: replaying past a missing segment would silently
// lose its records. Without a checkpoint (first == 0) the log must start at segment 1.
func checkContiguous(segs []uint64, first uint64) error {
	want := max(first, 1)
	for _, n := range segs {
		if n != want {
			return fmt.Errorf("storage: log segment %s is missing (found %s)", seqName(want), seqName(n))
		}
		want++
	}
	return nil
}

// replaySegment applies one segment and, if it is the last, repairs a torn tail: cuts torn
// records off, or rewrites a torn header. The scan's valid is the segment's size after repair.
func (d *Disk) replaySegment(n uint64, last, headered bool, buf []byte, rp *replayer) ([]byte, segmentScan, error) {
	path := filepath.Join(d.walDir, seqName(n))
	buf, err := readFile(d.fs, path, buf)
	if err != nil {
		return buf, segmentScan{}, fmt.Errorf("storage: read log segment %s: %w", path, err)
	}
	rp.path = path
	scan, err := scanSegment(path, n, buf, last, headered, rp.apply)
	if err != nil {
		return buf, segmentScan{}, err
	}
	switch {
	case scan.tornHeader:
		d.log.Warn("rewriting torn log segment header", zap.String("segment", path),
			zap.Int("bytes", scan.tail))
		if err := rewriteHeader(d.fs, path, n); err != nil {
			return buf, segmentScan{}, fmt.Errorf("storage: rewrite torn header of %s: %w", path, err)
		}
		scan.valid = segmentHeaderSize
	case scan.tail > 0:
		msg, level := "cutting torn tail off the log", zap.WarnLevel
		if scan.zeros {
			msg, level = "cutting reserved room off the log", zap.DebugLevel
		}
		d.log.Log(level, msg, zap.String("segment", path), zap.Int("offset", scan.valid),
			zap.Int("bytes", scan.tail))
		if err := d.truncateFile(path, int64(scan.valid)); err != nil {
			return buf, segmentScan{}, fmt.Errorf("storage: cut torn tail of %s: %w", path, err)
		}
	}
	return buf, scan, nil
}

// truncateFile cuts path to size and makes that durable before anything is written after it.
func (d *Disk) truncateFile(path string, size int64) error {
	f, err := d.fs.OpenFile(path, os.O_RDWR, 0)
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

// startLog opens segment seg for new records, continues LSNs after lsn and starts the
// committer.
func (d *Disk) startLog(seg, lsn uint64, size int64) error {
	s, err := createSegment(d.fs, d.walDir, seg)
	if err != nil {
		return fmt.Errorf("storage: create log segment: %w", err)
	}
	d.seg = s
	d.curSeg.Store(seg)
	d.logSize.Store(size + s.size)
	d.metrics.writtenBytes.Add(float64(s.size))
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.state != stateNew {
		_ = s.f.Close() // nothing was written to it
		return ErrClosed
	}
	d.lsn = lsn
	d.state = stateOpen
	d.running = true
	go d.run()
	return nil
}

func (d *Disk) reportRecovery(start time.Time, series, records int) {
	took := time.Since(start)
	d.metrics.recoveryDuration.Set(took.Seconds())
	d.metrics.recoveredSeries.Set(float64(series))
	d.metrics.recoveredRecords.Set(float64(records))
	rate := 0.0
	if took > 0 {
		rate = float64(records) / took.Seconds()
	}
	d.log.Info("recovered", zap.Int("series", series), zap.Int("records", records),
		zap.Duration("duration", took), zap.Float64("records_per_second", rate))
}

// replayer applies log records on top of a checkpoint.
type replayer struct {
	series  map[series.Label]*SeriesState
	maxLSN  uint64 // highest LSN seen, so new LSNs continue after it
	records int    // records read
	path    string // segment being replayed, for warnings
	log     *zap.Logger
}

// apply applies one record under the replay rules:
//   - a record at or below its series' LastLSN is already in the checkpoint: skip it;
//   - create makes an empty series (a create of a live series cannot happen: warn, skip);
//   - drop removes the series;
//   - an append to an absent series is skipped: that series was dropped later;
//   - an append not after the series' last timestamp is skipped with a warning;
//   - a batch applies whole or not at all (E3): skipped whole, with a warning, when its
//     timestamps are not strictly increasing from after the series' last one.
func (rp *replayer) apply(r *Record) {
	rp.records++
	rp.maxLSN = max(rp.maxLSN, r.LSN)
	s := rp.series[r.Label]
	if s != nil && r.LSN <= s.LastLSN {
		return
	}
	switch r.Type {
	case RecordCreate:
		if s != nil {
			rp.warn("skipping create of a live series", r)
			return
		}
		rp.series[r.Label] = &SeriesState{Label: r.Label, Series: NewSeries(), LastLSN: r.LSN}
	case RecordDrop:
		delete(rp.series, r.Label)
	case RecordAppend:
		if s == nil {
			return
		}
		if last, ok := s.Series.LastTimestamp(); ok && r.TS <= last {
			rp.warn("skipping out-of-order append", r)
			return
		}
		s.Series.Append(r.TS, r.Value)
		s.LastLSN = r.LSN
	case RecordBatch:
		if s == nil {
			return
		}
		if !batchInOrder(s.Series, r.Points) {
			rp.warn("skipping out-of-order batch", r)
			return
		}
		for _, p := range r.Points {
			s.Series.Append(p.TS, p.Value)
		}
		s.LastLSN = r.LSN
	}
}

// batchInOrder reports whether pts can be appended to s whole: timestamps strictly increasing,
// the first after s's last.
func batchInOrder(s *Series, pts []Point) bool {
	if last, ok := s.LastTimestamp(); ok && len(pts) > 0 && pts[0].TS <= last {
		return false
	}
	for i := 1; i < len(pts); i++ {
		if pts[i].TS <= pts[i-1].TS {
			return false
		}
	}
	return true
}

func (rp *replayer) warn(msg string, r *Record) {
	rp.log.Warn(msg, zap.String("segment", rp.path), zap.Uint64("lsn", r.LSN),
		zap.String("label", hex.EncodeToString(r.Label[:])), zap.Int64("ts", r.TS))
}

// result is the live series sorted by label.
func (rp *replayer) result() []SeriesState {
	out := make([]SeriesState, 0, len(rp.series))
	for _, s := range rp.series {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i].Label[:], out[j].Label[:]) < 0 })
	return out
}
