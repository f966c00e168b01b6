package chunkenc

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/taudb/tau/internal/query"
)

// scanTo is what seek must match: the plain decoder, point by point, up to the first point at
// or after ts.
func scanTo(data []byte, n int, ts int64) (t int64, v uint64, found bool, err error) {
	it := newChunkIter(data, n)
	for it.next() {
		if it.t >= ts {
			return it.t, it.v, true, nil
		}
	}
	return 0, 0, false, it.err
}

// checkSeek compares seek from a fresh iterator with scanTo, then checks that next carries on
// after the point seek found exactly as the plain decoder does.
func checkSeek(t *testing.T, data []byte, n int, ts int64) {
	t.Helper()
	wt, wv, wfound, werr := scanTo(data, n, ts)
	it := newChunkIter(data, n)
	found := it.seek(ts)
	if found != wfound || (werr == nil) != (it.err == nil) || found && (it.t != wt || it.v != wv) {
		t.Fatalf("seek(%d) over %d points of %x: found %v at %d=%#x, err %v; the plain decoder: found %v at %d=%#x, err %v",
			ts, n, data, found, it.t, it.v, it.err, wfound, wt, wv, werr)
	}
	if !found {
		return
	}
	ref := newChunkIter(data, n)
	for ok := ref.next(); ok && ref.t < ts; ok = ref.next() {
		continue // to the point seek found
	}
	for {
		a, b := it.next(), ref.next()
		if a != b || a && (it.t != ref.t || it.v != ref.v) {
			t.Fatalf("after seek(%d), next gave %v %d=%#x; the plain decoder %v %d=%#x", ts, a, it.t, it.v, b, ref.t, ref.v)
		}
		if !a {
			return
		}
	}
}

// checkRead compares Iter.Read, in runs of several sizes, with next point by point: the same
// points, and the same refusal of damage.
func checkRead(t *testing.T, data []byte, n int) {
	t.Helper()
	var want []point
	ref := newChunkIter(data, n)
	for ref.next() {
		want = append(want, point{ref.t, ref.v})
	}
	for _, size := range []int{1, 300} { // a point a call (every split), whole chunks a call
		it, buf := NewIter(data, n), make([]query.Point, size)
		var got []point
		for {
			k := it.Read(buf)
			for _, p := range buf[:k] {
				got = append(got, point{p.TS, p.Value})
			}
			if k < size {
				break
			}
		}
		if !slices.Equal(got, want) || (it.Err() == nil) != (ref.err == nil) {
			t.Fatalf("Read(%d) over %d points of %x: %d points, err %v; next: %d points, err %v",
				size, n, data, len(got), it.Err(), len(want), ref.err)
		}
	}
}

// seekCases are chunks that exercise every code: regular and jittered timestamps, every
// delta-of-delta width and its escape (steps up to 2^55: 120 of them never pass int64), the value patterns (same value, window reused, new
// windows of every size, 64 meaningful bits).
func seekCases() [][]point {
	r := rand.New(rand.NewPCG(11, 3))
	var cases [][]point
	steps := []func(i int) int64{
		func(int) int64 { return 10e9 },
		func(int) int64 { return 10e9 + r.Int64N(5e6) },
		func(int) int64 { return 1 + r.Int64N(1<<13) },
		func(int) int64 { return 1 + r.Int64N(1<<23) },
		func(int) int64 { return 1 + r.Int64N(1<<35) },
		func(int) int64 { return 1 + r.Int64N(1<<55) },
		func(i int) int64 { return []int64{1, 1 << 40, 3, 1 << 20, 1 << 55}[i%5] },
	}
	for _, step := range steps {
		for _, p := range patterns {
			pts := make([]point, 0, maxChunkPoints)
			ts, v := math.MinInt64/2+r.Int64N(1<<40), math.Float64bits(100)
			for i := range maxChunkPoints {
				ts += step(i)
				v = p.next(r, v)
				pts = append(pts, point{ts, v})
			}
			cases = append(cases, pts)
		}
	}
	return cases
}

// TestSeekMatchesNext: seek finds what the plain decoder finds, for every timestamp of every
// case and the ones just before and after, from the chunk's start and from its skip point.
func TestSeekMatchesNext(t *testing.T) {
	for _, pts := range seekCases() {
		s := build(pts)
		c := &s.chunks[0]
		if len(s.chunks) != 1 {
			c = &s.chunks[len(s.chunks)-2] // a full chunk ending before the head
		}
		data := c.w.b
		for _, p := range pts {
			for _, ts := range []int64{p.t - 1, p.t, p.t + 1} {
				checkSeek(t, data, c.n, ts)
			}
		}
		checkSeek(t, data, c.n, math.MaxInt64)
		checkSeek(t, data, c.n, math.MinInt64)
		checkRead(t, data, c.n)
		for i := 1; i < c.n; i++ { // every shorter count: the end comes at other places
			checkSeek(t, data, i, math.MaxInt64)
			checkRead(t, data, i)
		}
		if c.hasMid() {
			it := c.iterFrom()
			ts := c.mid.t + 1
			wt, wv, wfound, _ := scanTo(data, c.n, ts)
			if found := it.seek(ts); found != wfound || it.t != wt || it.v != wv {
				t.Fatalf("seek from the skip point: %v %d=%#x, want %v %d=%#x", found, it.t, it.v, wfound, wt, wv)
			}
		}
	}
}

// TestSeekRefusesDamage: every chunk cut short or with one bit flipped decodes under seek and
// Read exactly as under the plain decoder: the same points, or the same refusal.
func TestSeekRefusesDamage(t *testing.T) {
	for k, pts := range seekCases() {
		if k%5 != 0 {
			continue // a sample keeps the test short
		}
		c := &build(pts).chunks[0]
		for cut := 0; cut < len(c.w.b); cut++ {
			checkSeek(t, c.w.b[:cut], c.n, math.MaxInt64)
			checkRead(t, c.w.b[:cut], c.n)
		}
		for bit := 0; bit < 8*len(c.w.b); bit++ {
			data := append([]byte(nil), c.w.b...)
			data[bit/8] ^= 0x80 >> (bit % 8)
			checkSeek(t, data, c.n, math.MaxInt64)
			checkSeek(t, data, c.n, pts[len(pts)/2].t)
			if bit%4 == 0 { // a sample: the test runs under -race; FuzzSeek covers the rest
				checkRead(t, data, c.n)
			}
		}
	}
}

// FuzzSeek: on any bytes, seek, Read and the plain decoder agree, and none panics.
func FuzzSeek(f *testing.F) {
	for _, pts := range seekCases()[:8] {
		c := &build(pts).chunks[0]
		f.Add(c.w.b, uint8(c.n), pts[c.n/3].t)
	}
	for _, b := range decimalCases() {
		f.Add(b, uint8(maxChunkPoints), regularStart+50*regularStep)
	}
	f.Fuzz(func(t *testing.T, data []byte, n uint8, ts int64) {
		checkSeek(t, data, int(n), ts)
		checkRead(t, data, int(n))
	})
}
