package storage

import (
	"math"

	"github.com/taudb/tau/internal/query"
	"github.com/taudb/tau/internal/storage/chunkenc"
	"github.com/taudb/tau/internal/storage/chunkfile"
)

// Series is one series' points: its full chunks flushed to chunk files (spans, oldest first,
// read through mmap) and the newer ones in memory (the head chunk, and full chunks written at
// the next checkpoint). It is not safe for concurrent use: its actor is its only user.
//
// With a retention (docs/protocol.md, E6) a point older than the newest point minus the
// retention is expired: every read here skips it, and checkpoints stop naming files that hold
// nothing else.
type Series struct {
	spans      []span
	diskPoints uint64
	mem        *chunkenc.Series
	retention  int64 // nanoseconds; 0 keeps everything
	err        error // the first read failure since TakeErr
	stats      *HeadStats
	counted    int  // in-memory chunks last reported to stats
	cached     int  // bytes of the read cache (cache.go), as reported to stats
	cold       bool // recovered with spans and their read cache not yet filled (warmCache)
	it         RangeIter
}

// span is one run of the series in a chunk file, and the newest of its chunks still in memory
// (the read cache, cache.go; nil when none).
type span struct {
	ref    chunkfile.Ref
	run    chunkfile.Run
	cached *chunkenc.Series
}

// NewSeries returns an empty series.
func NewSeries() *Series { return &Series{mem: chunkenc.NewSeries()} }

// newSeriesFrom is a recovered series: spans on disk and the chunks a checkpoint held.
func newSeriesFrom(mem *chunkenc.Series, spans []span) *Series {
	s := &Series{mem: mem, spans: spans, cold: len(spans) > 0}
	for _, sp := range spans {
		s.diskPoints += sp.ref.Points
	}
	return s
}

// SetRetention sets how long points are kept, back from the newest (0: forever).
func (s *Series) SetRetention(ns int64) { s.retention = max(ns, 0) }

// Append adds a point; ts must be after LastTimestamp.
func (s *Series) Append(ts int64, bits uint64) {
	s.mem.Append(ts, bits)
	if s.mem.Chunks() != s.counted {
		s.account(s.mem.Chunks())
	}
}

// TakeBack keeps the series' first n points and drops the rest: the points of writes the log
// refused. Only memory holds those (a checkpoint syncs the log before it commits anything, so
// it never commits a refused point), so only the in-memory chunks are rebuilt. It is rare: it
// follows a failed write.
func (s *Series) TakeBack(n int) {
	keep := n - int(s.diskPoints)
	if keep < 0 || keep >= s.mem.Len() {
		return
	}
	mem := chunkenc.NewSeries()
	i := 0
	s.mem.Iterate(func(ts int64, bits uint64) bool {
		if i == keep {
			return false
		}
		mem.Append(ts, bits)
		i++
		return true
	})
	s.mem = mem
	s.account(s.mem.Chunks())
}

// Len is the number of points held, expired ones included (Info counts only live ones).
func (s *Series) Len() int { return int(s.diskPoints) + s.mem.Len() }

// LastTimestamp is the newest point's timestamp.
func (s *Series) LastTimestamp() (int64, bool) {
	if t, ok := s.mem.LastTimestamp(); ok {
		return t, true
	}
	if k := len(s.spans); k > 0 {
		return s.spans[k-1].ref.MaxT, true
	}
	return 0, false
}

// Keep is the oldest timestamp not expired: math.MinInt64 without retention.
func (s *Series) Keep() int64 {
	last, ok := s.LastTimestamp()
	if s.retention == 0 || !ok || last < math.MinInt64+s.retention {
		return math.MinInt64
	}
	return last - s.retention
}

// TakeErr returns and clears the first read failure (a chunk file that fails its checksum)
// since the last call. Lookup and Range then answered as if the damaged chunk were absent.
func (s *Series) TakeErr() error {
	err := s.err
	s.err = nil
	return err
}

func (s *Series) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// Lookup finds the value at exactly ts, if it is not expired.
func (s *Series) Lookup(ts int64) (bits uint64, found bool) {
	if ts < s.Keep() {
		return 0, false
	}
	if first, ok := s.mem.FirstTimestamp(); ok && ts >= first {
		return s.mem.Lookup(ts)
	}
	i := s.spanAt(ts)
	if i == len(s.spans) || s.spans[i].ref.MinT > ts {
		return 0, false
	}
	if s.cold {
		s.warmCache()
	}
	if bits, found, ok := s.lookupCached(i, ts); ok {
		return bits, found
	}
	return s.lookupRun(s.spans[i].run, ts)
}

