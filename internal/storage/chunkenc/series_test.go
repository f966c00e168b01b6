package chunkenc

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// point is one entry of the plain-slice model the series is checked against.
type point struct {
	t int64
	v uint64
}

// Value bit patterns that a float comparison would mangle or conflate.
const (
	nanQuiet   = 0x7ff8000000000000
	nanPayload = 0x7ff8deadbeef0001
	nanSignal  = 0x7ff0000000000001
	nanNeg     = 0xfff8000000000123
	negZero    = 1 << 63
	posInf     = 0x7ff0000000000000
	negInf     = 0xfff0000000000000
	allOnes    = math.MaxUint64
)

var specials = []uint64{0, negZero, nanQuiet, nanPayload, nanSignal, nanNeg, posInf, negInf, allOnes, 1, math.Float64bits(1.5)}

func build(pts []point) *Series {
	s := NewSeries()
	for _, p := range pts {
		s.Append(p.t, p.v)
	}
	return s
}

// collect returns the series' points via Iterate.
func collect(s *Series) []point {
	var got []point
	s.Iterate(func(t int64, v uint64) bool {
		got = append(got, point{t, v})
		return true
	})
	return got
}

// checkSeries compares every observable of s with the model pts.
func checkSeries(t *testing.T, s *Series, pts []point) {
	t.Helper()
	if s.Len() != len(pts) {
		t.Fatalf("Len = %d, want %d", s.Len(), len(pts))
	}
	last, ok := s.LastTimestamp()
	if ok != (len(pts) > 0) || (ok && last != pts[len(pts)-1].t) {
		t.Fatalf("LastTimestamp = %d, %v; want last of %d points", last, ok, len(pts))
	}
	if got := collect(s); !slices.Equal(got, pts) {
		t.Fatalf("Iterate differs from model: got %d points, want %d", len(got), len(pts))
	}
	present := make(map[int64]bool, len(pts))
	for _, p := range pts {
		present[p.t] = true
		if v, found := s.Lookup(p.t); !found || v != p.v {
			t.Fatalf("Lookup(%d) = %#x, %v; want %#x, true", p.t, v, found, p.v)
		}
	}
	// Probe the neighbours of every chunk boundary and of a sample of other points (all of
	// them would make the property test slow under -race). Wrap-around at the extremes is just
	// another probe.
	absent := []int64{math.MinInt64, math.MaxInt64, 0, -1}
	for _, c := range s.chunks {
		absent = append(absent, c.minT-1, c.minT+1, c.maxT-1, c.maxT+1)
	}
	for i := 0; i < len(pts); i += 7 {
		absent = append(absent, pts[i].t-1, pts[i].t+1)
	}
	for _, ts := range absent {
		if v, found := s.Lookup(ts); found != present[ts] {
			t.Fatalf("Lookup(%d) = %#x, %v; want found=%v", ts, v, found, present[ts])
		}
	}
	checkInvariants(t, s)
}

// checkInvariants checks the chunk index the lookups rely on.
func checkInvariants(t *testing.T, s *Series) {
	t.Helper()
	n, size := 0, 0
	for i, c := range s.chunks {
		if c.n <= 0 || c.minT > c.maxT || (i > 0 && c.minT <= s.chunks[i-1].maxT) {
			t.Fatalf("chunk %d: bad index n=%d [%d, %d]", i, c.n, c.minT, c.maxT)
		}
		n += c.n
		size += len(c.w.b)
		if i < len(s.chunks)-1 { // a sealed chunk's skip point is the one decoding rebuilds
			if d, _, err := decodeChunk(c.w.b, uint64(c.n)); err != nil || d.mid != c.mid {
				t.Fatalf("chunk %d: skip point %+v, decoded %+v (%v)", i, c.mid, d.mid, err)
			}
		}
	}
	if n != s.Len() || size != s.Size() {
		t.Fatalf("chunks hold %d points, %d bytes; Len %d, Size %d", n, size, s.Len(), s.Size())
	}
}

// roundTrip encodes s, decodes it and checks the copy against pts.
func roundTrip(t *testing.T, s *Series, pts []point) *Series {
	t.Helper()
	enc := s.AppendBinary([]byte("prefix"))[len("prefix"):]
	d, err := DecodeSeries(enc)
	if err != nil {
		t.Fatalf("DecodeSeries: %v", err)
	}
	clear(enc) // the decoded series must not alias its input
	checkSeries(t, d, pts)
	return d
}

// more returns up to n points after pts (consecutive timestamps, values cycling specials),
// fewer if the timestamps would pass MaxInt64.
func more(pts []point, n int) []point {
	t := int64(math.MinInt64 + 5)
	if len(pts) > 0 {
		t = pts[len(pts)-1].t
	}
	var out []point
	for i := range n {
		if t == math.MaxInt64 {
			break
		}
		t++
		out = append(out, point{t, specials[i%len(specials)] ^ uint64(i/len(specials))})
	}
	return out
}

