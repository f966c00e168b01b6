package query_test

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	. "github.com/taudb/tau/internal/query" //nolint:revive // the tests read as the package's own; external only because storage imports query
	"github.com/taudb/tau/internal/storage"
)

const (
	minT, maxT = math.MinInt64, math.MaxInt64

	nanA    = 0x7FF8DEADBEEF0001 // quiet NaN with a payload
	nanB    = 0xFFF400000000C0DE // negative signalling NaN with a payload
	negZero = 1 << 63
)

var (
	posInf = math.Float64bits(math.Inf(1))
	negInf = math.Float64bits(math.Inf(-1))
)

func f(x float64) uint64 { return math.Float64bits(x) }

type pt = Point

func build(pts []pt) *storage.Series {
	s := storage.NewSeries()
	for _, p := range pts {
		s.Append(p.TS, p.Value)
	}
	return s
}

func run(s *storage.Series, r Range) ([]Point, bool) {
	p := &Page{Range: r}
	p.Run(s.Range(p.Range.Start, p.Range.End))
	return p.Points, p.More
}

func TestBucketOf(t *testing.T) {
	cases := []struct {
		name          string
		ts, width     int64
		start, next   int64
		unboundedNext bool
	}{
		{"zero", 0, 10, 0, 10, false},
		{"inside", 9, 10, 0, 10, false},
		{"on a start", 10, 10, 10, 20, false},
		{"negative inside", -1, 10, -10, 0, false},
		{"negative on a start", -10, 10, -10, 0, false},
		{"negative floor, not truncation", -11, 10, -20, -10, false},
		{"width 1", -5, 1, -5, -4, false},
		{"MinInt64, clamped", minT, 3, minT, minT + 2, false},
		{"MinInt64+1, clamped", minT + 1, 3, minT, minT + 2, false},
		{"MinInt64+2, first exact bucket", minT + 2, 3, minT + 2, minT + 5, false},
		{"MinInt64 on a start", minT, 2, minT, minT + 2, false},
		{"MinInt64, widest bucket, clamped", minT, maxT, minT, -maxT, false},
		{"-1, widest bucket", -1, maxT, -maxT, 0, false},
		{"0, widest bucket", 0, maxT, 0, maxT, false},
		{"MaxInt64, widest bucket", maxT, maxT, maxT, 0, true},
		{"MaxInt64, width 10", maxT, 10, maxT - 7, 0, true},
		{"MaxInt64-8, width 10: next passes MaxInt64", maxT - 8, 10, maxT - 7 - 10, maxT - 7, false},
		{"MaxInt64, width 1", maxT, 1, maxT, 0, true},
		{"MaxInt64-1, width 1", maxT - 1, 1, maxT - 1, maxT, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start, next, unbounded := BucketOf(c.ts, c.width)
			if start != c.start || unbounded != c.unboundedNext || (!unbounded && next != c.next) {
				t.Fatalf("BucketOf(%d, %d) = %d, %d, %v; want %d, %d, %v", c.ts, c.width, start, next, unbounded, c.start, c.next, c.unboundedNext)
			}
			if ref := refStart(c.ts, c.width); ref != start {
				t.Fatalf("reference start %d", ref)
			}
		})
	}
}

func TestRangeValid(t *testing.T) {
	cases := []struct {
		r    Range
		want bool
	}{
		{Range{Agg: Raw}, true},
		{Range{Agg: Raw, Bucket: 1}, false},
		{Range{Agg: Avg, Bucket: 1}, true},
		{Range{Agg: Last, Bucket: maxT}, true},
		{Range{Agg: Sum}, false},
		{Range{Agg: Min, Bucket: -1}, false},
		{Range{Agg: Last + 1, Bucket: 1}, false},
	}
	for _, c := range cases {
		if c.r.Valid() != c.want {
			t.Errorf("%+v: Valid() = %v", c.r, !c.want)
		}
	}
}