// lookupRun finds ts in a run of chunks in a file. Each chunk it reads is likely a cache miss
// (and a page of the mapping), so it starts at the interpolated guess, which for a regular
// series is the chunk or next to it, and steps to a neighbour at most twice, in one direction,
// before it asks Find, whose probes read more chunks.
func (s *Series) lookupRun(run chunkfile.Run, ts int64) (bits uint64, found bool) {
	const maxSteps = 2
	k := run.Guess(ts)
	dir := 0        // -1 or +1 once a step was taken: steps never turn back
	placed := false // Find chose k: it is the only chunk that can hold ts
	for steps := 0; ; steps++ {
		if steps > maxSteps && !placed {
			k, placed = run.Find(ts), true
		}
		b, n, err := run.Chunk(k)
		if err != nil {
			s.fail(err)
			return 0, false
		}
		if first, ok := chunkenc.ChunkMinT(b); ok && first > ts { // ts is before chunk k
			if k == 0 || placed || dir > 0 {
				return 0, false
			}
			k, dir = k-1, -1
			continue
		}
		it := chunkenc.NewIter(b, n)
		if it.SkipTo(ts) {
			t, v := it.At()
			return v, t == ts
		}
		if err := it.Err(); err != nil {
			s.fail(err)
			return 0, false
		}
		if k+1 == run.Chunks() || placed || dir < 0 { // ts is after chunk k
			return 0, false
		}
		k, dir = k+1, 1
	}
}

// spanAt is the first span ending at or after ts.
func (s *Series) spanAt(ts int64) int {
	lo, hi := 0, len(s.spans)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.spans[m].ref.MaxT < ts {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// Info is what the series holds now that is not expired: its points, first and last.
func (s *Series) Info() (points uint64, first, last int64) {
	last, ok := s.LastTimestamp()
	if !ok {
		return 0, 0, 0
	}
	keep := s.Keep()
	it := s.scanFrom(s.spanAt(keep), keep, math.MaxInt64, true)
	if !it.Next() {
		return 0, 0, last // cannot happen: the newest point is never expired
	}
	first, _ = it.At()
	total := s.diskPoints + uint64(s.mem.Len())
	if keep == math.MinInt64 {
		return total, first, last
	}
	return total - s.countBefore(keep), first, last
}

// countBefore counts the points before ts: whole spans by their count, the rest by decoding.
func (s *Series) countBefore(ts int64) uint64 {
	var n uint64
	i := 0
	for ; i < len(s.spans) && s.spans[i].ref.MaxT < ts; i++ {
		n += s.spans[i].ref.Points
	}
	it := s.scanFrom(i, math.MinInt64, ts, false)
	var run [128]query.Point
	for k := it.Read(run[:]); k > 0; k = it.Read(run[:]) {
		n += uint64(k)
	}
	return n
}

// Range iterates the points not expired with start <= ts < end. The iterator is the series'
// own, valid until the next call to Range or any change to the series.
func (s *Series) Range(start, end int64) *RangeIter {
	return s.scan(max(start, s.Keep()), end)
}

// Iterate calls fn on every point not expired, oldest first, until fn returns false.
func (s *Series) Iterate(fn func(ts int64, bits uint64) bool) {
	keep := s.Keep()
	it := s.scanFrom(s.spanAt(keep), keep, math.MaxInt64, true)
	for it.Next() {
		if !fn(it.At()) {
			return
		}
	}
}

func (s *Series) scan(start, end int64) *RangeIter {
	return s.scanFrom(s.spanAt(start), start, end, false)
}

// scanFrom reads from span first on; thru includes end itself.
func (s *Series) scanFrom(first int, start, end int64, thru bool) *RangeIter {
	if s.cold && first < len(s.spans) {
		s.warmCache()
	}
	s.it = RangeIter{s: s, start: start, end: end, thru: thru, spans: s.spans[first:], chunk: -1}
	s.it.done = s.it.past(start)
	return &s.it
}
