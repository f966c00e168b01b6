package e2e

import (
	"bytes"
	"math"
	"math/big"
	"math/rand"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/pkg/protocol"
)

// Tests of the read-side extensions E1 LIST_SERIES, E2 SERIES_INFO and E4 QUERY_RANGE
// (docs/protocol.md, "Extensions"), against a real server on loopback.

const (
	minT, maxT = math.MinInt64, math.MaxInt64

	nanPayload = 0x7FF8DEADBEEF0001
	nanSignal  = 0xFFF400000000C0DE
	negZero    = 1 << 63
)

var (
	posInf = math.Float64bits(math.Inf(1))
	negInf = math.Float64bits(math.Inf(-1))
)

func fb(x float64) uint64 { return math.Float64bits(x) }

// rp is a range answer's point (protocol.RangePoint, as a local type for short literals).
type rp struct {
	TS   int64
	Bits uint64
}

func listP(start protocol.Label, limit uint32) []byte {
	return protocol.EncodeListSeries(nil, start, limit)
}

func rangeP(l protocol.Label, start, end int64, limit uint32, agg protocol.Aggregation, bucket int64) []byte {
	return protocol.EncodeQueryRange(nil, &protocol.QueryRange{Label: l, Start: start, End: end, Limit: limit,
		Aggregation: agg, Bucket: bucket})
}

// list sends a LIST_SERIES and decodes its OK.
func (c *rawConn) list(start protocol.Label, limit uint32) (bool, []protocol.Label) {
	c.t.Helper()
	return c.decodeList(c.call(protocol.OpListSeries, listP(start, limit)))
}

