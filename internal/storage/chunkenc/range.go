package chunkenc

import (
	"math"

	"github.com/taudb/tau/internal/query"
)

// RangeIter walks the points with start <= ts < end, oldest first, decoding as it goes: it
// never copies the series. Its first chunk is found by its maxT (chunkEndingAtOrAfter);
// when start lies at or past that chunk's skip point, decoding resumes there instead of at
// the chunk's first point. Each chunk is decoded at most once, and the walk stops at the
// first point at or after end, or when the caller stops asking.
//
// It reads the series in place, so the series must not change while it is used (its actor
// is its only user).
type RangeIter struct {
	rest  []chunk // chunks after the one being decoded
	it    chunkIter
	start int64
	end   int64
	t     int64
	v     uint64
	mid   bool // the skip point itself is the first point to yield
	done  bool
	thru  bool // end is included: RangeFrom
}

// RangeFrom returns an iterator over every point with ts >= start, math.MaxInt64 included.
func (s *Series) RangeFrom(start int64) RangeIter { return s.rangeIter(start, math.MaxInt64, true) }

// past reports whether t is beyond the range.
func (r *RangeIter) past(t int64) bool { return t > r.end || t == r.end && !r.thru }

// Range returns an iterator over the points with start <= ts < end; end <= start gives none.
func (s *Series) Range(start, end int64) RangeIter { return s.rangeIter(start, end, false) }

func (s *Series) rangeIter(start, end int64, thru bool) RangeIter {
	r := RangeIter{start: start, end: end, thru: thru}
	if r.past(start) {
		r.done = true
		return r
	}
	// The first chunk ending at or after start holds the first point in range, if any.
	lo := s.chunkEndingAtOrAfter(start)
	if lo == len(s.chunks) || r.past(s.chunks[lo].minT) {
		r.done = true
		return r
	}
	c := &s.chunks[lo]
	r.rest = s.chunks[lo+1:]
	switch {
	case c.hasMid() && start > c.mid.t:
		r.it = c.iterFrom()
	case c.hasMid() && start == c.mid.t:
		r.it = c.iterFrom()
		r.mid, r.t, r.v = true, c.mid.t, c.mid.v
	default:
		r.it = c.iter()
	}
	return r
}

// Next advances to the next point in range; it returns false once there is none.
func (r *RangeIter) Next() bool {
	if r.done {
		return false
	}
	if r.mid {
		r.mid = false
		if !r.past(r.t) {
			return true
		}
		r.done = true
		return false
	}
	for {
		if r.it.next() {
			if r.past(r.it.t) {
				r.done = true
				return false
			}
			if r.it.t < r.start { // only in the first chunk
				continue
			}
			r.t, r.v = r.it.t, r.it.v
			return true
		}
		if !r.nextChunk() {
			return false
		}
	}
}

// nextChunk moves to the next chunk, if it may hold points in range.
func (r *RangeIter) nextChunk() bool {
	if len(r.rest) == 0 || r.past(r.rest[0].minT) {
		r.done = true
		return false
	}
	r.it = r.rest[0].iter()
	r.rest = r.rest[1:]
	return true
}

// Read stores the next points in range in dst and returns how many: fewer than len(dst) only
// once the range is done. It decodes a run of points per call (chunkIter.read), several times
// faster a point than Next. Next and Read may be mixed; At is Next's point only.
func (r *RangeIter) Read(dst []query.Point) int {
	n := 0
	for n < len(dst) && !r.done {
		if r.mid || r.it.i < 2 { // the skip point, or a chunk's first two: Next's way
			if r.Next() {
				dst[n] = query.Point{TS: r.t, Value: r.v}
				n++
			}
			continue
		}
		got := dst[n : n+r.it.read(r.end, dst[n:])]
		n += r.keep(got)
		if r.it.i >= r.it.n || r.it.err != nil {
			r.nextChunk()
		}
	}
	return n
}

// keep moves the points of pts in range to its front and returns how many: it drops those
// before the start (in the first chunk only) and ends the range at the first past its end.
func (r *RangeIter) keep(pts []query.Point) int {
	lo := 0
	for lo < len(pts) && pts[lo].TS < r.start {
		lo++
	}
	hi := lo
	for hi < len(pts) && !r.past(pts[hi].TS) {
		hi++
	}
	if hi < len(pts) {
		r.done = true
	}
	return copy(pts, pts[lo:hi])
}

// At is the current point: its timestamp and value bits, exactly as appended.
func (r *RangeIter) At() (ts int64, bits uint64) { return r.t, r.v }

// FirstTimestamp is the oldest point's timestamp; ok is false for an empty series.
func (s *Series) FirstTimestamp() (ts int64, ok bool) {
	if len(s.chunks) == 0 {
		return 0, false
	}
	return s.chunks[0].minT, true
}