// TestAggregations is one case per rule of E4 (docs/protocol.md).
func TestAggregations(t *testing.T) {
	cases := []struct {
		name string
		pts  []pt
		r    Range
		want []Point
		more bool
	}{
		{"raw keeps exact bits", []pt{{-3, nanA}, {-2, negZero}, {-1, posInf}, {0, negInf}, {1, nanB}},
			Range{Start: minT, End: maxT}, []Point{{-3, nanA}, {-2, negZero}, {-1, posInf}, {0, negInf}, {1, nanB}}, false},
		{"raw is [start, end)", []pt{{1, f(1)}, {2, f(2)}, {3, f(3)}}, Range{Start: 2, End: 3}, []Point{{2, f(2)}}, false},
		{"raw limit and more", []pt{{1, f(1)}, {2, f(2)}, {3, f(3)}}, Range{Start: 0, End: 10, Limit: 2}, []Point{{1, f(1)}, {2, f(2)}}, true},
		{"raw limit exactly reached is not more", []pt{{1, f(1)}, {2, f(2)}}, Range{Start: 0, End: 10, Limit: 2}, []Point{{1, f(1)}, {2, f(2)}}, false},
		{"raw more counts only the range", []pt{{1, f(1)}, {2, f(2)}, {3, f(3)}}, Range{Start: 0, End: 3, Limit: 2}, []Point{{1, f(1)}, {2, f(2)}}, false},
		{"end equals start", []pt{{1, f(1)}}, Range{Start: 1, End: 1}, nil, false},
		{"end before start", []pt{{1, f(1)}}, Range{Start: 2, End: 1, Agg: Sum, Bucket: 1}, nil, false},
		{"invalid: raw with a bucket", []pt{{1, f(1)}}, Range{Start: 0, End: 9, Bucket: 1}, nil, false},
		{"invalid: aggregation without bucket", []pt{{1, f(1)}}, Range{Start: 0, End: 9, Agg: Avg}, nil, false},

		{"sum adds in time order from the first value", []pt{{0, f(1e16)}, {1, f(1)}, {2, f(1)}},
			Range{Start: 0, End: 10, Agg: Sum, Bucket: 10}, []Point{{0, f(1e16)}}, false},
		{"sum of a lone -0 is -0", []pt{{0, negZero}}, Range{Start: 0, End: 10, Agg: Sum, Bucket: 10}, []Point{{0, negZero}}, false},
		{"avg is sum over count", []pt{{0, f(1)}, {1, f(2)}, {2, f(4)}}, Range{Start: 0, End: 10, Agg: Avg, Bucket: 10}, []Point{{0, f(7.0 / 3)}}, false},
		{"count is a float64", []pt{{0, nanA}, {1, f(2)}, {2, f(4)}}, Range{Start: 0, End: 10, Agg: Count, Bucket: 10}, []Point{{0, f(3)}}, false},
		{"first and last exact bits", []pt{{0, nanA}, {1, f(2)}, {2, nanB}}, Range{Start: 0, End: 10, Agg: First, Bucket: 10}, []Point{{0, nanA}}, false},
		{"last exact bits", []pt{{0, nanA}, {1, f(2)}, {2, nanB}}, Range{Start: 0, End: 10, Agg: Last, Bucket: 10}, []Point{{0, nanB}}, false},
		{"min skips NaN", []pt{{0, nanA}, {1, f(2)}, {2, nanB}, {3, f(1)}, {4, nanA}}, Range{Start: 0, End: 10, Agg: Min, Bucket: 10}, []Point{{0, f(1)}}, false},
		{"max skips NaN", []pt{{0, nanA}, {1, f(2)}, {2, nanB}, {3, f(1)}}, Range{Start: 0, End: 10, Agg: Max, Bucket: 10}, []Point{{0, f(2)}}, false},
		{"min of NaNs is the first point", []pt{{0, nanB}, {1, nanA}}, Range{Start: 0, End: 10, Agg: Min, Bucket: 10}, []Point{{0, nanB}}, false},
		{"max of NaNs is the first point", []pt{{0, nanA}, {1, nanB}}, Range{Start: 0, End: 10, Agg: Max, Bucket: 10}, []Point{{0, nanA}}, false},
		{"min tie keeps the earliest (-0 before +0)", []pt{{0, f(1)}, {1, negZero}, {2, 0}}, Range{Start: 0, End: 10, Agg: Min, Bucket: 10}, []Point{{0, negZero}}, false},
		{"min tie keeps the earliest (+0 before -0)", []pt{{0, 0}, {1, negZero}}, Range{Start: 0, End: 10, Agg: Min, Bucket: 10}, []Point{{0, 0}}, false},
		{"max tie keeps the earliest", []pt{{0, negZero}, {1, 0}, {2, f(-1)}}, Range{Start: 0, End: 10, Agg: Max, Bucket: 10}, []Point{{0, negZero}}, false},
		{"min and max of infinities", []pt{{0, posInf}, {1, negInf}}, Range{Start: 0, End: 10, Agg: Min, Bucket: 10}, []Point{{0, negInf}}, false},
		{"sum to NaN through infinities", []pt{{0, posInf}, {1, negInf}}, Range{Start: 0, End: 10, Agg: Sum, Bucket: 10}, []Point{{0, f(math.NaN())}}, false},

		{"negative timestamps floor", []pt{{-11, f(1)}, {-10, f(2)}, {-1, f(3)}, {0, f(4)}, {9, f(5)}},
			Range{Start: minT, End: maxT, Agg: Count, Bucket: 10}, []Point{{-20, f(1)}, {-10, f(2)}, {0, f(2)}}, false},
		{"empty buckets are left out", []pt{{1, f(1)}, {35, f(2)}}, Range{Start: 0, End: 100, Agg: Sum, Bucket: 10}, []Point{{0, f(1)}, {30, f(2)}}, false},
		{"only points in range count", []pt{{0, f(1)}, {5, f(2)}, {9, f(4)}, {10, f(8)}}, Range{Start: 5, End: 10, Agg: Sum, Bucket: 10}, []Point{{0, f(6)}}, false},
		{"clamped at MinInt64", []pt{{minT, f(1)}, {minT + 1, f(2)}, {minT + 2, f(4)}}, Range{Start: minT, End: maxT, Agg: Sum, Bucket: 3},
			[]Point{{minT, f(3)}, {minT + 2, f(4)}}, false},
		{"bucket reaching MaxInt64", []pt{{maxT - 9, f(1)}, {maxT - 1, f(2)}, {maxT, f(4)}}, Range{Start: minT, End: maxT, Agg: Sum, Bucket: 10},
			[]Point{{maxT - 17, f(1)}, {maxT - 7, f(2)}}, false},
		{"widest bucket", []pt{{minT, f(1)}, {-1, f(2)}, {0, f(4)}, {maxT - 1, f(8)}}, Range{Start: minT, End: maxT, Agg: Sum, Bucket: maxT},
			[]Point{{minT, f(1)}, {-maxT, f(2)}, {0, f(12)}}, false},
		{"bucket limit and more", []pt{{1, f(1)}, {11, f(2)}, {21, f(4)}}, Range{Start: 0, End: 100, Limit: 2, Agg: Sum, Bucket: 10},
			[]Point{{0, f(1)}, {10, f(2)}}, true},
		{"bucket limit exactly reached is not more", []pt{{1, f(1)}, {11, f(2)}, {12, f(4)}}, Range{Start: 0, End: 100, Limit: 2, Agg: Sum, Bucket: 10},
			[]Point{{0, f(1)}, {10, f(6)}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, more := run(build(c.pts), c.r)
			if !samePoints(got, c.want, c.r.Agg) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
			if more != c.more {
				t.Fatalf("more = %v, want %v", more, c.more)
			}
		})
	}
}

