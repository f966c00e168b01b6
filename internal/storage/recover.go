package storage

import (
	"bytes"
	"encoding/hex"
	"errors"
	"sort"
	"time"

	"go.uber.org/zap"

	"github.com/taudb/tau/internal/series"
)

// Recover loads the newest valid checkpoint, opens the chunk files it names, replays the log
// from its mark on (the log repairs a torn tail and opens a fresh segment for new writes), and
// removes what the checkpoint supersedes. It must be called exactly once, before the first
// Append. The series come back sorted by label.
func (d *Disk) Recover() ([]SeriesState, error) {
	if !d.wal.Fresh() {
		return nil, errors.New("storage: Recover on a store already recovered or closed")
	}
	start := time.Now()
	ck, err := d.loadCheckpoint()
	if err != nil {
		return nil, err
	}
	if err := d.chunks.open(ck); err != nil {
		return nil, err
	}
	rp := &replayer{series: ck.series, log: d.log}
	if err := d.wal.Recover(ck.segment, ck.lsn, rp.apply); err != nil {
		return nil, err
	}
	d.removeCheckpointsBefore(ck.segment)
	states := rp.result()
	d.reportRecovery(start, len(states), rp.records)
	return states, nil
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
func (rp *replayer) apply(segment string, r *Record) {
	rp.records++
	rp.path = segment
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
