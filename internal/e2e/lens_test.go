package e2e

import (
	"math"
	"math/big"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/internal/server"
	"github.com/taudb/tau/internal/server/servertest"
	"github.com/taudb/tau/pkg/protocol"
)

// The lens family, E5 of docs/protocol.md, against a real server on loopback.

// lensCap runs a server with TAU_LENS_CAPACITY n.
func lensCap(n int) func(*config.Config) { return func(c *config.Config) { c.LensCapacity = n } }

// TestE5_CreateLensChecksInOrder: the transform's name, then the capacity, then the label;
// the source series need not exist.
func TestE5_CreateLensChecksInOrder(t *testing.T) {
	srv := start(t, lensCap(2))
	c := connect(t, srv.Addr())
	a, b := label("a"), label("b")
	create := func(l protocol.Label, tr string, want answer) {
		t.Helper()
		c.expect(c.call(protocol.OpCreateLens, createLensP(l, label("nosuch"), tr)), want)
	}
	create(a, "returns", okAnswer) // no series "nosuch": allowed
	create(a, "identity", errAnswer(protocol.StatusLensAlreadyExists))
	create(a, "bogus", errAnswer(protocol.StatusInvalidPayload))    // name before label
	create(b, "celsius_to_fahrenheit", okAnswer)                    // now full
	create(a, "Identity", errAnswer(protocol.StatusInvalidPayload)) // name before capacity and label
	create(a, "identity", errAnswer(protocol.StatusInternalError))  // capacity before label
	create(label("c"), "identity", errAnswer(protocol.StatusInternalError))
	c.expect(c.call(protocol.OpQueryLens, queryP(a, 0)), errAnswer(protocol.StatusSeriesNotFound))
}

// TestE5_TransformNamesMatchExactly: every name of E5 is taken, padded with zero bytes; any
// other 32 bytes (a zero inside, bytes after the padding, case, spaces) are invalid_payload.
func TestE5_TransformNamesMatchExactly(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	for i, name := range protocol.Transforms {
		c.mustLens(t, protocol.Label{byte(i)}, label("s"), name)
	}
	bad := [][]byte{nil, []byte("IDENTITY"), []byte("identity "), []byte(" identity"), []byte("ident\x00ity"),
		append([]byte("identity"), make([]byte, 23)...), []byte("log_returns"), []byte("celsius_to_kelvin\x00\x00x")}
	bad[5] = append(bad[5], 'x') // "identity", zeros, then a byte in the last position
	for _, raw := range bad {
		p := createLensP(label("bad"), label("s"), "")
		copy(p[2*protocol.LabelSize:], raw)
		c.expect(c.call(protocol.OpCreateLens, p), errAnswer(protocol.StatusInvalidPayload))
	}
	if got := c.listLenses(nil); len(got) != len(protocol.Transforms) {
		t.Fatalf("%d lenses, want %d", len(got), len(protocol.Transforms))
	}
}

// TestE5_DropLens: an unknown lens is lens_not_found; a dropped label can be created again.
func TestE5_DropLens(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	l := ones()
	c.expect(c.call(protocol.OpDropLens, series(l)), errAnswer(protocol.StatusLensNotFound))
	c.mustLens(t, l, label("s"), "identity")
	c.expect(c.call(protocol.OpDropLens, series(l)), okAnswer)
	c.expect(c.call(protocol.OpDropLens, series(l)), errAnswer(protocol.StatusLensNotFound))
	c.expect(c.call(protocol.OpQueryLens, queryP(l, 0)), errAnswer(protocol.StatusLensNotFound))
	c.mustLens(t, l, label("s"), "returns")
}

