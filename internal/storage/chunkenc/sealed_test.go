package chunkenc

import (
	"math"
	"testing"
)

// TestReadOnlySeriesHoldOnlyTheirChunks: TakeSealed, Newest, Tail and ReadOnly (chunks read
// back from a file) give series that answer lookups of their chunks exactly, and that own their
// array: a chunk left out is not kept alive through them (the read cache's budget counts on it).
func TestReadOnlySeriesHoldOnlyTheirChunks(t *testing.T) {
	s := NewSeries()
	for i := range 10*maxChunkPoints + 3 {
		s.Append(int64(i)*1e9, math.Float64bits(float64(i%13)))
	}
	taken := s.TakeSealed(8)
	if s.Sealed() != 2 || taken.Chunks() != 8 || taken.Len() != 8*maxChunkPoints {
		t.Fatalf("TakeSealed(8): %d sealed left, %d chunks taken of %d points", s.Sealed(), taken.Chunks(), taken.Len())
	}
	three := len(taken.chunks[7].w.b) + len(taken.chunks[6].w.b) + len(taken.chunks[5].w.b) + 3*HeaderBytes
	for _, c := range []struct {
		name   string
		s      *Series
		chunks int
	}{
		{"TakeSealed", taken, 8},
		{"Newest", taken.Newest(three, HeaderBytes), 3},
		{"Newest, a byte short", taken.Newest(three-1, HeaderBytes), 2},
		{"Tail", taken.Tail(4), 4},
		{"ReadOnly", readBack(t, taken, 3), 5},
	} {
		if c.s.Chunks() != c.chunks || cap(c.s.chunks) != c.chunks {
			t.Fatalf("%s: %d chunks in an array of %d, want %d in their own", c.name, c.s.Chunks(), cap(c.s.chunks), c.chunks)
		}
		first := int64(8-c.chunks) * maxChunkPoints
		for i := first; i < 8*maxChunkPoints; i++ {
			if v, ok := c.s.Lookup(i * 1e9); !ok || v != math.Float64bits(float64(i%13)) {
				t.Fatalf("%s: Lookup of point %d = %#x, %v", c.name, i, v, ok)
			}
		}
		if _, ok := c.s.Lookup((first - 1) * 1e9); ok && first > 0 {
			t.Fatalf("%s: found point %d, which it does not hold", c.name, first-1)
		}
	}
	if taken.Newest(HeaderBytes, HeaderBytes) != nil {
		t.Fatal("Newest with room for no chunk's bytes returned chunks")
	}
}

// readBack is ReadOnly of s's chunks from the from-th on, as a file gives them back: their
// bytes and point counts only. It checks that the skip points come back as they were.
func readBack(t *testing.T, s *Series, from int) *Series {
	t.Helper()
	var chunks []Chunk
	for i := from; i < s.Chunks(); i++ {
		c := s.ChunkOf(i)
		chunks = append(chunks, Chunk{Data: c.Data, N: c.N})
	}
	r, err := ReadOnly(chunks)
	if err != nil {
		t.Fatal(err)
	}
	for i := range r.chunks {
		if r.chunks[i].mid != s.chunks[from+i].mid || r.chunks[i].minT != s.chunks[from+i].minT {
			t.Fatalf("chunk %d read back: skip point %+v, want %+v", from+i, r.chunks[i].mid, s.chunks[from+i].mid)
		}
	}
	if _, err := ReadOnly([]Chunk{chunks[1], chunks[0]}); err == nil {
		t.Fatal("ReadOnly took chunks out of order")
	}
	damaged := append([]byte(nil), chunks[0].Data...)
	damaged = damaged[:len(damaged)-1]
	if _, err := ReadOnly([]Chunk{{Data: damaged, N: chunks[0].N}}); err == nil {
		t.Fatal("ReadOnly took a chunk cut short")
	}
	return r
}
