package chunkenc

import (
	"encoding/binary"
	"math"
	"unsafe"

	"github.com/taudb/tau/internal/query"
)

// Full chunks leave memory: the store writes them once to an immutable file and the series
// drops them (DropSealed). These are the calls that let it, and that read them back from the
// file's bytes.

// Chunk is a sealed chunk: its encoded bit stream and what it holds.
type Chunk struct {
	Data       []byte // the bit stream (chunk.go); shared, never written again
	N          int    // points, 1 to 255
	MinT, MaxT int64
}

// Sealed is the number of full chunks held: every chunk but the head.
func (s *Series) Sealed() int { return max(len(s.chunks)-1, 0) }

// SealedChunk is full chunk i, oldest first. Its bytes are shared with the series: sealed
// chunks are immutable.
func (s *Series) SealedChunk(i int) Chunk {
	c := &s.chunks[i]
	return Chunk{Data: c.w.b, N: c.n, MinT: c.minT, MaxT: c.maxT}
}

// DropSealed forgets the k oldest chunks, once they are stored elsewhere. k must not exceed
// Sealed(): the head always stays.
func (s *Series) DropSealed(k int) {
	if k <= 0 {
		return
	}
	for i := range s.chunks[:k] {
		s.sealed -= len(s.chunks[i].w.b)
		s.n -= s.chunks[i].n
	}
	s.chunks = append(s.chunks[:0:0], s.chunks[k:]...) // a new array: the old one held them
}

// TakeSealed is DropSealed that hands the k oldest chunks back instead of forgetting them: a
// series that holds them, skip points included, for reading only (Lookup, ChunkAt, ChunkOf,
// FirstTimestamp, Chunks, Size, Newest, Tail, Concat). Nil when k <= 0.
func (s *Series) TakeSealed(k int) *Series {
	if k <= 0 {
		return nil
	}
	t := newReadOnly(s.chunks[:min(k, s.Sealed())])
	s.DropSealed(k)
	return t
}

// Newest is a read-only series of the newest of s's chunks whose bytes, each counted with
// overhead more, add up to at most budget; nil when not even the newest fits.
func (s *Series) Newest(budget, overhead int) *Series {
	k, used := len(s.chunks), 0
	for k > 0 && used+len(s.chunks[k-1].w.b)+overhead <= budget {
		k--
		used += len(s.chunks[k].w.b) + overhead
	}
	if k == len(s.chunks) {
		return nil
	}
	if k == 0 {
		return s
	}
	return newReadOnly(s.chunks[k:])
}

// HeaderBytes is what a chunk costs in memory besides its bytes: its header in the series'
// array, skip point included.
const HeaderBytes = int(unsafe.Sizeof(chunk{}))

// Tail is a read-only series of s's k newest chunks (s itself when k covers them all).
func (s *Series) Tail(k int) *Series {
	if k >= len(s.chunks) {
		return s
	}
	return newReadOnly(s.chunks[len(s.chunks)-max(k, 0):])
}

// Concat is a read-only series of the chunks of parts, in order, from the first that ends at
// or after from on; nil when none does. The parts' chunks must follow one another in time.
func Concat(parts []*Series, from int64) *Series {
	var chunks []chunk
	for _, p := range parts {
		for i := range p.chunks {
			if len(chunks) > 0 || p.chunks[i].maxT >= from {
				chunks = append(chunks, p.chunks[i])
			}
		}
	}
	if len(chunks) == 0 {
		return nil
	}
	return newReadOnly(chunks)
}

// ReadOnly is a read-only series, as TakeSealed gives, of chunks read back from a file, oldest
// first. Each is checked by decoding it whole, which also rebuilds its skip point, as a
// checkpoint's chunks are checked; their bytes are kept, not copied.
func ReadOnly(chunks []Chunk) (*Series, error) {
	cs := make([]chunk, len(chunks))
	for i, ch := range chunks {
		c, _, err := decodeChunk(ch.Data, uint64(ch.N))
		if err != nil {
			return nil, err
		}
		if i > 0 && c.minT <= cs[i-1].maxT {
			return nil, errMalformed
		}
		cs[i] = c
	}
	return newReadOnly(cs), nil
}

// newReadOnly is a series of copies of chunks' headers (the bytes are shared): an array of
// its own, so the chunks it leaves out are not kept alive through it.
func newReadOnly(chunks []chunk) *Series {
	t := &Series{chunks: append(make([]chunk, 0, len(chunks)), chunks...)}
	for i := range chunks {
		t.n += chunks[i].n
		if i < len(chunks)-1 { // Size counts the newest chunk apart, as it does a head
			t.sealed += len(chunks[i].w.b)
		}
	}
	return t
}

// AppendBinaryFrom serialises chunks from, …, head in the format of AppendBinary: what a
// checkpoint keeps of a series whose older chunks are in files.
func (s *Series) AppendBinaryFrom(from int, dst []byte) []byte {
	t := Series{chunks: s.chunks[from:]}
	return t.AppendBinary(dst)
}

// ChunkMinT is an encoded chunk's first timestamp: its first point's is a plain zigzag varint at
// byte 0 (chunk.go), so a binary search over chunks in a file reads no more than that.
func ChunkMinT(data []byte) (int64, bool) {
	t, k := binary.Varint(data)
	return t, k > 0
}

// Iter decodes an encoded chunk, checking everything it reads.
type Iter struct{ it chunkIter }

// NewIter decodes the n points of data.
func NewIter(data []byte, n int) Iter { return Iter{it: newChunkIter(data, n)} }

// Next advances to the next point; false at the end or on malformed data (see Err).
func (i *Iter) Next() bool { return i.it.next() }

// Read stores the chunk's next points in dst and returns how many: fewer than len(dst) only at
// the chunk's end or on damage (Err). It decodes a run of points per call, several times
// faster a point than Next.
func (i *Iter) Read(dst []query.Point) int { return i.it.read(math.MaxInt64, dst) }

// SkipTo advances to the first point at or after ts: the fast way to find one point. False when
// there is none (or on malformed data, see Err); Next carries on after the point it found.
func (i *Iter) SkipTo(ts int64) bool { return i.it.seek(ts) }

// At is the current point.
func (i *Iter) At() (ts int64, bits uint64) { return i.it.t, i.it.v }

// Err reports malformed data.
func (i *Iter) Err() error { return i.it.err }

// Chunks is the number of chunks held, head included.
func (s *Series) Chunks() int { return len(s.chunks) }

// ChunkAt is the last chunk whose first timestamp is at or before ts: the only one that can
// hold ts, and where a walk back from ts starts. It is -1 when ts precedes every chunk.
func (s *Series) ChunkAt(ts int64) int {
	lo, hi := 0, len(s.chunks) // the first chunk starting after ts
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.chunks[m].minT <= ts {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo - 1
}

// ChunkOf is chunk i, the head included, to decode with NewIter. Its bytes are the series'
// own: a sealed chunk's never change, the head's only grow past its last point, so they are
// valid for the points N counts until the series changes.
func (s *Series) ChunkOf(i int) Chunk {
	c := &s.chunks[i]
	return Chunk{Data: c.w.b, N: c.n, MinT: c.minT, MaxT: c.maxT}
}

// IsDecimal reports whether an encoded chunk is a decimal chunk (decimal.go), which only the
// format versions that know them (series version 2, chunk file version 2) may hold.
func IsDecimal(data []byte) bool { return isDecimal(data) }
