package storage

import "sync/atomic"

// HeadStats counts what series hold in memory, across all of them, for the head gauges: the
// series with a chunk in memory and those chunks (heads and full ones not yet flushed), and
// the read cache (cache.go): full chunks kept for lookups after a checkpoint wrote them.
type HeadStats struct {
	Series atomic.Int64
	Chunks atomic.Int64
	Cached atomic.Int64 // bytes of the read cache, chunk headers included
	// CacheBudget bounds Cached, in bytes, shared evenly by the series: 0 is
	// DefaultCacheBytes, negative turns the cache off. A series applies it at each checkpoint.
	CacheBudget atomic.Int64
}

// SetStats makes the series count itself in h from now on.
func (s *Series) SetStats(h *HeadStats) {
	s.stats = h
	s.account(s.mem.Chunks())
	n := s.cached
	s.cached = 0
	s.accountCached(n)
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

// accountCached reports the bytes of the series' read cache, now n.
func (s *Series) accountCached(n int) {
	if s.stats != nil {
		s.stats.Cached.Add(int64(n - s.cached))
	}
	s.cached = n
}

// Release takes a dropped series out of the counts.
func (s *Series) Release() {
	s.account(0)
	s.accountCached(0)
}