// checkAll runs the model checks, the binary round trip, and appends after decoding. The
// decoded-then-appended series must serialise byte for byte like one built directly, which
// shows decoding restores the head's encoder state exactly.
func checkAll(t *testing.T, pts []point) {
	t.Helper()
	s := build(pts)
	checkSeries(t, s, pts)
	d := roundTrip(t, s, pts)
	extra := more(pts, 2*maxChunkPoints+7)
	for _, p := range extra {
		d.Append(p.t, p.v)
		s.Append(p.t, p.v)
	}
	all := append(slices.Clone(pts), extra...)
	checkSeries(t, d, all)
	if a, b := s.AppendBinary(nil), d.AppendBinary(nil); !bytes.Equal(a, b) {
		t.Fatalf("appending after decode encodes differently:\n%x\n%x", a, b)
	}
	roundTrip(t, d, all)
}

func ramp(start, step int64, n int, val func(i int) uint64) []point {
	pts := make([]point, n)
	for i := range pts {
		pts[i] = point{start + int64(i)*step, val(i)}
	}
	return pts
}

// fromDeltas builds points at start, start+d[0], ... with values cycling specials.
func fromDeltas(start int64, deltas ...uint64) []point {
	pts := []point{{start, specials[0]}}
	for i, d := range deltas {
		pts = append(pts, point{int64(uint64(pts[len(pts)-1].t) + d), specials[(i+1)%len(specials)]})
	}
	return pts
}

// bucketEdges gives deltas whose delta-of-delta sits on each side of every bucket limit.
func bucketEdges() []uint64 {
	const base = 1 << 40
	ds := []uint64{base}
	for _, b := range dodBuckets {
		lim := int64(1) << (b.width - 1)
		for _, dod := range []int64{lim - 1, lim, -lim, -lim - 1} {
			ds = append(ds, uint64(base+dod), base)
		}
	}
	return ds
}

func TestEdgeCases(t *testing.T) {
	const minT, maxT = math.MinInt64, math.MaxInt64
	cases := []struct {
		name string
		pts  []point
	}{
		{"empty", nil},
		{"single MinInt64", []point{{minT, nanPayload}}},
		{"single MaxInt64", []point{{maxT, negZero}}},
		{"MinInt64 then MaxInt64", []point{{minT, 1}, {maxT, 2}}},
		{"Min, Min+1, Max", []point{{minT, 1}, {minT + 1, 1}, {maxT, 1}}},
		{"Min, Max-1, Max", []point{{minT, 1}, {maxT - 1, 2}, {maxT, 3}}},
		{"Min, 0, Max", []point{{minT, 1}, {0, 2}, {maxT, 3}}},
		{"Min, -1, 0, Max", []point{{minT, 1}, {-1, 2}, {0, 3}, {maxT, 4}}},
		{"up to MaxInt64", ramp(maxT-300, 1, 301, func(i int) uint64 { return uint64(i) })},
		{"from MinInt64", ramp(minT, 1e9, 300, func(i int) uint64 { return specials[i%len(specials)] })},
		{"negative regular", ramp(-1e15, 10e9, 500, func(i int) uint64 { return math.Float64bits(float64(i % 7)) })},
		{"crossing zero", ramp(-1000*7, 7, 2000, func(i int) uint64 { return math.Float64bits(-float64(i)) })},
		{"irregular deltas", fromDeltas(-5, 1, 1_000_000_007, 1, 3, 1<<50, 2, 1<<62, 1, 1, 999, 1<<33, 5)},
		{"dod bucket edges", fromDeltas(minT, bucketEdges()...)},
		{"specials repeated", ramp(0, 1, 300, func(i int) uint64 { return specials[(i/3)%len(specials)] })},
		{"xor of all 64 bits", ramp(0, 1, 10, func(i int) uint64 { return uint64(i%2) * allOnes })},
		{"xor with > 31 leading zeros", ramp(0, 1, 10, func(i int) uint64 { return uint64(i%4 + 1) })},
		{"window grows and shrinks", ramp(0, 5, 12, func(i int) uint64 { return 1 << (i * 5) })},
		{"NaN payload walk", ramp(10, 10, 200, func(i int) uint64 { return nanQuiet | uint64(i*i) })},
		{"many chunks", ramp(1e18, 15e9, 1500, func(i int) uint64 { return math.Float64bits(math.Sin(float64(i))) })},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkAll(t, tc.pts) })
	}
}

// tsGen makes strictly increasing timestamps; it reports false when the next would overflow.
type tsGen func(r *rand.Rand, prev int64) (int64, bool)