// TestE5_QueryLensAnswersAsQueryPoint: lens_not_found first; then the source's point as
// QUERY_POINT answers it: series_not_found, `00` when there is no point, the value through
// the chain when there is.
func TestE5_QueryLensAnswersAsQueryPoint(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	src, ln := label("src"), label("ln")
	c.expect(c.call(protocol.OpCreateSeries, series(ln)), okAnswer) // a series named as the lens
	c.expect(c.call(protocol.OpQueryLens, queryP(ln, 0)), errAnswer(protocol.StatusLensNotFound))
	c.mustLens(t, ln, src, "celsius_to_kelvin")
	c.expect(c.call(protocol.OpQueryLens, queryP(ln, 5)), errAnswer(protocol.StatusSeriesNotFound))
	c.expect(c.call(protocol.OpCreateSeries, series(src)), okAnswer)
	c.expect(c.call(protocol.OpQueryLens, queryP(ln, 5)), notFoundAnswer)
	c.expect(c.call(protocol.OpAppend, appendP(src, 5, 20)), okAnswer)
	c.expect(c.call(protocol.OpQueryLens, queryP(ln, 5)), foundAnswer(20+273.15))
	c.expect(c.call(protocol.OpQueryLens, queryP(ln, 4)), notFoundAnswer)
	c.expect(c.call(protocol.OpQueryLens, queryP(ln, 6)), notFoundAnswer)
	c.expect(c.call(protocol.OpDropSeries, series(src)), okAnswer)
	c.expect(c.call(protocol.OpQueryLens, queryP(ln, 5)), errAnswer(protocol.StatusSeriesNotFound))
	// The source comes back empty when created again, and the lens reads it.
	c.expect(c.call(protocol.OpCreateSeries, series(src)), okAnswer)
	c.expect(c.call(protocol.OpQueryLens, queryP(ln, 5)), notFoundAnswer)
}

// TestE5_QueryLensBusy: a lens whose source's mailbox is full gets busy at once, as a
// QUERY_POINT does, and other series are not held up.
func TestE5_QueryLensBusy(t *testing.T) {
	hot := label("hot")
	g := &gateLog{stall: hot, entered: make(chan struct{}), gate: make(chan struct{})}
	srv := servertest.StartWith(t, server.Options{Store: g}, func(c *config.Config) {
		c.MailboxCapacity = 2
		c.ActorPoolSize = 2
	})
	admin := connect(t, srv.Addr())
	admin.expect(admin.call(protocol.OpCreateSeries, series(hot)), okAnswer)
	admin.mustLens(t, label("lens"), hot, "identity")
	stuck := connect(t, srv.Addr())
	stuck.send(protocol.OpAppend, appendP(hot, 1, 1))
	<-g.entered
	queued := []*rawConn{connect(t, srv.Addr()), connect(t, srv.Addr())}
	for _, c := range queued {
		c.send(protocol.OpQueryLens, queryP(label("lens"), 1))
	}
	waitMetric(t, "http://"+srv.HTTPAddr()+"/metrics", "tau_actor_mailbox_enqueue_depth_messages_count 3")
	late := connect(t, srv.Addr())
	late.expect(late.call(protocol.OpQueryLens, queryP(label("lens"), 1)), errAnswer(protocol.StatusBusy))
	late.expectOpen()
	close(g.gate)
	stuck.expect(stuck.read(), okAnswer)
	for _, c := range queued {
		c.expect(c.read(), foundAnswer(1))
	}
}

// exactly computes a chain of float64 operations rounding once per operation (big.Float at 53
// bits is IEEE-754 double for results in the normal range): the reference for each transform,
// independent of the server's code.
type exactly struct{ f *big.Float }

func exact(x float64) exactly { return exactly{new(big.Float).SetPrec(53).SetFloat64(x)} }

func (a exactly) do(op func(z, x, y *big.Float) *big.Float, y float64) exactly {
	return exactly{op(new(big.Float).SetPrec(53), a.f, new(big.Float).SetPrec(53).SetFloat64(y))}
}
func (a exactly) bits() uint64 { f, _ := a.f.Float64(); return math.Float64bits(f) }

var add, sub, mul, quo = (*big.Float).Add, (*big.Float).Sub, (*big.Float).Mul, (*big.Float).Quo

