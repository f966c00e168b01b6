package client_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/taudb/tau/pkg/client"
	"github.com/taudb/tau/pkg/client/clienttest"
	"github.com/taudb/tau/pkg/protocol"
)

// readTargets runs f against the real in-process server and against the fake, which must
// agree on every read extension.
func readTargets(t *testing.T, f func(t *testing.T, c *client.Conn)) {
	t.Run("server", func(t *testing.T) { f(t, dial(t, serverAddr(t), nil)) })
	t.Run("fake", func(t *testing.T) { f(t, dial(t, fake(t, nil), nil)) })
}

type refPoint struct {
	ts   int64
	bits uint64
}

// appendAll appends pts to l in one batch.
func appendAll(t *testing.T, c *client.Conn, l protocol.Label, pts []refPoint) {
	t.Helper()
	var b client.Batch
	for _, p := range pts {
		b.AppendBits(l, p.ts, p.bits)
	}
	if err := c.Do(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	for i, r := range b.Results() {
		if r.Err != nil {
			t.Fatalf("append %d: %v", i, r.Err)
		}
	}
}

func collect(t *testing.T, seq func(func(client.Point, error) bool)) []client.Point {
	t.Helper()
	var out []client.Point
	for p, err := range seq {
		if err != nil {
			t.Fatalf("Range: %v", err)
		}
		out = append(out, p)
	}
	return out
}

func TestSeriesInfo(t *testing.T) {
	readTargets(t, func(t *testing.T, c *client.Conn) {
		ctx := context.Background()
		l := protocol.LabelFromString("info")
		if _, err := c.SeriesInfo(ctx, l); !errors.Is(err, client.ErrSeriesNotFound) {
			t.Fatalf("unknown series: %v", err)
		}
		must(t, c.Create(ctx, l))
		if got, err := c.SeriesInfo(ctx, l); err != nil || got != (client.Info{}) {
			t.Fatalf("empty series: %+v, %v", got, err)
		}
		appendAll(t, c, l, []refPoint{{-5, 1}, {7, 2}, {1000, 3}})
		want := client.Info{Points: 3, First: -5, Last: 1000}
		if got, err := c.SeriesInfo(ctx, l); err != nil || got != want {
			t.Fatalf("got %+v, %v; want %+v", got, err, want)
		}
	})
}

// TestRangeRawPagesKeepBits: raw points come back exactly, across pages of every size.
func TestRangeRawPagesKeepBits(t *testing.T) {
	readTargets(t, func(t *testing.T, c *client.Conn) {
		ctx := context.Background()
		l := protocol.LabelFromString("raw")
		must(t, c.Create(ctx, l))
		var pts []refPoint
		special := []uint64{0x7ff8000000000001, 1 << 63, math.Float64bits(math.Inf(-1))}
		for i := range 50 {
			bits := math.Float64bits(float64(i) / 3)
			if i < len(special) {
				bits = special[i]
			}
			pts = append(pts, refPoint{int64(i*10 - 100), bits})
		}
		appendAll(t, c, l, pts)
		for _, size := range []int{0, 1, 7, 50, 51} {
			got := collect(t, c.Range(ctx, l, -95, 400, &client.RangeOptions{PageSize: size}))
			want := pts[1:]
			if len(got) != len(want) {
				t.Fatalf("page size %d: %d points, want %d", size, len(got), len(want))
			}
			for i, p := range got {
				if p.TS != want[i].ts || p.Bits != want[i].bits || math.Float64bits(p.Value) != p.Bits {
					t.Fatalf("page size %d: point %d = %+v, want %+v", size, i, p, want[i])
				}
			}
		}
		if got := collect(t, c.Range(ctx, l, 10, 10, nil)); len(got) != 0 {
			t.Fatalf("empty range: %v", got)
		}
	})
}

// TestRangeAggregationsMatchAReference: every aggregation, with page sizes that force paging,
// against a straightforward reference of E4.
func TestRangeAggregationsMatchAReference(t *testing.T) {
	readTargets(t, func(t *testing.T, c *client.Conn) {
		ctx := context.Background()
		l := protocol.LabelFromString("agg")
		must(t, c.Create(ctx, l))
		r := rand.New(rand.NewPCG(1, 2))
		var pts []refPoint
		ts := int64(-1000)
		for range 300 {
			ts += 1 + r.Int64N(20)
			v := math.Round(r.NormFloat64()*100) / 4
			if r.IntN(30) == 0 {
				v = math.NaN()
			}
			pts = append(pts, refPoint{ts, math.Float64bits(v)})
		}
		appendAll(t, c, l, pts)
		for agg := client.Avg; agg <= client.Last; agg++ {
			for _, bucket := range []int64{1, 7, 100, 5000} {
				for _, size := range []int{0, 1, 3} {
					from, to := int64(-900), ts-30
					o := &client.RangeOptions{Agg: agg, Bucket: time.Duration(bucket), PageSize: size}
					got := collect(t, c.Range(ctx, l, from, to, o))
					want := reference(pts, from, to, agg, bucket)
					if !samePoints(got, want) {
						t.Fatalf("%v bucket %d page %d: got %d buckets, want %d\n got %v\nwant %v",
							agg, bucket, size, len(got), len(want), head(got), head(want))
					}
				}
			}
		}
	})
}

func head(p []client.Point) []client.Point { return p[:min(len(p), 5)] }

func samePoints(a, b []client.Point) bool {
	return slices.EqualFunc(a, b, func(x, y client.Point) bool {
		return x.TS == y.TS && (x.Bits == y.Bits || (math.IsNaN(x.Value) && math.IsNaN(y.Value)))
	})
}

// reference is E4 written out plainly, for ranges far from the ends of int64.
func reference(pts []refPoint, from, to int64, agg client.Aggregation, bucket int64) []client.Point {
	var out []client.Point
	var cur []refPoint
	var start int64
	flush := func() {
		if len(cur) == 0 {
			return
		}
		var bits uint64
		switch agg {
		case client.Avg, client.Sum:
			sum := math.Float64frombits(cur[0].bits)
			for _, p := range cur[1:] {
				sum += math.Float64frombits(p.bits)
			}
			if agg == client.Avg {
				sum /= float64(len(cur))
			}
			bits = math.Float64bits(sum)
		case client.Count:
			bits = math.Float64bits(float64(len(cur)))
		case client.First:
			bits = cur[0].bits
		case client.Last:
			bits = cur[len(cur)-1].bits
		case client.Min, client.Max:
			best := cur[0]
			for _, p := range cur[1:] {
				f, b := math.Float64frombits(p.bits), math.Float64frombits(best.bits)
				better := f < b
				if agg == client.Max {
					better = f > b
				}
				if better || (math.IsNaN(b) && !math.IsNaN(f)) {
					best = p
				}
			}
			bits = best.bits
		}
		out = append(out, client.Point{TS: start, Value: math.Float64frombits(bits), Bits: bits})
		cur = cur[:0]
	}
	for _, p := range pts {
		if p.ts < from || p.ts >= to {
			continue
		}
		s := p.ts - ((p.ts%bucket)+bucket)%bucket
		if len(cur) > 0 && s != start {
			flush()
		}
		start = s
		cur = append(cur, p)
	}
	flush()
	return out
}

func TestRangeStopsEarlyAndLeavesTheConnectionUsable(t *testing.T) {
	ctx := context.Background()
	c := dial(t, fake(t, nil), nil)
	l := protocol.LabelFromString("early")
	must(t, c.Create(ctx, l))
	appendAll(t, c, l, []refPoint{{1, 1}, {2, 2}, {3, 3}, {4, 4}})
	n := 0
	for _, err := range c.Range(ctx, l, 0, 10, &client.RangeOptions{PageSize: 1}) {
		must(t, err)
		if n++; n == 2 {
			break
		}
	}
	must(t, c.Ping(ctx))
}

func TestRangeErrors(t *testing.T) {
	ctx := context.Background()
	c := dial(t, fake(t, nil), nil)
	l := protocol.LabelFromString("none")
	for _, o := range []*client.RangeOptions{
		{Agg: client.Avg}, {Bucket: 5}, {Agg: 9, Bucket: 1}, {Agg: client.Max, Bucket: -1},
	} {
		for _, err := range c.Range(ctx, l, 0, 10, o) {
			if !errors.Is(err, client.ErrInvalidRange) {
				t.Fatalf("%+v: %v, want ErrInvalidRange", o, err)
			}
		}
	}
	for _, err := range c.Range(ctx, l, 0, 10, nil) {
		if !errors.Is(err, client.ErrSeriesNotFound) {
			t.Fatalf("unknown series: %v", err)
		}
	}
	if a, err := client.ParseAggregation("max"); a != client.Max || err != nil {
		t.Fatalf("ParseAggregation(max) = %v, %v", a, err)
	}
	if _, err := client.ParseAggregation("median"); err == nil {
		t.Fatal("ParseAggregation(median) succeeded")
	}
}

// TestExtensionsUnsupported: a 1.3.0-like server answers bad_opcode, which the client reports
// as ErrUnsupported (and ErrBadOpcode), and the connection stays usable.
func TestExtensionsUnsupported(t *testing.T) {
	ctx := context.Background()
	c := dial(t, clienttest.StartWith(t, nil, clienttest.Options{V1Only: true}).Addr, nil)
	l := protocol.LabelFromString("x")
	_, err := c.SeriesInfo(ctx, l)
	for _, e := range []error{err, first(c.Range(ctx, l, 0, 1, nil)), first2(c.ListSeries(ctx, l))} {
		if !errors.Is(e, client.ErrUnsupported) || !errors.Is(e, client.ErrBadOpcode) ||
			!strings.Contains(e.Error(), "does not support") {
			t.Fatalf("got %v, want ErrUnsupported", e)
		}
	}
	must(t, c.Ping(ctx))
	if errors.Is(&client.StatusError{Op: protocol.OpAppend, Status: protocol.StatusBadOpcode}, client.ErrUnsupported) {
		t.Fatal("a v1 request's bad_opcode is not ErrUnsupported")
	}
}

func first(seq func(func(client.Point, error) bool)) error {
	for _, err := range seq {
		return err
	}
	return nil
}

func first2(seq func(func(protocol.Label, error) bool)) error {
	for _, err := range seq {
		return err
	}
	return nil
}

func labels(t *testing.T, seq func(func(protocol.Label, error) bool)) []string {
	t.Helper()
	var out []string
	for l, err := range seq {
		if err != nil {
			t.Fatalf("listing: %v", err)
		}
		out = append(out, strings.TrimRight(string(l[:]), "\x00"))
	}
	return out
}

func TestListSeries(t *testing.T) {
	readTargets(t, func(t *testing.T, c *client.Conn) {
		ctx := context.Background()
		names := []string{"b", "a.2", "a.1", "c", "a"}
		for _, n := range names {
			must(t, c.Create(ctx, protocol.LabelFromString(n)))
		}
		var ff protocol.Label
		for i := range ff {
			ff[i] = 0xff
		}
		must(t, c.Create(ctx, ff)) // the largest label: it has no successor
		got := labels(t, c.ListSeries(ctx, protocol.Label{}))
		want := []string{"a", "a.1", "a.2", "b", "c", string(ff[:])}
		if !slices.Equal(got, want) {
			t.Fatalf("ListSeries = %q, want %q", got, want)
		}
		if got := labels(t, c.ListSeriesPrefix(ctx, []byte("a."))); !slices.Equal(got, []string{"a.1", "a.2"}) {
			t.Fatalf("prefix a. = %q", got)
		}
		if got := labels(t, c.ListSeriesPrefix(ctx, []byte("a"))); !slices.Equal(got, []string{"a", "a.1", "a.2"}) {
			t.Fatalf("prefix a = %q", got)
		}
		if got := labels(t, c.ListSeriesPrefix(ctx, []byte("d"))); len(got) != 0 {
			t.Fatalf("prefix d = %q", got)
		}
		// Page by page with the successor rule.
		var all []string
		start := protocol.Label{}
		for {
			page, more, err := c.ListSeriesPage(ctx, start, 2, nil)
			must(t, err)
			if len(page) > 2 {
				t.Fatalf("page of %d labels, limit 2", len(page))
			}
			for _, l := range page {
				all = append(all, strings.TrimRight(string(l[:]), "\x00"))
			}
			if !more {
				break
			}
			start, _ = page[len(page)-1].Successor()
		}
		if !slices.Equal(all, want) {
			t.Fatalf("paged = %q, want %q", all, want)
		}
	})
}

// TestListSeriesPagesOnItsOwn: more labels than one page holds (4096) are all listed once.
func TestListSeriesPagesOnItsOwn(t *testing.T) {
	ctx := context.Background()
	c := dial(t, fake(t, nil), nil)
	var b client.Batch
	const n = protocol.MaxListLimit + 10
	for i := range n {
		b.Create(protocol.LabelFromString(fmt.Sprintf("s%05d", i)))
	}
	must(t, c.Do(ctx, &b))
	got := labels(t, c.ListSeries(ctx, protocol.Label{}))
	if len(got) != n || got[0] != "s00000" || got[n-1] != fmt.Sprintf("s%05d", n-1) || !slices.IsSorted(got) {
		t.Fatalf("%d labels, first %q", len(got), got[0])
	}
}

func TestPoolReads(t *testing.T) {
	ctx := context.Background()
	addr := fake(t, nil)
	p := client.NewPool(addr, protocol.DevCertificate, 2, nil)
	defer func() { _ = p.Close() }()
	l := protocol.LabelFromString("pooled.reads")
	must(t, p.Create(ctx, l))
	for i := range 10 {
		must(t, p.Append(ctx, l, int64(i), float64(i)))
	}
	if info, err := p.SeriesInfo(ctx, l); err != nil || info.Points != 10 || info.Last != 9 {
		t.Fatalf("SeriesInfo = %+v, %v", info, err)
	}
	got := collect(t, p.Range(ctx, l, 0, 100, &client.RangeOptions{Agg: client.Sum, Bucket: 5, PageSize: 1}))
	if len(got) != 2 || got[0].Value != 10 || got[1].TS != 5 || got[1].Value != 35 {
		t.Fatalf("Range = %+v", got)
	}
	if got := labels(t, p.ListSeriesPrefix(ctx, []byte("pooled."))); !slices.Equal(got, []string{"pooled.reads"}) {
		t.Fatalf("ListSeriesPrefix = %q", got)
	}
}

func TestNextStart(t *testing.T) {
	cases := []struct {
		last int64
		o    *client.RangeOptions
		next int64
		ok   bool
	}{
		{5, nil, 6, true},
		{math.MaxInt64, nil, 0, false},
		{100, &client.RangeOptions{Agg: client.Avg, Bucket: 50}, 150, true},
		{math.MinInt64, &client.RangeOptions{Agg: client.Avg, Bucket: 50}, math.MinInt64 + 50, true},
		{math.MaxInt64 - 10, &client.RangeOptions{Agg: client.Avg, Bucket: 50}, 0, false},
	}
	for _, c := range cases {
		next, ok := client.NextStart(client.Point{TS: c.last}, c.o)
		if next != c.next || ok != c.ok {
			t.Errorf("NextStart(%d, %+v) = %d, %v; want %d, %v", c.last, c.o, next, ok, c.next, c.ok)
		}
	}
}
