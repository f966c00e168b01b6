// Package query answers range reads of one series a page at a time: the raw points of a time
// range, or their aggregation into fixed-width buckets (docs/protocol.md, E4 QUERY_RANGE). It
// reads a series in place through its range iterator and aggregates while it decodes:
// it never copies the points of the range, and stops one point after the page is full.
//
// It knows nothing of any wire format; the engine hands it a Page, and its series' actor runs
// it, so the series cannot change meanwhile.
package query

import (
	"math"
)

// Point is one answer of a range read: a point's timestamp and exact value bits, or a bucket's
// start and its aggregate's bits.
type Point struct {
	TS    int64
	Value uint64 // IEEE-754 bits
}

// Aggregation says what a bucket's points become. The numbering is the wire's (E4), but
// front ends map their own codes explicitly.
type Aggregation uint8

// Aggregations.
const (
	Raw   Aggregation = iota // the points themselves, no buckets
	Avg                      // Sum / Count
	Sum                      // float64 sum in time order, starting from the first value
	Min                      // the smallest non-NaN point (the first if all are NaN), earliest on ties
	Max                      // the largest non-NaN point (the first if all are NaN), earliest on ties
	Count                    // the number of points, as a float64
	First                    // the oldest point
	Last                     // the newest point
)

// MaxLimit is the most points or buckets one page holds (E4's 65,536).
const MaxLimit = 65536

// Range is one range read: the points with Start <= ts < End, at most Limit of them (or of
// their buckets) per page.
type Range struct {
	Start, End int64
	Limit      int // 1..MaxLimit; any other value means MaxLimit
	Agg        Aggregation
	Bucket     int64 // bucket width: 0 for Raw, > 0 for the others
}

// Valid reports whether the aggregation is known and the bucket fits it: 0 for Raw, > 0 for
// the others.
func (r *Range) Valid() bool {
	switch {
	case r.Agg == Raw:
		return r.Bucket == 0
	case r.Agg <= Last:
		return r.Bucket > 0
	}
	return false
}

func (r *Range) limit() int {
	if r.Limit < 1 || r.Limit > MaxLimit {
		return MaxLimit
	}
	return r.Limit
}

// Page is one range read and the reusable buffer its answer lands in. A caller keeps a Page,
// sets Range, and reads Points and More once the read has run; Points keeps its capacity from
// read to read, and never grows beyond the largest limit asked for.
type Page struct {
	Range  Range
	Points []Point // the answer: points or buckets, oldest first
	More   bool    // further points (or buckets) in range follow the last one in Points
	batch  batched // Run's reader of a Reader's points, a run at a time
}

// Run answers p.Range from s into p.Points and p.More. An invalid range answers nothing.
//
// Raw: the points themselves; the next page starts at the last timestamp + 1. Buckets: a point
// at ts belongs to the bucket starting at floor(ts/Bucket)×Bucket, clamped to MinInt64 where
// that start would fall below it; only the points inside the range count; one answer per
// non-empty bucket, timestamped with its start; the next page starts at the last bucket's
// start + Bucket.
func (p *Page) Run(r Reader) {
	p.Points, p.More = p.Points[:0], false
	if !p.Range.Valid() || r == nil {
		return
	}
	it := &p.batch
	it.r = r
	defer it.reset()
	if p.Range.Agg == Raw {
		p.raw(it, p.Range.limit())
		return
	}
	p.buckets(it, p.Range.limit())
}

// Reader reads a series' points with Range.Start <= ts < Range.End, oldest first, decoding as
// it goes (storage.RangeIter): Read stores the next points in dst and returns how many, fewer
// than len(dst) only once there are no more. A run of points a call is several times faster a
// point to decode than one at a time.
type Reader interface {
	Read(dst []Point) int
}

// batched walks a Reader's points one at a time for raw and buckets, reading them a run at a
// time. It lives in the Page, so its buffer costs no allocation per read.
type batched struct {
	r    Reader
	buf  [128]Point
	i, n int // buf[i] is the current point, buf[:n] the run read
}