// TestE5_TransformsExactBits: each one-point transform answers exactly the bits of E5's
// expression evaluated left to right in float64, one rounding per operation, for values where
// a fused multiply-add or a reordering would differ; identity answers the stored bits, NaN
// payloads included.
func TestE5_TransformsExactBits(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	src := label("values")
	values := []float64{0, 1, -1, 36.6, 37, -40, 100, 212, 98.6, 273.15, -273.15, 0.1, 0.7, 1e-300, 1e300,
		3.28084, 123456.789, -0.3, 1.0000000000000002, 5e-324 * 1e10, 2.5e15}
	pts := make([]rp, len(values))
	for i, v := range values {
		pts[i] = rp{TS: int64(i) * 10, Bits: fb(v)}
	}
	c.create(src, pts)
	refs := map[string]func(float64) uint64{
		"celsius_to_fahrenheit": func(x float64) uint64 { return exact(x).do(mul, 9).do(quo, 5).do(add, 32).bits() },
		"fahrenheit_to_celsius": func(x float64) uint64 { return exact(x).do(sub, 32).do(mul, 5).do(quo, 9).bits() },
		"celsius_to_kelvin":     func(x float64) uint64 { return exact(x).do(add, 273.15).bits() },
		"kelvin_to_celsius":     func(x float64) uint64 { return exact(x).do(sub, 273.15).bits() },
		"meters_to_feet":        func(x float64) uint64 { return exact(x).do(mul, 3.28084).bits() },
		"feet_to_meters":        func(x float64) uint64 { return exact(x).do(quo, 3.28084).bits() },
	}
	for name, ref := range refs {
		l := label("t." + name)
		c.mustLens(t, l, src, name)
		for _, p := range pts {
			c.expect(c.call(protocol.OpQueryLens, queryP(l, p.TS)), bitsAnswer(ref(math.Float64frombits(p.Bits))))
		}
	}
	// Values big.Float cannot stand for: infinities, NaN, overflow, -0, denormals. Their
	// answers are the float64 operations themselves, one rounding each.
	special := label("special")
	sv := []uint64{fb(math.Inf(1)), fb(math.Inf(-1)), 0x7ff8000000000001, 1 << 63, fb(math.MaxFloat64), 1, fb(-math.MaxFloat64)}
	spts := make([]rp, len(sv))
	for i, b := range sv {
		spts[i] = rp{TS: int64(i), Bits: b}
	}
	c.create(special, spts)
	f64 := func(x float64) float64 { return x }
	float := map[string]func(float64) float64{
		"celsius_to_fahrenheit": func(x float64) float64 { return f64(f64(x*9)/5) + 32 },
		"fahrenheit_to_celsius": func(x float64) float64 { return f64(f64(x-32)*5) / 9 },
		"celsius_to_kelvin":     func(x float64) float64 { return x + 273.15 },
		"kelvin_to_celsius":     func(x float64) float64 { return x - 273.15 },
		"meters_to_feet":        func(x float64) float64 { return x * 3.28084 },
		"feet_to_meters":        func(x float64) float64 { return x / 3.28084 },
	}
	for name, fn := range float {
		l := label("s." + name)
		c.mustLens(t, l, special, name)
		for _, p := range spts {
			want := fb(fn(math.Float64frombits(p.Bits)))
			got := c.call(protocol.OpQueryLens, queryP(l, p.TS))
			if math.IsNaN(math.Float64frombits(want)) { // a NaN's payload is the hardware's
				if found, bits, err := protocol.DecodeQueryAnswer(got.payload); err != nil || !found || !math.IsNaN(math.Float64frombits(bits)) {
					t.Fatalf("%s(%#x) = %v %x, want a NaN", name, p.Bits, got, got.payload)
				}
				continue
			}
			c.expect(got, bitsAnswer(want))
		}
	}
	if got := c.call(protocol.OpQueryLens, queryP(label("s.celsius_to_fahrenheit"), 4)); !slices.Equal(got.payload, bitsAnswer(fb(math.Inf(1))).payload) {
		t.Fatalf("MaxFloat64×9 overflows to +Inf before /5: got %x", got.payload)
	}
	// identity keeps every bit: a NaN's payload, -0, the smallest denormal.
	c.mustLens(t, label("id"), special, "identity")
	for _, p := range spts {
		c.expect(c.call(protocol.OpQueryLens, queryP(label("id"), p.TS)), bitsAnswer(p.Bits))
	}
}