// TestPageReuse: a page keeps its buffer from read to read and never grows it past the limit.
func TestPageReuse(t *testing.T) {
	var pts []pt
	for i := range 10_000 {
		pts = append(pts, pt{int64(i), f(float64(i))})
	}
	s := build(pts)
	p := &Page{Range: Range{Start: minT, End: maxT, Limit: 1000}}
	p.Run(s.Range(p.Range.Start, p.Range.End))
	if len(p.Points) != 1000 || !p.More || cap(p.Points) > 1000 {
		t.Fatalf("len %d cap %d more %v", len(p.Points), cap(p.Points), p.More)
	}
	p.Range = Range{Start: 9_000, End: maxT, Limit: 1000, Agg: Avg, Bucket: 7}
	if allocs := testing.AllocsPerRun(10, func() { p.Run(s.Range(p.Range.Start, p.Range.End)) }); allocs != 0 {
		t.Fatalf("a read into a grown page allocates %.0f times", allocs)
	}
	if len(p.Points) != 144 || p.More { // buckets 8995 (1285×7) to 9996 (1428×7)
		t.Fatalf("buckets: %d, more %v", len(p.Points), p.More)
	}
}

// TestRunMatchesReference is a model check: random series (timestamps anywhere in int64,
// values with NaN payloads, zeros of both signs and infinities) and random ranges, limits,
// aggregations and buckets, against the straightforward reference below; every page of a
// paging walk is checked, and the pages of a walk together give the one-page answer.
func TestRunMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for trial := range 200 {
		pts := randomSeries(r)
		s := build(pts)
		for range 40 {
			q := randomRange(r, pts)
			got, more := run(s, q)
			want, wantMore := reference(pts, q)
			if !samePoints(got, want, q.Agg) || more != wantMore {
				t.Fatalf("trial %d, %+v over %d points:\ngot  %v more %v\nwant %v more %v", trial, q, len(pts), got, more, want, wantMore)
			}
			checkPaging(t, s, q)
		}
	}
}

