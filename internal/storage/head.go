package storage

import "sync/atomic"

// HeadStats counts what series hold in memory, across all of them, for the head gauges: the
// series with a chunk in memory and those chunks (heads and full ones not yet flushed).
type HeadStats struct {
	Series atomic.Int64
	Chunks atomic.Int64
}

// SetStats makes the series count itself in h from now on.
func (s *Series) SetStats(h *HeadStats) {
	s.stats = h
	s.account(s.mem.Chunks())
}

// account reports a change of the in-memory chunk count from s.counted to now.
func (s *Series) account(now int) {
	if s.stats == nil || now == s.counted {
		return
	}
	s.stats.Chunks.Add(int64(now - s.counted))
	switch {
	case s.counted == 0:
		s.stats.Series.Add(1)
	case now == 0:
		s.stats.Series.Add(-1)
	}
	s.counted = now
}

// Release takes a dropped series out of the counts.
func (s *Series) Release() { s.account(0) }