// TestE5_ReturnsAndChainSemantics: returns and log_return compute x/x_prev − 1 and
// ln(x/x_prev) with x_prev the series' point just before (whatever the time between); a chain
// with k of them needs the point and the k before it, else `00`; each step maps the whole
// sequence, so a transform before a returns maps x_prev too.
func TestE5_ReturnsAndChainSemantics(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	p := label("price")
	ts := []int64{-1 << 40, -7, 3, 1 << 50, 1<<50 + 1}
	xs := []float64{100, 110, 99, 0, 5}
	pts := make([]rp, len(ts))
	for i := range ts {
		pts[i] = rp{TS: ts[i], Bits: fb(xs[i])}
	}
	c.create(p, pts)
	for name, tr := range map[string]string{"r": "returns", "lr": "log_return", "f": "celsius_to_fahrenheit"} {
		c.mustLens(t, label(name), p, tr)
	}
	compose := func(l, a, b string) {
		t.Helper()
		c.expect(c.call(protocol.OpComposeLens, composeLensP(label(l), label(a), label(b))), okAnswer)
	}
	compose("fr", "f", "r")   // fahrenheit, then returns
	compose("rf", "r", "f")   // returns, then fahrenheit
	compose("rr", "r", "r")   // returns of returns
	compose("rlr", "r", "lr") // log_return of returns
	f := func(x float64) float64 { return float64(float64(x*9)/5) + 32 }
	ret := func(x, prev float64) float64 { return float64(x/prev) - 1 }
	cases := []struct {
		lens  string
		i     int // the point queried
		found bool
		want  float64
	}{
		{"r", 0, false, 0}, // no point before
		{"r", 1, true, ret(110, 100)},
		{"r", 2, true, ret(99, 110)},
		{"r", 3, true, -1},          // 0/99 − 1
		{"r", 4, true, math.Inf(1)}, // 5/0 − 1
		{"lr", 0, false, 0},
		{"lr", 1, true, math.Log(110.0 / 100)},
		{"lr", 3, true, math.Inf(-1)},        // ln(0)
		{"fr", 1, true, ret(f(110), f(100))}, // x_prev is mapped too
		{"rf", 1, true, f(ret(110, 100))},
		{"rr", 1, false, 0}, // needs two points before
		{"rr", 2, true, ret(ret(99, 110), ret(110, 100))},
		{"rr", 3, true, ret(ret(0, 99), ret(99, 110))},
		{"rlr", 2, true, math.Log(ret(99, 110) / ret(110, 100))},
		{"rlr", 0, false, 0},
	}
	for _, k := range cases {
		want := notFoundAnswer
		if k.found {
			want = bitsAnswer(fb(k.want))
		}
		got := c.call(protocol.OpQueryLens, queryP(label(k.lens), ts[k.i]))
		if got.op != want.op || !slices.Equal(got.payload, want.payload) {
			t.Fatalf("%s at point %d: %v %x, want %x", k.lens, k.i, got, got.payload, want.payload)
		}
	}
	// No point at ts: `00`, even when points lie on both sides.
	c.expect(c.call(protocol.OpQueryLens, queryP(label("r"), 4)), notFoundAnswer)
}

// TestE5_ReturnsAcrossChunks: x_prev and earlier points found across chunk boundaries and, after
// a restart, across chunk files on disk (each chunk holds 120 points).
func TestE5_ReturnsAcrossChunks(t *testing.T) {
	dir := t.TempDir()
	opts := func(c *config.Config) { c.DataDir = dir }
	srv := startOnDisk(t, opts)
	c := connect(t, srv.Addr())
	p := label("long")
	pts := make([]rp, 1000)
	for i := range pts {
		pts[i] = rp{TS: int64(i) * 3, Bits: fb(float64(i%17) + 1)}
	}
	c.create(p, pts)
	c.mustLens(t, label("r"), p, "returns")
	c.expect(c.call(protocol.OpComposeLens, composeLensP(label("rr"), label("r"), label("r"))), okAnswer)
	c.expect(c.call(protocol.OpComposeLens, composeLensP(label("rrrr"), label("rr"), label("rr"))), okAnswer)
	x := func(i int) float64 { return math.Float64frombits(pts[i].Bits) }
	ret := func(i int) float64 { return float64(x(i)/x(i-1)) - 1 }
	rr := func(i int) float64 { return float64(ret(i)/ret(i-1)) - 1 }
	rrrr := func(i int) float64 {
		r3 := func(j int) float64 { return float64(rr(j)/rr(j-1)) - 1 }
		return float64(r3(i)/r3(i-1)) - 1
	}
	check := func() {
		t.Helper()
		for _, i := range []int{0, 1, 2, 3, 4, 119, 120, 121, 122, 123, 239, 240, 241, 243, 500, 999} {
			for _, q := range []struct {
				lens string
				k    int
				fn   func(int) float64
			}{{"r", 1, ret}, {"rr", 2, rr}, {"rrrr", 4, rrrr}} {
				want := notFoundAnswer
				if i >= q.k {
					want = bitsAnswer(fb(q.fn(i)))
				}
				got := c.call(protocol.OpQueryLens, queryP(label(q.lens), pts[i].TS))
				if got.op != want.op || !slices.Equal(got.payload, want.payload) {
					t.Fatalf("%s at point %d: %v %x, want %x", q.lens, i, got, got.payload, want.payload)
				}
			}
		}
	}
	check()
	if err := srv.Stop(); err != nil { // the final checkpoint moves full chunks to a file
		t.Fatal(err)
	}
	srv = startOnDisk(t, opts)
	c = connect(t, srv.Addr())
	if files := chunkFiles(t, dir); len(files) == 0 {
		t.Fatal("no chunk file: the walk back never crosses the disk")
	}
	check()
}