// checkPaging walks q's pages as a client does (next start: last timestamp + 1, or last bucket
// start + bucket) and compares their concatenation with one page holding everything. A walk
// that pages right after a bucket clamped at MinInt64 resumes at MinInt64 + bucket, as the
// contract says, which is past the next bucket's real start: such walks are not compared.
func checkPaging(t *testing.T, s *storage.Series, q Range) {
	t.Helper()
	if !q.Valid() {
		return
	}
	all := q
	all.Limit = MaxLimit
	want, wantMore := run(s, all)
	if wantMore {
		return
	}
	var got []Point
	for page := q; ; {
		pg, more := run(s, page)
		got = append(got, pg...)
		if !more {
			break
		}
		last := pg[len(pg)-1].TS
		if q.Agg == Raw {
			page.Start = last + 1
			continue
		}
		if last == minT && !exactAtMin(q.Bucket) {
			return
		}
		page.Start = last + q.Bucket
	}
	if !samePoints(got, want, q.Agg) {
		t.Fatalf("%+v: pages give %v, one page %v", q, got, want)
	}
}

func exactAtMin(bucket int64) bool { return (math.MinInt64 % bucket) == 0 }

// samePoints compares exactly, except that a NaN sum or average matches any NaN: how NaN
// payloads propagate through float addition is the hardware's business, not the contract's.
func samePoints(a, b []Point, agg Aggregation) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].TS != b[i].TS {
			return false
		}
		x, y := math.Float64frombits(a[i].Value), math.Float64frombits(b[i].Value)
		if (agg == Sum || agg == Avg) && math.IsNaN(x) && math.IsNaN(y) {
			continue
		}
		if a[i].Value != b[i].Value {
			return false
		}
	}
	return true
}

var specialValues = []uint64{0, negZero, nanA, nanB, posInf, negInf, f(1), f(-1), f(2.5), f(1e300), f(-1e300), 1}

