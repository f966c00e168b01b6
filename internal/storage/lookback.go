package storage

import (
	"math"

	"github.com/taudb/tau/internal/storage/chunkenc"
)

// Lookback reads the point at exactly ts and up to k points before it, oldest first, into
// dst's array: what a lens with k `returns` steps needs (docs/protocol.md, E5). found is false
// when no point that is not expired sits at ts; pts is then empty. Expired points (E6) are
// never returned, so fewer than k earlier points come back when the retention, or the
// series' start, cuts the walk short.
//
// Chunks are forward-only bit streams, so it finds the chunk holding ts, decodes it from its
// start up to ts, and walks back chunk by chunk (memory, then the spans on disk, newest
// first), decoding each whole, until it has k+1 points. Each chunk's points go through a ring
// inside dst itself, so a read allocates nothing once dst has room for k+1 points. A chunk
// that fails its checksum is recorded (TakeErr) and answered as not found.
func (s *Series) Lookback(ts int64, k int, dst []Point) (pts []Point, found bool) {
	keep := s.Keep()
	c, ok := s.chunkHolding(ts)
	if !ok || ts < keep || k < 0 {
		return dst[:0], false
	}
	if cap(dst) < k+1 {
		dst = make([]Point, k+1)
	}
	buf := dst[:k+1]
	n, last, err := s.decodeRing(c, buf, keep, ts)
	if err != nil || n == 0 || last.TS != ts {
		return dst[:0], false
	}
	free := settleRing(buf, len(buf), n) // buf[free:] holds the points, oldest first
	for free > 0 && s.prevChunk(&c) {
		n, _, err = s.decodeRing(c, buf[:free], keep, math.MaxInt64)
		if err != nil || n == 0 { // a damaged chunk, or nothing here is still kept
			break
		}
		free = settleRing(buf, free, n)
	}
	if err != nil {
		return dst[:0], false
	}
	got := copy(buf, buf[free:])
	return buf[:got], true
}

// chunkPos names one chunk of a series: chunk of span, or of the chunks in memory when span
// is len(s.spans).
type chunkPos struct{ span, chunk int }

// chunkHolding is the only chunk that can hold ts: the last one starting at or before it.
func (s *Series) chunkHolding(ts int64) (chunkPos, bool) {
	if first, ok := s.mem.FirstTimestamp(); ok && ts >= first {
		return chunkPos{len(s.spans), s.mem.ChunkAt(ts)}, true
	}
	i := s.spanAt(ts)
	if i == len(s.spans) || s.spans[i].ref.MinT > ts {
		return chunkPos{}, false
	}
	return chunkPos{i, s.spans[i].run.Find(ts)}, true
}

// prevChunk moves c to the chunk before it: within its span or the memory, then to the last
// chunk of the span before. False at the series' first chunk.
func (s *Series) prevChunk(c *chunkPos) bool {
	if c.chunk > 0 {
		c.chunk--
		return true
	}
	if c.span == 0 {
		return false
	}
	c.span--
	c.chunk = s.spans[c.span].run.Chunks() - 1
	return true
}

// decodeRing decodes chunk c's points with lo <= ts <= hi into ring, point i at ring[i %
// len(ring)], and returns how many there were and the last of them.
func (s *Series) decodeRing(c chunkPos, ring []Point, lo, hi int64) (n int, last Point, err error) {
	var it chunkenc.Iter
	if c.span == len(s.spans) {
		ch := s.mem.ChunkOf(c.chunk)
		it = chunkenc.NewIter(ch.Data, ch.N)
	} else {
		b, pts, err := s.spans[c.span].run.Chunk(c.chunk)
		if err != nil {
			s.fail(err)
			return 0, Point{}, err
		}
		it = chunkenc.NewIter(b, pts)
	}
	for it.Next() {
		t, v := it.At()
		if t > hi {
			break
		}
		if t < lo {
			continue
		}
		last = Point{TS: t, Value: v}
		ring[n%len(ring)] = last
		n++
	}
	if err := it.Err(); err != nil {
		s.fail(err)
		return 0, Point{}, err
	}
	return n, last, nil
}

// settleRing puts the n points a ring of buf[:free] received in order at the end of it, right
// before buf[free:] (the newer points already settled), and returns the new start of the
// settled points. A ring that wrapped holds its newest free points, rotated: they fill it.
func settleRing(buf []Point, free, n int) int {
	if n < free {
		copy(buf[free-n:free], buf[:n])
		return free - n
	}
	if r := n % free; r != 0 { // the oldest kept point is at r: rotate it to 0
		reverse(buf[:r])
		reverse(buf[r:free])
		reverse(buf[:free])
	}
	return 0
}

func reverse(p []Point) {
	for i, j := 0, len(p)-1; i < j; i, j = i+1, j-1 {
		p[i], p[j] = p[j], p[i]
	}
}
