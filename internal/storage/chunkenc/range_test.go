package chunkenc

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/taudb/tau/internal/query"
)

// inRange is the model: the points of pts with start <= t < end.
func inRange(pts []point, start, end int64) []point {
	var out []point
	for _, p := range pts {
		if start <= p.t && p.t < end {
			out = append(out, p)
		}
	}
	return out
}

// collectRange is Range's points through Next. It also reads them through Read, in runs of
// several sizes, and panics unless Read gives the same points.
func collectRange(s *Series, start, end int64) []point {
	var got []point
	it := s.Range(start, end)
	for it.Next() {
		t, v := it.At()
		got = append(got, point{t, v})
	}
	if it.Next() {
		panic("Next true after false")
	}
	for _, size := range []int{1, 2, 7, 256} {
		if read := readRange(s.Range(start, end), size); !slices.Equal(read, got) {
			panic(fmt.Sprintf("Range(%d, %d): Read(%d) gave %d points, Next %d", start, end, size, len(read), len(got)))
		}
	}
	return got
}

// readRange is its points through Read, size at a time.
func readRange(it RangeIter, size int) []point {
	var got []point
	buf := make([]query.Point, size)
	for {
		n := it.Read(buf)
		for _, p := range buf[:n] {
			got = append(got, point{p.TS, p.Value})
		}
		if n < size {
			if it.Read(buf) != 0 {
				panic("Read found points after a short read")
			}
			return got
		}
	}
}