// TestE5_ComposeChecksInOrderAndComposes: first lens, second lens, capacity, new label; the
// new lens reads the first's source through both chains, and is a copy that outlives both.
func TestE5_ComposeChecksInOrderAndComposes(t *testing.T) {
	srv := start(t, lensCap(4))
	c := connect(t, srv.Addr())
	temp, other := label("temp"), label("other")
	c.create(temp, []rp{{TS: 1, Bits: fb(10)}, {TS: 2, Bits: fb(25)}})
	c.create(other, []rp{{TS: 1, Bits: fb(-1000)}, {TS: 2, Bits: fb(-2000)}})
	c.mustLens(t, label("f"), temp, "celsius_to_fahrenheit")
	c.mustLens(t, label("k"), other, "celsius_to_kelvin") // its source is not the composition's
	compose := func(l, a, b string, want answer) {
		t.Helper()
		c.expect(c.call(protocol.OpComposeLens, composeLensP(label(l), label(a), label(b))), want)
	}
	compose("f", "x", "y", errAnswer(protocol.StatusLensNotFound)) // first, before all else
	compose("f", "f", "y", errAnswer(protocol.StatusLensNotFound)) // second, before label
	compose("f", "f", "k", errAnswer(protocol.StatusLensAlreadyExists))
	compose("fk", "f", "k", okAnswer)
	compose("ff", "f", "f", okAnswer)                               // now full: four lenses
	compose("f", "f", "k", errAnswer(protocol.StatusInternalError)) // capacity before label
	compose("x", "nope", "k", errAnswer(protocol.StatusLensNotFound))
	f := func(x float64) float64 { return float64(float64(x*9)/5) + 32 }
	k := func(x float64) float64 { return x + 273.15 }
	want := map[string]float64{"fk": k(f(25)), "ff": f(f(25))}
	query := func() {
		t.Helper()
		for l, v := range want {
			c.expect(c.call(protocol.OpQueryLens, queryP(label(l), 2)), foundAnswer(v))
		}
	}
	query()
	// A copy: dropping the parts, or making new lenses of their labels, changes nothing.
	c.expect(c.call(protocol.OpDropLens, series(label("f"))), okAnswer)
	c.expect(c.call(protocol.OpDropLens, series(label("k"))), okAnswer)
	query()
	c.mustLens(t, label("f"), other, "identity")
	c.mustLens(t, label("k"), temp, "returns")
	query()
}

// TestE5_ListLensesAscending: every lens label, ascending byte-wise, whatever the payload;
// lens labels are apart from series labels.
func TestE5_ListLensesAscending(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	if got := c.listLenses(nil); len(got) != 0 {
		t.Fatalf("no lenses yet, listed %v", got)
	}
	c.expect(c.call(protocol.OpCreateSeries, series(label("series only"))), okAnswer)
	labels := edgeLabels()
	for _, i := range []int{5, 0, 11, 3, 8, 1, 10, 2, 9, 4, 7, 6} {
		c.mustLens(t, labels[i], label("s"), "identity")
	}
	want := sortLabels(labels)
	for _, payload := range [][]byte{nil, []byte("ignored"), make([]byte, 1000)} {
		if got := c.listLenses(payload); !slices.Equal(got, want) {
			t.Fatalf("LIST_LENSES with %d bytes: %v, want %v", len(payload), got, want)
		}
	}
	if _, got := c.list(protocol.Label{}, 0); len(got) != 1 || got[0] != label("series only") {
		t.Fatalf("LIST_SERIES shows lenses: %v", got)
	}
	c.expect(c.call(protocol.OpDropLens, series(labels[0])), okAnswer)
	if got := c.listLenses(nil); !slices.Equal(got, sortLabels(labels[1:])) {
		t.Fatalf("after a drop: %v", got)
	}
}