func randomSeries(r *rand.Rand) []pt {
	var pts []pt
	ts := []int64{minT, -1_000_000, -1000, 0, maxT - 5000}[r.IntN(5)]
	n := r.IntN(600)
	for i := 0; i < n; i++ {
		var v uint64
		switch r.IntN(3) {
		case 0:
			v = specialValues[r.IntN(len(specialValues))]
		case 1:
			v = f(float64(r.IntN(20) - 10))
		default:
			v = r.Uint64()
		}
		pts = append(pts, pt{ts, v})
		step := int64(1 + r.IntN(1+[]int{0, 3, 100, 10000}[r.IntN(4)]))
		if r.IntN(50) == 0 {
			step = int64(r.Uint64() >> 2)
		}
		if ts > maxT-step {
			break
		}
		ts += step
	}
	return pts
}

func randomRange(r *rand.Rand, pts []pt) Range {
	bound := func() int64 {
		if len(pts) > 0 && r.IntN(3) > 0 {
			return pts[r.IntN(len(pts))].TS + int64(r.IntN(5)) - 2
		}
		return []int64{minT, maxT, 0, -1, int64(r.Uint64())}[r.IntN(5)]
	}
	q := Range{Start: bound(), End: bound(), Limit: []int{0, 1, 2, 3, 7, 50, 1000, MaxLimit + 1}[r.IntN(8)]}
	if r.IntN(3) > 0 && q.End < q.Start {
		q.Start, q.End = q.End, q.Start
	}
	q.Agg = Aggregation(r.IntN(9)) // 8 is invalid
	if q.Agg != Raw {
		q.Bucket = []int64{1, 2, 3, 7, 10, 100, 1000, 1 << 40, maxT, 0, -3}[r.IntN(11)]
	} else if r.IntN(10) == 0 {
		q.Bucket = 5 // invalid
	}
	return q
}

// reference answers q the straightforward way: filter, group by floor with big integers,
// aggregate each group from its slice of values.
func reference(pts []pt, q Range) ([]Point, bool) {
	if !q.Valid() {
		return nil, false
	}
	limit := q.Limit
	if limit < 1 || limit > MaxLimit {
		limit = MaxLimit
	}
	var in []pt
	for _, p := range pts {
		if q.Start <= p.TS && p.TS < q.End {
			in = append(in, p)
		}
	}
	var out []Point
	if q.Agg == Raw {
		out = append(out, in...)
	} else {
		for i := 0; i < len(in); {
			j := i
			for j < len(in) && refStart(in[j].TS, q.Bucket) == refStart(in[i].TS, q.Bucket) {
				j++
			}
			out = append(out, Point{refStart(in[i].TS, q.Bucket), refAggregate(q.Agg, in[i:j])})
			i = j
		}
	}
	if len(out) > limit {
		return out[:limit], true
	}
	return out, false
}

// refStart is floor(ts / width) × width with big integers, clamped to MinInt64.
func refStart(ts, width int64) int64 {
	w := big.NewInt(width)
	q := new(big.Int).Div(big.NewInt(ts), w) // Euclidean division: floor for width > 0
	start := q.Mul(q, w)
	if start.Cmp(big.NewInt(math.MinInt64)) < 0 {
		return math.MinInt64
	}
	return start.Int64()
}

func refAggregate(agg Aggregation, b []pt) uint64 {
	val := func(i int) float64 { return math.Float64frombits(b[i].Value) }
	switch agg {
	case Sum, Avg:
		sum := val(0)
		for i := 1; i < len(b); i++ {
			sum += val(i)
		}
		if agg == Avg {
			sum /= float64(len(b))
		}
		return math.Float64bits(sum)
	case Count:
		return math.Float64bits(float64(len(b)))
	case Min, Max:
		best := -1
		for i := range b {
			if math.IsNaN(val(i)) {
				continue
			}
			if best < 0 || (agg == Min && val(i) < val(best)) || (agg == Max && val(i) > val(best)) {
				best = i
			}
		}
		if best < 0 {
			best = 0
		}
		return b[best].Value
	case First:
		return b[0].Value
	}
	return b[len(b)-1].Value
}