func TestRange(t *testing.T) {
	const minT, maxT = math.MinInt64, math.MaxInt64
	// Three full chunks and a partial head: timestamps -3000, -2990, ... every 10.
	pts := ramp(-3000, 10, 3*maxChunkPoints+17, func(i int) uint64 { return specials[i%len(specials)] ^ uint64(i) })
	s := build(pts)
	c0, c1 := s.chunks[0], s.chunks[1]
	if !c1.hasMid() {
		t.Fatal("chunk 1 has no skip point")
	}
	last := pts[len(pts)-1].t
	cases := []struct {
		name       string
		start, end int64
	}{
		{"everything", minT, maxT},
		{"end equals start", 0, 0},
		{"end before start", 10, -10},
		{"before the first point", minT, -3000},
		{"the first point only", -3000, -2999},
		{"after the last point", last + 1, maxT},
		{"the last point only", last, last + 1},
		{"end is exclusive", -3000, -2980},
		{"start between points", -2995, -2900},
		{"first chunk's last point", c0.maxT, c0.maxT + 1},
		{"chunk boundary", c0.maxT, c1.minT + 1},
		{"start at the second chunk", c1.minT, c1.maxT + 1},
		{"start just before the skip point", c1.mid.t - 1, c1.mid.t + 25},
		{"start at the skip point", c1.mid.t, c1.mid.t + 25},
		{"start just after the skip point", c1.mid.t + 1, c1.mid.t + 25},
		{"the skip point only", c1.mid.t, c1.mid.t + 1},
		{"start at the skip point, end before it", c1.mid.t, c1.mid.t},
		{"start past the skip point to the end", c1.mid.t + 5, maxT},
		{"a gap between points", -2999, -2991},
		{"in the head", last - 50, last - 5},
		{"MinInt64 to MinInt64+1", minT, minT + 1},
	}
	for _, name := range []string{"appended", "decoded"} {
		series := s
		if name == "decoded" {
			var err error
			if series, err = DecodeSeries(s.AppendBinary(nil)); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range cases {
			t.Run(name+"/"+c.name, func(t *testing.T) {
				got, want := collectRange(series, c.start, c.end), inRange(pts, c.start, c.end)
				if !slices.Equal(got, want) {
					t.Fatalf("Range(%d, %d): %d points, want %d\ngot  %v\nwant %v", c.start, c.end, len(got), len(want), got, want)
				}
			})
		}
	}
	t.Run("empty series", func(t *testing.T) {
		if got := collectRange(NewSeries(), minT, maxT); len(got) != 0 {
			t.Fatalf("empty series yielded %v", got)
		}
	})
	t.Run("extreme timestamps", func(t *testing.T) {
		ext := []point{{minT, nanPayload}, {-1, negZero}, {0, posInf}, {maxT - 1, nanNeg}, {maxT, 1}}
		es := build(ext)
		for _, r := range [][2]int64{{minT, maxT}, {minT, minT + 1}, {-1, 1}, {maxT - 1, maxT}, {0, maxT}} {
			if got, want := collectRange(es, r[0], r[1]), inRange(ext, r[0], r[1]); !slices.Equal(got, want) {
				t.Fatalf("Range(%d, %d) = %v, want %v", r[0], r[1], got, want)
			}
		}
	})
}

// TestRangeStartsAtTheSkipPoint: a range starting past a chunk's skip point resumes decoding
// there, so it never decodes the first half of that chunk.
func TestRangeStartsAtTheSkipPoint(t *testing.T) {
	s := build(ramp(0, 1, 2*maxChunkPoints, func(i int) uint64 { return uint64(i) }))
	c := &s.chunks[1]
	for _, start := range []int64{c.mid.t, c.mid.t + 1, c.maxT} {
		it := s.Range(start, math.MaxInt64)
		if it.it.i != skipAt+1 {
			t.Fatalf("Range(%d): decoding starts at point %d of the chunk, want %d", start, it.it.i, skipAt+1)
		}
		if !it.Next() {
			t.Fatalf("Range(%d) is empty", start)
		}
		if ts, _ := it.At(); ts != start {
			t.Fatalf("Range(%d) starts at %d", start, ts)
		}
	}
	if it := s.Range(c.mid.t-1, math.MaxInt64); it.it.i != 0 {
		t.Fatal("a range starting before the skip point must decode the chunk from its start")
	}
}

// TestRangeRandom compares Range with the model over random series (appended and decoded)
// and random bounds, including bounds on and next to the points themselves.
func TestRangeRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 60 {
		gen := tsGens[[]string{"irregular", "huge jumps", "negative seconds", "jittered 10s ns"}[trial%4]]
		pts := []point{{gen.start, r.Uint64()}}
		for n := 1 + r.IntN(800); len(pts) < n; {
			ts, ok := gen.next(r, pts[len(pts)-1].t)
			if !ok {
				break
			}
			pts = append(pts, point{ts, r.Uint64() >> r.IntN(64)})
		}
		s := build(pts)
		d, err := DecodeSeries(s.AppendBinary(nil))
		if err != nil {
			t.Fatal(err)
		}
		bound := func() int64 {
			switch r.IntN(4) {
			case 0:
				return int64(r.Uint64())
			case 1:
				return pts[r.IntN(len(pts))].t
			case 2:
				return pts[r.IntN(len(pts))].t + int64(r.IntN(3)) - 1
			}
			return []int64{math.MinInt64, math.MaxInt64, 0}[r.IntN(3)]
		}
		for range 50 {
			start, end := bound(), bound()
			want := inRange(pts, start, end)
			for _, series := range []*Series{s, d} {
				if got := collectRange(series, start, end); !slices.Equal(got, want) {
					t.Fatalf("trial %d: Range(%d, %d): %d points, want %d", trial, start, end, len(got), len(want))
				}
			}
		}
	}
}

func TestFirstTimestamp(t *testing.T) {
	if _, ok := NewSeries().FirstTimestamp(); ok {
		t.Fatal("empty series has a first timestamp")
	}
	s := build(ramp(-7, 3, 300, func(i int) uint64 { return uint64(i) }))
	if ts, ok := s.FirstTimestamp(); !ok || ts != -7 {
		t.Fatalf("FirstTimestamp = %d, %v", ts, ok)
	}
}
