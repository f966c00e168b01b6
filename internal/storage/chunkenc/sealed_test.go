package chunkenc

import (
	"math"
	"testing"
)

// TestReadOnlySeriesHoldOnlyTheirChunks: TakeSealed, Newest and Tail give series that answer
// lookups of their chunks exactly, and that own their array: a chunk left out is not kept alive
// through them (the read cache's budget counts on it).
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