func deltaGen(d func(r *rand.Rand) uint64) tsGen {
	return func(r *rand.Rand, prev int64) (int64, bool) {
		t := int64(uint64(prev) + d(r))
		return t, t > prev
	}
}

var tsGens = map[string]struct {
	start int64
	next  tsGen
}{
	"regular 10s ns":   {1_700_000_000e9, deltaGen(func(*rand.Rand) uint64 { return 10e9 })},
	"jittered 10s ns":  {1_700_000_000e9, deltaGen(func(r *rand.Rand) uint64 { return 10e9 - 5e6 + r.Uint64N(10e6) })},
	"irregular":        {-1e12, deltaGen(func(r *rand.Rand) uint64 { return 1 + r.Uint64N(1<<r.IntN(40)) })},
	"huge jumps":       {math.MinInt64, deltaGen(func(r *rand.Rand) uint64 { return 1 + r.Uint64N(1<<r.IntN(64)) })},
	"negative seconds": {-2e9, deltaGen(func(r *rand.Rand) uint64 { return uint64(1 + r.IntN(3)) })},
}

var valGens = map[string]func(r *rand.Rand, prev uint64) uint64{
	"constant":    func(_ *rand.Rand, prev uint64) uint64 { return prev },
	"walk 2dec":   walk2dec,
	"random bits": func(r *rand.Rand, _ uint64) uint64 { return r.Uint64() },
	"specials":    func(r *rand.Rand, _ uint64) uint64 { return specials[r.IntN(len(specials))] },
	"small ints":  func(r *rand.Rand, _ uint64) uint64 { return math.Float64bits(float64(r.IntN(5))) },
}

func walk2dec(r *rand.Rand, prev uint64) uint64 {
	f := math.Float64frombits(prev) + (r.Float64()-0.5)/10
	return math.Float64bits(math.Round(f*100) / 100)
}

// TestRandomRoundTrip is a property test: for random series of every timestamp and value
// shape, the series agrees with a plain slice on every observable, survives a binary round
// trip at a random point, and keeps agreeing as appends continue after the decode.
func TestRandomRoundTrip(t *testing.T) {
	for tn, tg := range tsGens {
		for vn, vg := range valGens {
			t.Run(tn+"/"+vn, func(t *testing.T) {
				r := rand.New(rand.NewPCG(uint64(len(tn)), uint64(len(vn))))
				for range 3 {
					randomTrial(t, r, tg.start, tg.next, vg)
				}
			})
		}
	}
}

func randomTrial(t *testing.T, r *rand.Rand, start int64, next tsGen, val func(*rand.Rand, uint64) uint64) {
	n, split := 1+r.IntN(1000), r.IntN(1000)
	pts := []point{{start, math.Float64bits(100)}}
	for len(pts) < n {
		p := pts[len(pts)-1]
		ts, ok := next(r, p.t)
		if !ok {
			break
		}
		pts = append(pts, point{ts, val(r, p.v)})
	}
	split = min(split, len(pts))
	s := build(pts[:split])
	s = roundTrip(t, s, pts[:split])
	for _, p := range pts[split:] {
		s.Append(p.t, p.v)
	}
	checkSeries(t, s, pts)
	roundTrip(t, s, pts)
}

func TestIterateStops(t *testing.T) {
	s := build(ramp(0, 1, 500, func(i int) uint64 { return uint64(i) }))
	calls := 0
	s.Iterate(func(int64, uint64) bool { calls++; return calls < 130 })
	if calls != 130 {
		t.Fatalf("Iterate made %d calls after fn returned false at 130", calls)
	}
}

func TestClone(t *testing.T) {
	pts := ramp(0, 10, 250, func(i int) uint64 { return uint64(i) * 3 })
	s := build(pts)
	c := s.Clone()
	extra := more(pts, 300)
	for _, p := range extra {
		c.Append(p.t, p.v)
	}
	checkSeries(t, s, pts) // appending to the clone must not touch the original's head
	checkSeries(t, c, append(slices.Clone(pts), extra...))
}

// TestAppendAllocs: in steady state Append allocates only for a new chunk's buffer (one per
// ~120 points) and the amortised growth of buffers and of the chunk list.
func TestAppendAllocs(t *testing.T) {
	s := NewSeries()
	r := rand.New(rand.NewPCG(1, 2))
	ts, v := int64(0), math.Float64bits(50)
	step := func() {
		ts += 10e9
		v = walk2dec(r, v)
		s.Append(ts, v)
	}
	for range 10 * maxChunkPoints {
		step()
	}
	const perRun = 100 * maxChunkPoints
	allocs := testing.AllocsPerRun(5, func() {
		for range perRun {
			step()
		}
	})
	if per := allocs / perRun; per > 3.0/maxChunkPoints {
		t.Fatalf("%.4f allocations per Append (%.0f per %d points)", per, allocs, perRun)
	}
}