// TestE5_LensLabelsApartFromSeries: a lens and a series may share a label; dropping one
// leaves the other.
func TestE5_LensLabelsApartFromSeries(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	x := label("x")
	c.create(x, []rp{{TS: 1, Bits: fb(2)}})
	c.mustLens(t, x, x, "meters_to_feet")
	c.expect(c.call(protocol.OpCreateLens, createLensP(x, x, "identity")), errAnswer(protocol.StatusLensAlreadyExists))
	c.expect(c.call(protocol.OpCreateSeries, series(x)), errAnswer(protocol.StatusSeriesAlreadyExists))
	c.expect(c.call(protocol.OpQueryLens, queryP(x, 1)), foundAnswer(2*3.28084))
	c.expect(c.call(protocol.OpDropLens, series(x)), okAnswer)
	c.expect(c.call(protocol.OpQueryPoint, queryP(x, 1)), foundAnswer(2))
	c.mustLens(t, x, x, "identity")
	c.expect(c.call(protocol.OpDropSeries, series(x)), okAnswer)
	c.expect(c.call(protocol.OpQueryLens, queryP(x, 1)), errAnswer(protocol.StatusSeriesNotFound))
	if got := c.listLenses(nil); len(got) != 1 || got[0] != x {
		t.Fatalf("lenses %v", got)
	}
}

// TestE5_CapacityIsInternalError: TAU_LENS_CAPACITY lenses at most; the next create or compose
// is internal_error, and a drop makes room again.
func TestE5_CapacityIsInternalError(t *testing.T) {
	srv := start(t, lensCap(3))
	c := connect(t, srv.Addr())
	for i := range 3 {
		c.mustLens(t, protocol.Label{byte(i)}, label("s"), "identity")
	}
	c.expect(c.call(protocol.OpCreateLens, createLensP(label("more"), label("s"), "identity")), errAnswer(protocol.StatusInternalError))
	c.expect(c.call(protocol.OpComposeLens, composeLensP(label("more"), protocol.Label{0}, protocol.Label{1})), errAnswer(protocol.StatusInternalError))
	c.expectOpen()
	c.expect(c.call(protocol.OpDropLens, series(protocol.Label{1})), okAnswer)
	c.mustLens(t, label("more"), label("s"), "identity")
	if got := c.listLenses(nil); len(got) != 3 {
		t.Fatalf("%d lenses, capacity 3", len(got))
	}
}

// TestE5_PipelinedInOrder: lens changes take effect in request order on a connection: a
// QUERY_LENS pipelined behind its CREATE_LENS sees it, one behind a DROP_LENS does not.
func TestE5_PipelinedInOrder(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	src, l := label("src"), label("l")
	var b []byte
	b = protocol.AppendFrame(b, protocol.OpCreateSeries, series(src))
	b = protocol.AppendFrame(b, protocol.OpAppend, appendP(src, 1, 4))
	b = protocol.AppendFrame(b, protocol.OpCreateLens, createLensP(l, src, "fahrenheit_to_celsius"))
	b = protocol.AppendFrame(b, protocol.OpQueryLens, queryP(l, 1))
	b = protocol.AppendFrame(b, protocol.OpListLenses, nil)
	b = protocol.AppendFrame(b, protocol.OpDropLens, series(l))
	b = protocol.AppendFrame(b, protocol.OpQueryLens, queryP(l, 1))
	b = protocol.AppendFrame(b, protocol.OpListLenses, nil)
	c.sendRaw(b)
	c.expect(c.read(), okAnswer)
	c.expect(c.read(), okAnswer)
	c.expect(c.read(), okAnswer)
	c.expect(c.read(), foundAnswer(float64(float64(4-32)*5)/9))
	c.expect(c.read(), answer{protocol.OpOK, l[:]})
	c.expect(c.read(), okAnswer)
	c.expect(c.read(), errAnswer(protocol.StatusLensNotFound))
	c.expect(c.read(), okAnswer)
}

