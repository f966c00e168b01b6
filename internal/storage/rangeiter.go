package storage

import (
	"github.com/taudb/tau/internal/query"
	"github.com/taudb/tau/internal/storage/chunkenc"
)

// RangeIter walks a series' points with start <= ts < end, oldest first: the spans on disk,
// then the chunks in memory. It decodes each chunk at most once, finds its first chunk by
// binary search (spans by time range, chunks in a run by their first timestamp), and stops at
// the first point at or after end.
type RangeIter struct {
	s          *Series
	start, end int64
	spans      []span // the span being read, and the ones after it
	chunk      int    // next chunk of spans[0] to decode; -1 before the first
	it         chunkenc.Iter
	inChunk    bool
	mem        chunkenc.RangeIter
	inMem      bool
	t          int64
	v          uint64
	done       bool
	thru       bool // end itself is in range (Iterate, Info: a point may sit at MaxInt64)
}

func (r *RangeIter) past(t int64) bool { return t > r.end || t == r.end && !r.thru }

// Next advances to the next point; false once there is none.
func (r *RangeIter) Next() bool {
	for !r.done {
		switch {
		case r.inChunk:
			if r.nextInChunk() {
				return true
			}
		case len(r.spans) > 0:
			r.openChunk()
		default:
			return r.nextInMem()
		}
	}
	return false
}

func (r *RangeIter) nextInChunk() bool {
	for r.it.Next() {
		t, v := r.it.At()
		if r.past(t) {
			r.done = true
			return false
		}
		if t >= r.start {
			r.t, r.v = t, v
			return true
		}
	}
	r.endChunk()
	return false
}

// endChunk closes the chunk decoded to its end, failing the series if it was damaged.
func (r *RangeIter) endChunk() {
	if err := r.it.Err(); err != nil {
		r.s.fail(err)
		r.done = true
	}
	r.inChunk = false
}

// openChunk starts decoding the next chunk of the current span, moving to the next span at
// the end of this one.
func (r *RangeIter) openChunk() {
	sp := &r.spans[0]
	if r.chunk < 0 {
		if r.past(sp.ref.MinT) {
			r.done = true
			return
		}
		r.chunk = r.firstChunk(sp)
	}
	if r.chunk >= sp.run.Chunks() {
		r.spans, r.chunk = r.spans[1:], -1
		return
	}
	b, n, err := chunkOf(sp, r.chunk)
	if err != nil {
		r.s.fail(err)
		r.done = true
		return
	}
	r.chunk++
	r.it, r.inChunk = chunkenc.NewIter(b, n), true
}

// firstChunk is the chunk of sp where the range starts: found among its cached chunks when
// they cover the start, without reading the file.
func (r *RangeIter) firstChunk(sp *span) int {
	if c := sp.cached; c != nil {
		if k := c.ChunkAt(r.start); k >= 0 {
			return sp.run.Chunks() - c.Chunks() + k
		}
	}
	return sp.run.Find(r.start)
}

// chunkOf is chunk i of sp: from the read cache (cache.go) when it holds it, else from the
// file, checksum verified.
func chunkOf(sp *span, i int) ([]byte, int, error) {
	if c := sp.cached; c != nil {
		if k := i - (sp.run.Chunks() - c.Chunks()); k >= 0 {
			ch := c.ChunkOf(k)
			return ch.Data, ch.N, nil
		}
	}
	return sp.run.Chunk(i)
}

// openMem starts on the chunks in memory, after every span.
func (r *RangeIter) openMem() {
	if r.thru {
		r.mem = r.s.mem.RangeFrom(r.start)
	} else {
		r.mem = r.s.mem.Range(r.start, r.end)
	}
	r.inMem = true
}

func (r *RangeIter) nextInMem() bool {
	if !r.inMem {
		r.openMem()
	}
	if r.mem.Next() {
		r.t, r.v = r.mem.At()
		return true
	}
	r.done = true
	return false
}

// Read stores the next points in range in dst and returns how many: fewer than len(dst) only
// once the range is done. It decodes a run of points per call (chunkenc's Read), several times
// faster a point than Next. Next and Read may be mixed; At is Next's point only.
func (r *RangeIter) Read(dst []query.Point) int {
	n := 0
	for n < len(dst) && !r.done {
		switch {
		case r.inChunk:
			n += r.readChunk(dst[n:])
		case len(r.spans) > 0:
			r.openChunk()
		case !r.inMem:
			r.openMem()
		default:
			rest := dst[n:]
			k := r.mem.Read(rest)
			n += k
			r.done = k < len(rest)
		}
	}
	return n
}

// readChunk is Read within a chunk of a file (or the read cache): the points the chunk has
// left in range, at most len(dst).
func (r *RangeIter) readChunk(dst []query.Point) int {
	k := r.it.Read(dst)
	n := 0
	for _, p := range dst[:k] {
		if r.past(p.TS) {
			r.done = true
			return n
		}
		if p.TS >= r.start {
			dst[n] = p
			n++
		}
	}
	if k < len(dst) { // the chunk's end, or damage
		r.endChunk()
	}
	return n
}

// At is the current point: its timestamp and exact value bits.
func (r *RangeIter) At() (ts int64, bits uint64) { return r.t, r.v }
