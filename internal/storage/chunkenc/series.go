// Package chunkenc stores a series' points compactly: chunks encoded the Gorilla way
// (delta-of-delta timestamps, XOR of float bits), as Prometheus tsdb/chunkenc does, or, once
// full, as decimal chunks (decimal.go: integers through an exponent, ALP's way) when their
// values are decimals and that is smaller.
//
// A Series is a list of chunks of up to 120 points each (see chunk.go for the bit layout).
// Each chunk keeps its time range in memory, so Lookup finds the chunk by its range and decodes
// only one. Values are opaque uint64 bits: NaN payloads, -0 and infinities come back exactly.
package chunkenc

import (
	"math"

	"github.com/taudb/tau/internal/query"
	"github.com/taudb/tau/internal/series"
)

// Series is an append-only sequence of points with strictly increasing timestamps.
// It is not safe for concurrent use: its actor is its only user.
type Series struct {
	chunks []chunk  // oldest first; the last is the head, the only one ever written
	app    appender // encoder state of the head
	sealed int      // encoded bytes in all chunks but the head, so Size is O(1)
	n      int      // points in all chunks
	// gorilla seals every chunk as Gorilla, as format version 1 did: for the golden file of
	// that version and for measuring one encoding against the other.
	gorilla bool
	// fixed: the last chunk is a decimal chunk (decoded so), which takes no appends; the next
	// Append starts a head after it.
	fixed bool
}

// NewSeries returns an empty series.
func NewSeries() *Series { return &Series{} }

// NewGorillaSeries returns an empty series that keeps every chunk Gorilla, as format version 1
// did: for that version's golden files, and to measure one encoding against the other.
func NewGorillaSeries() *Series { return &Series{gorilla: true} }

// Append adds a point. The caller guarantees ts is greater than LastTimestamp when Len() > 0.
func (s *Series) Append(ts int64, bits uint64) {
	if len(s.chunks) == 0 || s.fixed || s.chunks[len(s.chunks)-1].full() {
		s.cut()
	}
	s.app.append(&s.chunks[len(s.chunks)-1], ts, bits)
	s.n++
}

// cut seals the head, if any, and starts a new one.
func (s *Series) cut() {
	capHint := 64
	if k := len(s.chunks); k > 0 {
		h := &s.chunks[k-1]
		// A series tends to compress alike from chunk to chunk: sizing the new head like the
		// old one usually makes its buffer the chunk's only allocation.
		capHint = len(h.w.b) + len(h.w.b)/8 + 8
		if !s.fixed {
			s.seal(h)
		}
		s.sealed += len(h.w.b)
	}
	s.fixed = false
	s.chunks = append(s.chunks, chunk{w: bitWriter{b: make([]byte, 0, capHint)}})
	s.app = newAppender()
}

// seal gives a full head its final form: a decimal chunk (decimal.go) when that is smaller,
// else its Gorilla bytes. The head is appended to as Gorilla, whose appender is O(1) a point;
// a decimal chunk needs all its values to choose its exponent and widths.
func (s *Series) seal(h *chunk) {
	if !s.gorilla && h.n <= maxChunkPoints { // every chunk this writer fills
		var pts [maxChunkPoints]query.Point
		it := h.iter()
		// The first points tell most non-decimal chunks apart before decoding the rest.
		k := it.read(math.MaxInt64, pts[:min(h.n, 4)])
		if anyDecimal(pts[:k]) {
			k += it.read(math.MaxInt64, pts[k:h.n])
		}
		if k == h.n && it.err == nil {
			if b, ok := encodeDecimal(pts[:k], len(h.w.b)); ok {
				h.w, h.mid = bitWriter{b: b}, skipPoint{}
				if k > skipAt {
					it := newChunkIter(b, k)
					it.seek(pts[skipAt].TS)
					h.mid = it.skipPoint()
				}
				return
			}
		}
	}
	h.w.b = trim(h.w.b)
}

// trim gives a sealed chunk's bytes back their spare capacity when it is worth a copy: sealed
// chunks live as long as the series and never grow again.
func trim(b []byte) []byte {
	if cap(b)-len(b) <= len(b)/8+8 {
		return b
	}
	return append(make([]byte, 0, len(b)), b...)
}

// Len is the number of points.
func (s *Series) Len() int { return s.n }

// LastTimestamp is the newest point's timestamp; ok is false for an empty series.
func (s *Series) LastTimestamp() (ts int64, ok bool) {
	if len(s.chunks) == 0 {
		return 0, false
	}
	return s.chunks[len(s.chunks)-1].maxT, true
}

// Lookup finds the value at exactly ts.
func (s *Series) Lookup(ts int64) (bits uint64, found bool) {
	lo := s.chunkEndingAtOrAfter(ts) // only it can hold ts
	if lo == len(s.chunks) || s.chunks[lo].minT > ts {
		return 0, false
	}
	c := &s.chunks[lo]
	var it chunkIter
	switch {
	case c.hasMid() && ts == c.mid.t:
		return c.mid.v, true
	case c.hasMid() && ts > c.mid.t:
		it = c.iterFrom()
	default:
		it = c.iter()
	}
	if it.seek(ts) {
		return it.v, it.t == ts
	}
	return 0, false
}

// chunkEndingAtOrAfter is the first chunk whose last point is at or after ts (len(chunks) if
// none). It first tries the chunk an even spread of the chunks over the series' time range
// puts ts in, which for a regular series is the one: one probe of the chunk list, a likely
// cache miss, instead of log2(chunks) of them. A guess whose time range holds ts is the answer
// without a look at its neighbour (chunks do not overlap). Otherwise it binary-searches.
func (s *Series) chunkEndingAtOrAfter(ts int64) int {
	n := len(s.chunks)
	if n == 0 {
		return 0
	}
	first, last := s.chunks[0].minT, s.chunks[n-1].maxT
	if ts > first && ts <= last {
		g := int((float64(ts) - float64(first)) / (float64(last) - float64(first)) * float64(n))
		g = min(max(g, 0), n-1)
		if c := &s.chunks[g]; c.maxT >= ts && (c.minT <= ts || g == 0 || s.chunks[g-1].maxT < ts) {
			return g
		}
	}
	lo, hi := 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.chunks[m].maxT < ts {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// Iterate calls fn for each point, oldest first, until fn returns false. fn must not modify s.
func (s *Series) Iterate(fn func(ts int64, bits uint64) bool) {
	for i := range s.chunks {
		it := s.chunks[i].iter()
		for it.next() {
			if !fn(it.t, it.v) {
				return
			}
		}
	}
}

// Size is the number of bytes the encoded points occupy.
func (s *Series) Size() int {
	if len(s.chunks) == 0 {
		return 0
	}
	return s.sealed + len(s.chunks[len(s.chunks)-1].w.b)
}

// Clone returns an independent copy of s. Sealed chunks are immutable, so the copy shares
// them and costs O(chunks) plus one head chunk, not O(points).
func (s *Series) Clone() *Series {
	c := *s
	c.chunks = append(make([]chunk, 0, len(s.chunks)+1), s.chunks...)
	if k := len(c.chunks); k > 0 {
		h := &c.chunks[k-1]
		h.w.b = append(make([]byte, 0, cap(h.w.b)), h.w.b...)
	}
	return &c
}

// Point is one point: a timestamp and its value's exact IEEE-754 bits.
type Point = series.Point