// TestE5_RetentionHidesExpiredPrev: an expired point is no x_prev (E6): the chain needs a point
// that is still kept.
func TestE5_RetentionHidesExpiredPrev(t *testing.T) {
	srv := start(t, func(c *config.Config) { c.Retention = 100 * time.Nanosecond })
	c := connect(t, srv.Addr())
	p := label("p")
	c.create(p, []rp{{TS: 0, Bits: fb(1)}, {TS: 50, Bits: fb(2)}, {TS: 100, Bits: fb(4)}, {TS: 200, Bits: fb(5)}})
	c.mustLens(t, label("r"), p, "returns")
	c.mustLens(t, label("id"), p, "identity")
	c.expect(c.call(protocol.OpQueryLens, queryP(label("id"), 50)), notFoundAnswer)  // 50 < 200 − 100
	c.expect(c.call(protocol.OpQueryLens, queryP(label("id"), 100)), foundAnswer(4)) // the boundary is kept
	c.expect(c.call(protocol.OpQueryLens, queryP(label("r"), 100)), notFoundAnswer)  // its x_prev expired
	c.expect(c.call(protocol.OpQueryLens, queryP(label("r"), 200)), foundAnswer(float64(5.0/4)-1))
}

// TestE5_ChainBound: composing a lens with itself doubles its chain; past 256 steps (this
// server's bound, docs/protocol.md) the composition is internal_error and nothing is made.
func TestE5_ChainBound(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	c.create(label("s"), []rp{{TS: 1, Bits: fb(1)}})
	c.mustLens(t, label("1"), label("s"), "identity")
	n := 1
	for ; n < 256; n *= 2 {
		c.expect(c.call(protocol.OpComposeLens, composeLensP(label(itoa(2*n)), label(itoa(n)), label(itoa(n)))), okAnswer)
	}
	c.expect(c.call(protocol.OpQueryLens, queryP(label("256"), 1)), foundAnswer(1))
	c.expect(c.call(protocol.OpComposeLens, composeLensP(label("512"), label("256"), label("256"))), errAnswer(protocol.StatusInternalError))
	c.expect(c.call(protocol.OpComposeLens, composeLensP(label("257"), label("256"), label("1"))), errAnswer(protocol.StatusInternalError))
	c.expect(c.call(protocol.OpQueryLens, queryP(label("512"), 1)), errAnswer(protocol.StatusLensNotFound))
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestE5_RestartKeepsLenses: lenses are durable (R11): after a restart every acknowledged
// create and compose is there with the same chain, every acknowledged drop holds, and nothing
// refused appeared; on either fsync policy.
func TestE5_RestartKeepsLenses(t *testing.T) {
	for _, fsync := range []string{config.FsyncAlways, config.FsyncInterval} {
		t.Run(fsync, func(t *testing.T) {
			dir := t.TempDir()
			opts := func(c *config.Config) { c.DataDir = dir; c.Fsync = fsync; c.LensCapacity = 4 }
			srv := startOnDisk(t, opts)
			c := connect(t, srv.Addr())
			temp := label("temp")
			c.create(temp, []rp{{TS: 1, Bits: fb(20)}, {TS: 2, Bits: fb(30)}})
			c.mustLens(t, label("f"), temp, "celsius_to_fahrenheit")
			c.mustLens(t, label("r"), temp, "returns")
			c.mustLens(t, label("gone"), temp, "identity")
			c.expect(c.call(protocol.OpComposeLens, composeLensP(label("fr"), label("f"), label("r"))), okAnswer)
			c.expect(c.call(protocol.OpCreateLens, createLensP(label("full"), temp, "identity")), errAnswer(protocol.StatusInternalError))
			c.expect(c.call(protocol.OpDropLens, series(label("gone"))), okAnswer)
			c.expect(c.call(protocol.OpCreateLens, createLensP(label("f"), temp, "identity")), errAnswer(protocol.StatusLensAlreadyExists))
			answers := func() []answer {
				var out []answer
				for _, l := range []string{"f", "r", "fr"} {
					out = append(out, c.call(protocol.OpQueryLens, queryP(label(l), 2)))
				}
				return out
			}
			before := answers()
			if err := srv.Stop(); err != nil {
				t.Fatal(err)
			}
			srv = startOnDisk(t, opts)
			c = connect(t, srv.Addr())
			if got := c.listLenses(nil); !slices.Equal(got, []protocol.Label{label("f"), label("fr"), label("r")}) {
				t.Fatalf("after restart: %v", got)
			}
			for i, a := range answers() {
				c.expect(a, before[i])
			}
			c.expect(c.call(protocol.OpQueryLens, queryP(label("f"), 2)), foundAnswer(86))
		})
	}
}