func (b *batched) Next() bool {
	if b.i+1 < b.n {
		b.i++
		return true
	}
	if b.n < len(b.buf) && b.n > 0 { // the last run was short: the reader has no more
		return false
	}
	b.i, b.n = 0, b.r.Read(b.buf[:])
	return b.n > 0
}

func (b *batched) At() (ts int64, bits uint64) {
	p := &b.buf[b.i]
	return p.TS, p.Value
}

// reset forgets the reader and its points, so the Page holds on to neither.
func (b *batched) reset() { b.r, b.i, b.n = nil, 0, 0 }

func (p *Page) raw(it *batched, limit int) {
	for it.Next() {
		if len(p.Points) == limit {
			p.More = true
			return
		}
		ts, v := it.At()
		p.push(Point{ts, v}, limit)
	}
}

func (p *Page) buckets(it *batched, limit int) {
	var (
		a         acc
		open      bool  // a bucket has points
		start     int64 // its start, clamped
		next      int64 // the next bucket's start
		unbounded bool  // the next bucket would start past MaxInt64: every later point is in this one
	)
	for it.Next() {
		ts, v := it.At()
		if open && (unbounded || ts < next) {
			a.add(v)
			continue
		}
		if open {
			p.push(Point{start, a.result()}, limit)
		}
		if len(p.Points) == limit {
			p.More = true
			return
		}
		start, next, unbounded = BucketOf(ts, p.Range.Bucket)
		a.begin(p.Range.Agg, v)
		open = true
	}
	if open {
		p.push(Point{start, a.result()}, limit)
	}
}

// push appends pt, growing the buffer geometrically but never past limit.
func (p *Page) push(pt Point, limit int) {
	if len(p.Points) == cap(p.Points) {
		grown := make([]Point, len(p.Points), min(limit, max(2*cap(p.Points), 256)))
		copy(grown, p.Points)
		p.Points = grown
	}
	p.Points = append(p.Points, pt)
}

// BucketOf returns the start of ts's bucket of the given width (> 0): floor(ts/width)×width,
// clamped to MinInt64 where it would fall below; and the start of the next bucket, unless it
// would pass MaxInt64 (unbounded). Floor, not truncation, so negative timestamps fall into the
// bucket that starts at or before them.
func BucketOf(ts, width int64) (start, next int64, unbounded bool) {
	r := ts % width
	if r < 0 {
		r += width // floor modulo: 0 <= r < width
	}
	// ts - r falls below MinInt64 exactly when ts's distance from MinInt64, ts + 2^63 (which
	// flipping the sign bit gives as a uint64), is under r.
	if uint64(ts)^(1<<63) < uint64(r) {
		start = math.MinInt64
	} else {
		start = ts - r
	}
	step := width - r // 1..width
	if ts > math.MaxInt64-step {
		return start, 0, true
	}
	return start, ts + step, false
}

// acc aggregates one bucket's points, oldest first.
type acc struct {
	agg  Aggregation
	n    uint64
	sum  float64
	bits uint64  // Min, Max, First, Last: the chosen point's exact bits
	f    float64 // Min, Max: its value
}

func (a *acc) begin(agg Aggregation, v uint64) {
	f := math.Float64frombits(v)
	*a = acc{agg: agg, n: 1, sum: f, bits: v, f: f}
}

func (a *acc) add(v uint64) {
	a.n++
	switch a.agg {
	case Avg, Sum:
		a.sum += math.Float64frombits(v)
	case Min:
		// A NaN compares false, so it is skipped; the first point stays only while every
		// point so far is NaN. A tie is not smaller: the earliest point stays.
		if f := math.Float64frombits(v); f < a.f || (math.IsNaN(a.f) && !math.IsNaN(f)) {
			a.bits, a.f = v, f
		}
	case Max:
		if f := math.Float64frombits(v); f > a.f || (math.IsNaN(a.f) && !math.IsNaN(f)) {
			a.bits, a.f = v, f
		}
	case Last:
		a.bits = v
	}
}

func (a *acc) result() uint64 {
	switch a.agg {
	case Avg:
		return math.Float64bits(a.sum / float64(a.n))
	case Sum:
		return math.Float64bits(a.sum)
	case Count:
		return math.Float64bits(float64(a.n))
	}
	return a.bits // Min, Max, First, Last: the point's exact bits
}