func (c *rawConn) decodeList(a answer) (bool, []protocol.Label) {
	c.t.Helper()
	if a.op != protocol.OpOK {
		c.t.Fatalf("LIST_SERIES answered %v", a)
	}
	more, labels, err := protocol.DecodeListAnswer(a.payload, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return more, labels
}

// queryRange sends a QUERY_RANGE and decodes its OK.
func (c *rawConn) queryRange(l protocol.Label, start, end int64, limit uint32, agg protocol.Aggregation, bucket int64) (bool, []rp) {
	c.t.Helper()
	return c.decodeRange(c.call(protocol.OpQueryRange, rangeP(l, start, end, limit, agg, bucket)))
}

func (c *rawConn) decodeRange(a answer) (bool, []rp) {
	c.t.Helper()
	if a.op != protocol.OpOK {
		c.t.Fatalf("QUERY_RANGE answered %v", a)
	}
	more, pts, err := protocol.DecodeRangeAnswer(a.payload, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	out := make([]rp, len(pts))
	for i, p := range pts {
		out[i] = rp(p)
	}
	return more, out
}

// info sends a SERIES_INFO and decodes its OK.
func (c *rawConn) info(l protocol.Label) (uint64, int64, int64) {
	c.t.Helper()
	a := c.call(protocol.OpSeriesInfo, series(l))
	if a.op != protocol.OpOK {
		c.t.Fatalf("SERIES_INFO answered %v", a)
	}
	n, first, last, err := protocol.DecodeSeriesInfoAnswer(a.payload)
	if err != nil {
		c.t.Fatal(err)
	}
	return n, first, last
}

// create makes the series, then appends pts in pipelined batches.
func (c *rawConn) create(l protocol.Label, pts []rp) {
	c.t.Helper()
	c.expect(c.call(protocol.OpCreateSeries, series(l)), okAnswer)
	c.appendAll(l, pts)
}

// appendAll appends pts to l, pipelined 2,000 at a time, each answered OK.
func (c *rawConn) appendAll(l protocol.Label, pts []rp) {
	c.t.Helper()
	for len(pts) > 0 {
		k := min(len(pts), 2000)
		var b []byte
		for _, p := range pts[:k] {
			b = protocol.AppendFrame(b, protocol.OpAppend, appendBits(l, p.TS, p.Bits))
		}
		c.sendAsync(b)
		for range k {
			c.expect(c.read(), okAnswer)
		}
		pts = pts[k:]
	}
}

func ones() (l protocol.Label) {
	for i := range l {
		l[i] = 0xFF
	}
	return l
}

func sortLabels(ls []protocol.Label) []protocol.Label {
	ls = slices.Clone(ls)
	slices.SortFunc(ls, func(a, b protocol.Label) int { return bytes.Compare(a[:], b[:]) })
	return ls
}

// pageAll lists every label from start as a client pages: each page starts at the successor
// of the last label of the one before.
func (c *rawConn) pageAll(start protocol.Label, limit uint32) (all []protocol.Label, pages int) {
	c.t.Helper()
	for {
		more, page := c.list(start, limit)
		all = append(all, page...)
		pages++
		if !more {
			return all, pages
		}
		next, ok := page[len(page)-1].Successor()
		if !ok {
			c.t.Fatal("more after the all-0xFF label")
		}
		start = next
	}
}

// edgeLabels are labels with 0x00 and 0xFF bytes where byte-wise order and string order or
// zero-padding could disagree.
func edgeLabels() []protocol.Label {
	return []protocol.Label{ones(), {}, {31: 1}, {0: 0xFF}, {0: 0x7F, 31: 0xFF}, {0: 0x80},
		label("a"), label("a\x00b"), label("a\x01"), label("ab"), {0: 'a', 31: 0xFF}, {30: 0xFF, 31: 0xFF}}
}

func TestE1_LabelsAscendingByteWise(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	if more, labels := c.list(protocol.Label{}, 0); more || len(labels) != 0 {
		t.Fatalf("empty catalog: more %v, %d labels", more, len(labels))
	}
	in := edgeLabels()
	for _, l := range in {
		c.expect(c.call(protocol.OpCreateSeries, series(l)), okAnswer)
	}
	want := sortLabels(in)
	more, got := c.list(protocol.Label{}, 0)
	if more || !slices.Equal(got, want) {
		t.Fatalf("listing:\n got %x\nwant %x", got, want)
	}
	t.Run("start is inclusive", func(t *testing.T) {
		c := c.with(t)
		for i, l := range want {
			more, got := c.list(l, 0)
			if more || !slices.Equal(got, want[i:]) {
				t.Fatalf("from %x: %x", l, got)
			}
		}
	})
	t.Run("start between labels", func(t *testing.T) {
		c := c.with(t)
		more, got := c.list(protocol.Label{31: 2}, 1) // after {31: 1}, before {30: 0xFF, 31: 0xFF}
		if !more || !slices.Equal(got, []protocol.Label{{30: 0xFF, 31: 0xFF}}) {
			t.Fatalf("got %x more %v", got, more)
		}
	})
	t.Run("all 0xFF is last and has no successor", func(t *testing.T) {
		c := c.with(t)
		more, got := c.list(ones(), 10)
		if more || !slices.Equal(got, []protocol.Label{ones()}) {
			t.Fatalf("from all-0xFF: %x more %v", got, more)
		}
		if _, ok := ones().Successor(); ok {
			t.Fatal("all-0xFF has a successor")
		}
	})
}

func TestE1_LimitZeroOrAbove4096Means4096(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	const n = protocol.MaxListLimit + 5
	var b []byte
	var all []protocol.Label
	for i := range n {
		l := protocol.Label{0: byte(i >> 8), 1: byte(i), 31: 0xFF}
		all = append(all, l)
		b = protocol.AppendFrame(b, protocol.OpCreateSeries, series(l))
	}
	c.sendAsync(b)
	for range n {
		c.expect(c.read(), okAnswer)
	}
	all = sortLabels(all)
	cases := []struct {
		limit uint32
		want  int
		more  bool
	}{
		{0, 4096, true}, {4096, 4096, true}, {4097, 4096, true}, {1 << 20, 4096, true}, {math.MaxUint32, 4096, true},
		{1, 1, true}, {4095, 4095, true},
	}
	for _, tc := range cases {
		more, got := c.list(protocol.Label{}, tc.limit)
		if more != tc.more || !slices.Equal(got, all[:tc.want]) {
			t.Fatalf("limit %d: %d labels more %v, want %d more %v", tc.limit, len(got), more, tc.want, tc.more)
		}
	}
	// The last five: a page that ends exactly at the last label has more = 0.
	if more, got := c.list(all[n-5], 5); more || !slices.Equal(got, all[n-5:]) {
		t.Fatalf("last page: %d labels more %v", len(got), more)
	}
}

func TestE1_PagingWithSuccessor(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	in := edgeLabels()
	for _, l := range in {
		c.expect(c.call(protocol.OpCreateSeries, series(l)), okAnswer)
	}
	want := sortLabels(in)
	for _, limit := range []uint32{1, 2, 3, 5, 11, 12, 13} {
		got, pages := c.pageAll(protocol.Label{}, limit)
		if !slices.Equal(got, want) {
			t.Fatalf("limit %d: pages give %x", limit, got)
		}
		if wantPages := (len(want) + int(limit) - 1) / int(limit); pages != wantPages && pages != wantPages+1 {
			t.Fatalf("limit %d: %d pages for %d labels", limit, pages, len(want))
		}
	}
}

// TestE1_CreatesAndDropsDuringPaging pages through the catalog, one small page at a time,
// while two other connections keep creating and dropping other series: each series that
// exists for the whole listing appears exactly once, and the labels ascend across pages.
func TestE1_CreatesAndDropsDuringPaging(t *testing.T) {
	srv := start(t)
	setup := connect(t, srv.Addr())
	rng := rand.New(rand.NewSource(9))
	random := func() (l protocol.Label) {
		for i := range l {
			l[i] = []byte{0x00, 0x7F, 0xFF}[rng.Intn(3)]
		}
		return l
	}
	stable := map[protocol.Label]bool{}
	for len(stable) < 200 {
		l := random()
		if !stable[l] {
			stable[l] = true
			setup.expect(setup.call(protocol.OpCreateSeries, series(l)), okAnswer)
		}
	}
	var churn [2][]protocol.Label
	for w := range churn {
		for len(churn[w]) < 100 {
			if l := random(); !stable[l] && !slices.Contains(churn[0], l) && !slices.Contains(churn[1], l) {
				churn[w] = append(churn[w], l)
			}
		}
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var changes atomic.Int64
	for w := range churn {
		cc := connect(t, srv.Addr())
		wg.Add(1)
		go func(mine []protocol.Label) {
			defer wg.Done()
			for !stop.Load() {
				for _, l := range mine {
					if a, err := cc.roundTrip(protocol.OpCreateSeries, series(l)); err != nil || a.op != protocol.OpOK {
						t.Errorf("churn create: %v %v", a, err)
						return
					}
					if a, err := cc.roundTrip(protocol.OpDropSeries, series(l)); err != nil || a.op != protocol.OpOK {
						t.Errorf("churn drop: %v %v", a, err)
						return
					}
					changes.Add(2)
				}
			}
		}(churn[w])
	}
	c := connect(t, srv.Addr())
	for round := range 20 {
		got, _ := c.pageAll(protocol.Label{}, uint32(1+round%7))
		seen := map[protocol.Label]int{}
		for i, l := range got {
			if i > 0 && bytes.Compare(got[i-1][:], l[:]) >= 0 {
				t.Fatalf("round %d: %x after %x", round, l, got[i-1])
			}
			seen[l]++
		}
		for l := range stable {
			if seen[l] != 1 {
				t.Fatalf("round %d: a series that existed throughout was listed %d times", round, seen[l])
			}
		}
	}
	stop.Store(true)
	wg.Wait()
	if changes.Load() == 0 {
		t.Fatal("nothing was created or dropped during the listings")
	}
}

// with is c reporting to t, for subtests (FailNow belongs to the test that calls it).
func (c *rawConn) with(t testing.TB) *rawConn {
	d := *c
	d.t = t
	return &d
}

// roundTrip is call without Fatal, for helper goroutines.
func (c *rawConn) roundTrip(op protocol.Opcode, payload []byte) (answer, error) {
	if _, err := c.nc.Write(protocol.AppendFrame(nil, op, payload)); err != nil {
		return answer{}, err
	}
	return c.tryRead()
}

// TestE1_SeesEarlierRequestsOfItsConnection: a listing pipelined after a CREATE and a DROP on
// the same connection sees both, though the drop takes effect on its series' actor.
func TestE1_SeesEarlierRequestsOfItsConnection(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	for round := range 50 {
		x, y := label("x"+string(rune('a'+round%26))), label("y")
		c.expect(c.call(protocol.OpCreateSeries, series(y)), okAnswer)
		var b []byte
		b = protocol.AppendFrame(b, protocol.OpCreateSeries, series(x))
		b = protocol.AppendFrame(b, protocol.OpAppend, appendP(y, 1, 1))
		b = protocol.AppendFrame(b, protocol.OpDropSeries, series(y))
		b = protocol.AppendFrame(b, protocol.OpListSeries, listP(protocol.Label{}, 0))
		b = protocol.AppendFrame(b, protocol.OpDropSeries, series(x))
		c.sendRaw(b)
		for range 3 {
			c.expect(c.read(), okAnswer)
		}
		if _, got := c.decodeList(c.read()); !slices.Equal(got, []protocol.Label{x}) {
			t.Fatalf("round %d: listing after create x, drop y: %v", round, got)
		}
		c.expect(c.read(), okAnswer)
	}
}

func TestE2_SeriesInfo(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	l := label("info")
	c.expect(c.call(protocol.OpSeriesInfo, series(l)), errAnswer(protocol.StatusSeriesNotFound))
	c.expect(c.call(protocol.OpCreateSeries, series(l)), okAnswer)
	if n, first, last := c.info(l); n != 0 || first != 0 || last != 0 {
		t.Fatalf("empty series: %d %d %d", n, first, last)
	}
	c.expect(c.call(protocol.OpAppend, appendP(l, minT, 1)), okAnswer)
	if n, first, last := c.info(l); n != 1 || first != minT || last != minT {
		t.Fatalf("one point: %d %d %d", n, first, last)
	}
	// Pipelined: each SERIES_INFO runs after the appends before it on the series.
	var b []byte
	for i := range 300 {
		b = protocol.AppendFrame(b, protocol.OpAppend, appendP(l, int64(-1000+i*7), 0))
		b = protocol.AppendFrame(b, protocol.OpSeriesInfo, series(l))
	}
	c.sendRaw(b)
	for i := range 300 {
		c.expect(c.read(), okAnswer)
		a := c.read()
		n, first, last, err := protocol.DecodeSeriesInfoAnswer(a.payload)
		if a.op != protocol.OpOK || err != nil || n != uint64(i+2) || first != minT || last != int64(-1000+i*7) {
			t.Fatalf("after append %d: %v %d %d %d %v", i, a, n, first, last, err)
		}
	}
	c.expect(c.call(protocol.OpAppend, appendP(l, 5, 0)), errAnswer(protocol.StatusOutOfOrder))
	if n, _, last := c.info(l); n != 301 || last != -1000+299*7 {
		t.Fatal("a refused append was counted")
	}
	c.expect(c.call(protocol.OpDropSeries, series(l)), okAnswer)
	c.expect(c.call(protocol.OpSeriesInfo, series(l)), errAnswer(protocol.StatusSeriesNotFound))
	c.expect(c.call(protocol.OpCreateSeries, series(l)), okAnswer)
	if n, first, last := c.info(l); n != 0 || first != 0 || last != 0 {
		t.Fatalf("recreated series: %d %d %d", n, first, last)
	}
}

func TestE2_SurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	onDisk := func(c *config.Config) { c.DataDir = dir }
	srv := startOnDisk(t, onDisk)
	c := connect(t, srv.Addr())
	l := label("kept")
	c.create(l, []rp{{TS: -5, Bits: 1}, {TS: 3, Bits: 2}, {TS: maxT, Bits: 3}})
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	srv = startOnDisk(t, onDisk)
	c = connect(t, srv.Addr())
	if n, first, last := c.info(l); n != 3 || first != -5 || last != maxT {
		t.Fatalf("after restart: %d %d %d", n, first, last)
	}
	if _, got := c.list(protocol.Label{}, 0); !slices.Equal(got, []protocol.Label{l}) {
		t.Fatalf("listing after restart: %v", got)
	}
}

func TestE4_RawExactBits(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	l := label("bits")
	pts := []rp{{minT, nanPayload}, {-1, negZero}, {0, posInf}, {1, negInf}, {2, nanSignal}, {3, 1}, {4, fb(math.MaxFloat64)}, {maxT - 1, 0x7FF0000000000001}}
	c.create(l, pts)
	more, got := c.queryRange(l, minT, maxT, 0, protocol.AggRaw, 0)
	if more || !slices.Equal(got, pts) {
		t.Fatalf("raw: %x", got)
	}
}

func TestE4_RangeIsHalfOpen(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	l := label("half")
	pts := []rp{{10, 1}, {20, 2}, {30, 3}}
	c.create(l, pts)
	cases := []struct {
		start, end int64
		want       []rp
	}{
		{10, 30, pts[:2]}, {11, 31, pts[1:]}, {20, 21, pts[1:2]}, {21, 30, nil}, {minT, 10, nil}, {31, maxT, nil}, {minT, maxT, pts},
	}
	for _, tc := range cases {
		if more, got := c.queryRange(l, tc.start, tc.end, 0, protocol.AggRaw, 0); more || !slices.Equal(got, tc.want) {
			t.Fatalf("[%d, %d): %v", tc.start, tc.end, got)
		}
	}
}

func TestE4_EndNotAfterStartIsEmpty(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	l := label("empty")
	c.create(l, []rp{{0, 1}, {5, 2}})
	for _, q := range [][2]int64{{5, 5}, {5, 0}, {maxT, minT}, {0, 0}} {
		for _, agg := range []protocol.Aggregation{protocol.AggRaw, protocol.AggSum} {
			bucket := int64(0)
			if agg != protocol.AggRaw {
				bucket = 10
			}
			c.expect(c.call(protocol.OpQueryRange, rangeP(l, q[0], q[1], 0, agg, bucket)), answer{protocol.OpOK, []byte{0, 0, 0, 0, 0}})
		}
	}
	// Still the operation: an unknown series is series_not_found.
	c.expect(c.call(protocol.OpQueryRange, rangeP(label("none"), 5, 5, 0, protocol.AggRaw, 0)), errAnswer(protocol.StatusSeriesNotFound))
}

// TestE4_EveryAggregation: one case per aggregation over the same two buckets.
func TestE4_EveryAggregation(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	l := label("agg")
	c.create(l, []rp{{0, fb(3)}, {1, fb(-1)}, {2, fb(4)}, {10, fb(2)}, {15, fb(2)}})
	cases := []struct {
		agg  protocol.Aggregation
		want []rp
	}{
		{protocol.AggAvg, []rp{{0, fb(2)}, {10, fb(2)}}},
		{protocol.AggSum, []rp{{0, fb(6)}, {10, fb(4)}}},
		{protocol.AggMin, []rp{{0, fb(-1)}, {10, fb(2)}}},
		{protocol.AggMax, []rp{{0, fb(4)}, {10, fb(2)}}},
		{protocol.AggCount, []rp{{0, fb(3)}, {10, fb(2)}}},
		{protocol.AggFirst, []rp{{0, fb(3)}, {10, fb(2)}}},
		{protocol.AggLast, []rp{{0, fb(4)}, {10, fb(2)}}},
	}
	for _, tc := range cases {
		t.Run(tc.agg.String(), func(t *testing.T) {
			c := c.with(t)
			if more, got := c.queryRange(l, minT, maxT, 0, tc.agg, 10); more || !slices.Equal(got, tc.want) {
				t.Fatalf("got %v", got)
			}
		})
	}
}

func TestE4_NegativeTimestampsFloor(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	l := label("floor")
	c.create(l, []rp{{-21, 1}, {-20, 2}, {-11, 3}, {-10, 4}, {-1, 5}, {0, 6}, {9, 7}})
	more, got := c.queryRange(l, minT, maxT, 0, protocol.AggCount, 10)
	want := []rp{{-30, fb(1)}, {-20, fb(2)}, {-10, fb(2)}, {0, fb(2)}}
	if more || !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestE4_ClampedAtMinInt64(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	l := label("clamp")
	c.create(l, []rp{{minT, fb(1)}, {minT + 1, fb(2)}, {minT + 2, fb(4)}, {-1, fb(8)}})
	// floor(MinInt64/3)×3 = MinInt64 - 1: clamped. The next bucket starts at MinInt64 + 2.
	more, got := c.queryRange(l, minT, maxT, 0, protocol.AggSum, 3)
	want := []rp{{minT, fb(3)}, {minT + 2, fb(4)}, {-3, fb(8)}}
	if more || !slices.Equal(got, want) {
		t.Fatalf("bucket 3: %v", got)
	}
	// The widest bucket: floor(MinInt64/MaxInt64) = -2, clamped; MinInt64 + 1 = -MaxInt64
	// starts the next bucket, [-MaxInt64, 0).
	more, got = c.queryRange(l, minT, maxT, 0, protocol.AggCount, maxT)
	want = []rp{{minT, fb(1)}, {-maxT, fb(3)}}
	if more || !slices.Equal(got, want) {
		t.Fatalf("widest bucket: %v", got)
	}
}

func TestE4_NaNRules(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	l := label("nan")
	// Bucket 0: NaN around numbers; bucket 10: NaN only.
	c.create(l, []rp{{0, nanPayload}, {1, fb(5)}, {2, nanSignal}, {3, fb(-2)}, {4, nanPayload}, {10, nanSignal}, {11, nanPayload}})
	cases := []struct {
		agg  protocol.Aggregation
		want []rp
	}{
		{protocol.AggMin, []rp{{0, fb(-2)}, {10, nanSignal}}},
		{protocol.AggMax, []rp{{0, fb(5)}, {10, nanSignal}}},
		{protocol.AggFirst, []rp{{0, nanPayload}, {10, nanSignal}}},
		{protocol.AggLast, []rp{{0, nanPayload}, {10, nanPayload}}},
		{protocol.AggCount, []rp{{0, fb(5)}, {10, fb(2)}}},
	}
	for _, tc := range cases {
		if more, got := c.queryRange(l, minT, maxT, 0, tc.agg, 10); more || !slices.Equal(got, tc.want) {
			t.Fatalf("%v: %x, want %x", tc.agg, got, tc.want)
		}
	}
	for _, agg := range []protocol.Aggregation{protocol.AggSum, protocol.AggAvg} {
		_, got := c.queryRange(l, minT, maxT, 0, agg, 10)
		if len(got) != 2 || !math.IsNaN(math.Float64frombits(got[0].Bits)) || !math.IsNaN(math.Float64frombits(got[1].Bits)) {
			t.Fatalf("%v over NaN: %x", agg, got)
		}
	}
}

func TestE4_TiesKeepTheEarliest(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	l := label("ties")
	// -0 and +0 compare equal: the earliest wins, and its exact bits are answered.
	c.create(l, []rp{{0, negZero}, {1, 0}, {2, fb(1)}, {10, 0}, {11, negZero}, {12, fb(-1)}})
	cases := []struct {
		agg  protocol.Aggregation
		want []rp
	}{
		{protocol.AggMin, []rp{{0, negZero}, {10, fb(-1)}}},
		{protocol.AggMax, []rp{{0, fb(1)}, {10, 0}}},
	}
	for _, tc := range cases {
		if _, got := c.queryRange(l, minT, maxT, 0, tc.agg, 10); !slices.Equal(got, tc.want) {
			t.Fatalf("%v: %x, want %x", tc.agg, got, tc.want)
		}
	}
	if _, got := c.queryRange(l, 0, 2, 0, protocol.AggMax, 10); !slices.Equal(got, []rp{{0, negZero}}) {
		t.Fatalf("max of -0, +0: %x", got)
	}
}

func TestE4_SumInTimeOrderFromTheFirstValue(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	l := label("sum")
	// 1e16 + 1 + 1 rounds to 1e16 at each step; any other order gives 1e16 + 2.
	c.create(l, []rp{{0, fb(1e16)}, {1, fb(1)}, {2, fb(1)}, {10, negZero}})
	_, got := c.queryRange(l, minT, maxT, 0, protocol.AggSum, 10)
	if want := []rp{{0, fb(1e16)}, {10, negZero}}; !slices.Equal(got, want) {
		t.Fatalf("sum: %x, want %x (a lone -0 sums to -0: the sum starts from the first value)", got, want)
	}
	_, got = c.queryRange(l, minT, maxT, 0, protocol.AggAvg, 10)
	if want := []rp{{0, fb(1e16 / 3)}, {10, negZero}}; !slices.Equal(got, want) {
		t.Fatalf("avg: %x, want %x", got, want)
	}
}

func TestE4_LimitMoreAndPagingRaw(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	l := label("many")
	const n = protocol.MaxRangeLimit + 4000
	pts := make([]rp, n)
	for i := range pts {
		pts[i] = rp{TS: int64(i*3) - 100_000, Bits: uint64(i) * 0x9E3779B97F4A7C15}
	}
	c.create(l, pts)
	cases := []struct {
		limit uint32
		want  int
		more  bool
	}{
		{0, 65536, true}, {65536, 65536, true}, {65537, 65536, true}, {math.MaxUint32, 65536, true}, {1, 1, true}, {1000, 1000, true},
	}
	for _, tc := range cases {
		more, got := c.queryRange(l, minT, maxT, tc.limit, protocol.AggRaw, 0)
		if more != tc.more || !slices.Equal(got, pts[:tc.want]) {
			t.Fatalf("limit %d: %d points more %v", tc.limit, len(got), more)
		}
	}
	// A page that ends exactly at the range's last point has more = 0.
	if more, got := c.queryRange(l, pts[n-10].TS, maxT, 10, protocol.AggRaw, 0); more || !slices.Equal(got, pts[n-10:]) {
		t.Fatalf("last page: %d points more %v", len(got), more)
	}
	// Paging: the next page starts at the last timestamp + 1.
	for _, limit := range []uint32{0, 7000} {
		var all []rp
		startTS := int64(minT)
		for {
			more, page := c.queryRange(l, startTS, maxT, limit, protocol.AggRaw, 0)
			all = append(all, page...)
			if !more {
				break
			}
			startTS = page[len(page)-1].TS + 1
		}
		if !slices.Equal(all, pts) {
			t.Fatalf("limit %d: paging gave %d points, want %d", limit, len(all), n)
		}
	}
}

func TestE4_LimitMoreAndPagingBuckets(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	l := label("buckets")
	var pts []rp
	for i := range 5000 {
		pts = append(pts, rp{TS: int64(i)*7 - 17_000, Bits: fb(float64(i % 13))})
	}
	c.create(l, pts)
	const bucket = 100
	_, whole := c.queryRange(l, minT, maxT, 0, protocol.AggSum, bucket)
	if len(whole) != 350 {
		t.Fatalf("%d buckets", len(whole))
	}
	for _, limit := range []uint32{1, 3, 64, 349, 350} {
		var all []rp
		startTS := int64(minT)
		for pages := 0; ; pages++ {
			more, page := c.queryRange(l, startTS, maxT, limit, protocol.AggSum, bucket)
			if len(page) > int(limit) {
				t.Fatalf("limit %d: a page of %d", limit, len(page))
			}
			all = append(all, page...)
			if !more {
				break
			}
			startTS = page[len(page)-1].TS + bucket // the next page starts at the last bucket's start + bucket
		}
		if !slices.Equal(all, whole) {
			t.Fatalf("limit %d: pages differ from one page", limit)
		}
	}
	// A range starting inside a bucket counts only its points in range.
	_, got := c.queryRange(l, -16_950, -16_800, 0, protocol.AggCount, bucket)
	want := []rp{{-17_000, fb(7)}, {-16_900, fb(14)}} // ts -16_950..-16_901 and -16_900..-16_807
	if !slices.Equal(got, want) {
		t.Fatalf("partial buckets: %v, want %v", got, want)
	}
}

func TestE4_InvalidCombinationsAreInvalidPayload(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	known, unknown := label("known"), label("unknown")
	c.create(known, []rp{{1, 1}})
	cases := []struct {
		name   string
		agg    protocol.Aggregation
		bucket int64
	}{
		{"raw with a bucket", protocol.AggRaw, 10},
		{"raw with a negative bucket", protocol.AggRaw, -1},
		{"avg with bucket 0", protocol.AggAvg, 0},
		{"last with a negative bucket", protocol.AggLast, -10},
		{"min with the smallest i64", protocol.AggMin, minT},
		{"aggregation 8", 8, 10},
		{"aggregation 255", 255, 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := c.with(t)
			for _, l := range []protocol.Label{known, unknown} { // malformed beats series_not_found
				for _, se := range [][2]int64{{0, 10}, {10, 0}} { // and an empty range
					c.expect(c.call(protocol.OpQueryRange, rangeP(l, se[0], se[1], 0, tc.agg, tc.bucket)), errAnswer(protocol.StatusInvalidPayload))
				}
			}
			c.expectOpen()
		})
	}
	t.Run("wrong lengths, unknown series", func(t *testing.T) {
		c := c.with(t)
		for _, n := range []int{0, 32, 60, 62, 122} {
			p := make([]byte, n)
			copy(p, unknown[:])
			c.expect(c.call(protocol.OpQueryRange, p), errAnswer(protocol.StatusInvalidPayload))
			c.expect(c.call(protocol.OpListSeries, p), errAnswer(protocol.StatusInvalidPayload))
			if n != 32 {
				c.expect(c.call(protocol.OpSeriesInfo, p), errAnswer(protocol.StatusInvalidPayload))
			}
		}
		c.expectOpen()
	})
}

func TestE4_UnknownSeriesIsNotFound(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	l := label("gone")
	c.expect(c.call(protocol.OpQueryRange, rangeP(l, 0, 10, 0, protocol.AggRaw, 0)), errAnswer(protocol.StatusSeriesNotFound))
	c.expect(c.call(protocol.OpQueryRange, rangeP(l, 0, 10, 0, protocol.AggMax, 5)), errAnswer(protocol.StatusSeriesNotFound))
	c.create(l, []rp{{1, 1}})
	c.expect(c.call(protocol.OpDropSeries, series(l)), okAnswer)
	c.expect(c.call(protocol.OpQueryRange, rangeP(l, 0, 10, 0, protocol.AggRaw, 0)), errAnswer(protocol.StatusSeriesNotFound))
}

// TestE4_PipelinedPagesInOrder pipelines full-size range pages with other requests in one
// write: every answer comes back in order (R1) though a connection holds one page at a time.
func TestE4_PipelinedPagesInOrder(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	a, b := label("pa"), label("pb")
	var pa, pb []rp
	for i := range protocol.MaxRangeLimit {
		pa = append(pa, rp{TS: int64(i), Bits: uint64(i)})
		pb = append(pb, rp{TS: int64(-i), Bits: uint64(i)})
	}
	slices.Reverse(pb)
	c.create(a, pa)
	c.create(b, pb)
	const rounds = 12
	var batch []byte
	for range rounds {
		batch = protocol.AppendFrame(batch, protocol.OpQueryRange, rangeP(a, minT, maxT, 0, protocol.AggRaw, 0))
		batch = protocol.AppendFrame(batch, protocol.OpPing, nil)
		batch = protocol.AppendFrame(batch, protocol.OpListSeries, listP(protocol.Label{}, 0))
		batch = protocol.AppendFrame(batch, protocol.OpQueryRange, rangeP(b, minT, maxT, 0, protocol.AggRaw, 0))
		batch = protocol.AppendFrame(batch, protocol.OpSeriesInfo, series(a))
	}
	c.sendAsync(batch)
	for i := range rounds {
		if more, got := c.decodeRange(c.read()); more || !slices.Equal(got, pa) {
			t.Fatalf("round %d: first page wrong (%d points)", i, len(got))
		}
		c.expect(c.read(), pongAnswer)
		if _, got := c.decodeList(c.read()); !slices.Equal(got, []protocol.Label{a, b}) {
			t.Fatalf("round %d: listing %v", i, got)
		}
		if more, got := c.decodeRange(c.read()); more || !slices.Equal(got, pb) {
			t.Fatalf("round %d: second page wrong (%d points)", i, len(got))
		}
		c.expect(c.read(), answer{protocol.OpOK, protocol.AppendSeriesInfoAnswer(nil, protocol.MaxRangeLimit, 0, protocol.MaxRangeLimit-1)[protocol.HeaderSize:]})
	}
}

// TestE4_SlowReaderOfPages: a client pipelines full-size pages and reads none of them. The
// server holds one page for it at a time (about 1 MiB), not one per request in its window
// (256 MiB), and closes it once a write has been blocked for the timeout (R10); others are
// not disturbed.
func TestE4_SlowReaderOfPages(t *testing.T) {
	srv := start(t, func(c *config.Config) { c.ConnectionTimeout = 2 * time.Second })
	setup := connect(t, srv.Addr())
	l := label("big")
	var pts []rp
	for i := range protocol.MaxRangeLimit {
		pts = append(pts, rp{TS: int64(i), Bits: uint64(i)})
	}
	setup.create(l, pts)
	before := heapAfterGC()
	c := connect(t, srv.Addr())
	frame := protocol.AppendFrame(nil, protocol.OpQueryRange, rangeP(l, minT, maxT, 0, protocol.AggRaw, 0))
	c.sendRaw(bytes.Repeat(frame, 300)) // 21 KB: the socket takes it all at once
	time.Sleep(time.Second)             // the server reads what it will and blocks writing
	if grown := int64(heapAfterGC()) - int64(before); grown > 32<<20 {
		t.Fatalf("the server's heap grew by %d MiB for one client not reading its pages", grown>>20)
	}
	// Keep asking without reading: TCP fills up and the server gives up on the blocked write.
	c.writeUntilClosed(frame)
	c = connect(t, srv.Addr())
	if n, _, _ := c.info(l); n != protocol.MaxRangeLimit {
		t.Fatalf("after the slow reader: %d points", n)
	}
}

// heapAfterGC is the live heap of this process, the in-process server's included.
func heapAfterGC() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestE4_ModelCheck compares QUERY_RANGE with a straightforward reference over random series
// and random parameters, page after page as a client walks them.
func TestE4_ModelCheck(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	rng := rand.New(rand.NewSource(42))
	var all [][]rp
	var labels []protocol.Label
	for s := range 6 {
		pts := randomPoints(rng)
		l := label("model" + string(rune('a'+s)))
		c.create(l, pts)
		all, labels = append(all, pts), append(labels, l)
	}
	for q := range 400 {
		s := rng.Intn(len(all))
		pts := all[s]
		start, end := randomBound(rng, pts), randomBound(rng, pts)
		if rng.Intn(3) > 0 && end < start {
			start, end = end, start
		}
		limit := []uint32{0, 1, 2, 5, 33, 1000, 70000}[rng.Intn(7)]
		agg := protocol.Aggregation(rng.Intn(8))
		bucket := int64(0)
		if agg != protocol.AggRaw {
			bucket = []int64{1, 2, 3, 10, 1000, 1 << 32, maxT}[rng.Intn(7)]
		}
		for page := 0; page < 50; page++ {
			more, got := c.queryRange(labels[s], start, end, limit, agg, bucket)
			want, wantMore := refRange(pts, start, end, limit, agg, bucket)
			if more != wantMore || !sameBits(got, want, agg) {
				t.Fatalf("query %d page %d: series %d [%d, %d) limit %d %v bucket %d:\n got %v more %v\nwant %v more %v",
					q, page, s, start, end, limit, agg, bucket, got, more, want, wantMore)
			}
			if !more {
				break
			}
			if agg == protocol.AggRaw {
				start = got[len(got)-1].TS + 1
			} else {
				start = got[len(got)-1].TS + bucket
			}
		}
	}
}

func randomPoints(rng *rand.Rand) []rp {
	var pts []rp
	ts := []int64{minT, -5_000_000, -3000, 0, maxT - 20_000}[rng.Intn(5)]
	specials := []uint64{0, negZero, nanPayload, nanSignal, posInf, negInf, fb(1), fb(-1), fb(0.1), fb(1e300)}
	for range rng.Intn(3000) {
		var v uint64
		switch rng.Intn(3) {
		case 0:
			v = specials[rng.Intn(len(specials))]
		case 1:
			v = fb(float64(rng.Intn(9) - 4))
		default:
			v = rng.Uint64()
		}
		pts = append(pts, rp{ts, v})
		step := int64(1 + rng.Intn([]int{1, 4, 50, 5000}[rng.Intn(4)]))
		if rng.Intn(200) == 0 {
			step = rng.Int63() >> 3
		}
		if ts > maxT-step {
			break
		}
		ts += step
	}
	return pts
}

func randomBound(rng *rand.Rand, pts []rp) int64 {
	if len(pts) > 0 && rng.Intn(3) > 0 {
		return pts[rng.Intn(len(pts))].TS + int64(rng.Intn(5)) - 2
	}
	return []int64{minT, maxT, 0, -1, rng.Int63() - rng.Int63()}[rng.Intn(5)]
}

// refRange is the reference: filter, group by floor with big integers, aggregate each group
// from its slice of values, then cut to the limit.
func refRange(pts []rp, start, end int64, limit uint32, agg protocol.Aggregation, bucket int64) ([]rp, bool) {
	var in []rp
	for _, p := range pts {
		if start <= p.TS && p.TS < end {
			in = append(in, p)
		}
	}
	out := in
	if agg != protocol.AggRaw {
		out = nil
		for i := 0; i < len(in); {
			j := i
			for j < len(in) && refBucket(in[j].TS, bucket) == refBucket(in[i].TS, bucket) {
				j++
			}
			out = append(out, rp{refBucket(in[i].TS, bucket), refAggregate(agg, in[i:j])})
			i = j
		}
	}
	n := protocol.RangeLimit(limit)
	if len(out) > n {
		return out[:n], true
	}
	return out, false
}

func refBucket(ts, width int64) int64 {
	w := big.NewInt(width)
	q := new(big.Int).Div(big.NewInt(ts), w) // Euclidean: floor for width > 0
	q.Mul(q, w)
	if q.Cmp(big.NewInt(minT)) < 0 {
		return minT
	}
	return q.Int64()
}

func refAggregate(agg protocol.Aggregation, b []rp) uint64 {
	v := func(i int) float64 { return math.Float64frombits(b[i].Bits) }
	switch agg {
	case protocol.AggSum, protocol.AggAvg:
		sum := v(0)
		for i := 1; i < len(b); i++ {
			sum += v(i)
		}
		if agg == protocol.AggAvg {
			sum /= float64(len(b))
		}
		return math.Float64bits(sum)
	case protocol.AggCount:
		return math.Float64bits(float64(len(b)))
	case protocol.AggMin, protocol.AggMax:
		best := 0
		for i := range b {
			switch {
			case math.IsNaN(v(i)):
			case math.IsNaN(v(best)), agg == protocol.AggMin && v(i) < v(best), agg == protocol.AggMax && v(i) > v(best):
				best = i
			}
		}
		return b[best].Bits
	case protocol.AggFirst:
		return b[0].Bits
	}
	return b[len(b)-1].Bits
}

// sameBits compares exactly, except that NaN sums and averages match any NaN: how a NaN's
// payload propagates through addition is the hardware's business, not the contract's.
func sameBits(a, b []rp, agg protocol.Aggregation) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := math.Float64frombits(a[i].Bits), math.Float64frombits(b[i].Bits)
		nanOK := (agg == protocol.AggSum || agg == protocol.AggAvg) && math.IsNaN(x) && math.IsNaN(y)
		if a[i].TS != b[i].TS || (a[i].Bits != b[i].Bits && !nanOK) {
			return false
		}
	}
	return true
}
