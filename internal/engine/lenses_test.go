package engine

import (
	"errors"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"go.uber.org/zap"

	"github.com/taudb/tau/internal/series"
	"github.com/taudb/tau/internal/storage/vfs"
	"github.com/taudb/tau/internal/storage/vfs/errorfs"
)

func fbits(x float64) uint64 { return math.Float64bits(x) }

// TestLensRequests: every lens request through the engine, its checks in E5's order, and
// QueryLens answering as QueryPoint does before the chain.
func TestLensRequests(t *testing.T) {
	e := start(t, MemoryStore(), Options{Capacity: 4, LensCapacity: 3})
	temp, none := series.LabelFromString("temp"), series.LabelFromString("none")
	lf, lr, lfr := series.LabelFromString("f"), series.LabelFromString("r"), series.LabelFromString("fr")
	if _, err := call(func(r *Result) { e.Create(temp, r) }); err != nil {
		t.Fatal(err)
	}
	for i, c := range []float64{10, 20, 40} {
		if _, err := call(func(r *Result) { e.Append(temp, int64(i+1)*100, fbits(c), r) }); err != nil {
			t.Fatal(err)
		}
	}
	f := func(c float64) float64 { return float64(float64(c*9)/5) + 32 }
	steps := []struct {
		name  string
		req   func(*Result)
		err   error
		found bool
		value uint64
	}{
		{"query unknown lens", func(r *Result) { e.QueryLens(lf, 100, r) }, ErrLensNotFound, false, 0},
		{"create on a series that does not exist", func(r *Result) { e.CreateLens(lr, none, "returns", r) }, nil, false, 0},
		{"its source is not found", func(r *Result) { e.QueryLens(lr, 100, r) }, ErrSeriesNotFound, false, 0},
		{"drop", func(r *Result) { e.DropLens(lr, r) }, nil, false, 0},
		{"drop unknown", func(r *Result) { e.DropLens(lr, r) }, ErrLensNotFound, false, 0},
		{"unknown transform", func(r *Result) { e.CreateLens(lf, temp, "kelvin", r) }, ErrInvalidTransform, false, 0},
		{"create", func(r *Result) { e.CreateLens(lf, temp, "celsius_to_fahrenheit", r) }, nil, false, 0},
		{"create taken", func(r *Result) { e.CreateLens(lf, temp, "identity", r) }, ErrLensExists, false, 0},
		{"query", func(r *Result) { e.QueryLens(lf, 200, r) }, nil, true, fbits(f(20))},
		{"query no point", func(r *Result) { e.QueryLens(lf, 150, r) }, nil, false, 0},
		{"create returns", func(r *Result) { e.CreateLens(lr, temp, "returns", r) }, nil, false, 0},
		{"returns needs the point before", func(r *Result) { e.QueryLens(lr, 100, r) }, nil, false, 0},
		{"returns", func(r *Result) { e.QueryLens(lr, 300, r) }, nil, true, fbits(float64(40.0/20) - 1)},
		{"compose", func(r *Result) { e.ComposeLens(lfr, lf, lr, r) }, nil, false, 0},
		{"the chain maps x_prev too", func(r *Result) { e.QueryLens(lfr, 300, r) }, nil, true, fbits(float64(f(40)/f(20)) - 1)},
		{"capacity before label", func(r *Result) { e.CreateLens(lf, temp, "identity", r) }, ErrLensCapacity, false, 0},
		{"name before capacity", func(r *Result) { e.CreateLens(lf, temp, "nope", r) }, ErrInvalidTransform, false, 0},
		{"compose first unknown", func(r *Result) { e.ComposeLens(lf, none, lf, r) }, ErrLensNotFound, false, 0},
		{"compose capacity", func(r *Result) { e.ComposeLens(lf, lf, lr, r) }, ErrLensCapacity, false, 0},
		{"drop a part", func(r *Result) { e.DropLens(lf, r) }, nil, false, 0},
		{"the composition is a copy", func(r *Result) { e.QueryLens(lfr, 300, r) }, nil, true, fbits(float64(f(40)/f(20)) - 1)},
	}
	for _, st := range steps {
		res, err := call(st.req)
		if !errors.Is(err, st.err) || (st.err == nil && err != nil) {
			t.Fatalf("%s: error %v, want %v", st.name, err, st.err)
		}
		if res.Found() != st.found || res.Value() != st.value {
			t.Fatalf("%s: found %v value %#x, want %v %#x", st.name, res.Found(), res.Value(), st.found, st.value)
		}
	}
	list := &ListPage{}
	if _, err := call(func(r *Result) { e.ListLenses(list, r) }); err != nil ||
		!slices.Equal(list.Labels, []series.Label{lfr, lr}) || list.More {
		t.Fatalf("list: %v more %v", list.Labels, list.More)
	}
	if e.Lenses() != 2 {
		t.Fatalf("Lenses() = %d", e.Lenses())
	}
}

// TestLensQueryBusy: a lens query on a full mailbox is ErrBusy, as QueryPoint is.
func TestLensQueryBusy(t *testing.T) {
	g := &gatedStore{entered: make(chan struct{}), gate: make(chan struct{})}
	e := start(t, g, Options{MailboxCapacity: 1})
	l, ln := series.LabelFromString("hot"), series.LabelFromString("lens")
	if _, err := call(func(r *Result) { e.Create(l, r) }); err != nil {
		t.Fatal(err)
	}
	if _, err := call(func(r *Result) { e.CreateLens(ln, l, "identity", r) }); err != nil {
		t.Fatal(err)
	}
	stalled, queued := NewResult(), NewResult()
	go e.Append(l, 0, 0, stalled) // its actor now waits in the store (perhaps on this goroutine)
	<-g.entered
	e.QueryLens(ln, 0, queued)
	if _, err := call(func(r *Result) { e.QueryLens(ln, 0, r) }); !errors.Is(err, ErrBusy) {
		t.Fatalf("lens query on a full mailbox: %v", err)
	}
	close(g.gate)
	stalled.Wait()
	queued.Wait()
	if err := queued.Durable(); err != nil || !queued.Found() || queued.Value() != 0 {
		t.Fatalf("queued lens query: %v %v", err, queued.Found())
	}
}

// TestLensesSurviveRestart: lenses live in Dir/lenses whatever the series store is, and an
// engine opened again on the same directory has them.
func TestLensesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	open := func() *Engine {
		e, err := Open(Options{Dir: dir, Capacity: 4, Workers: 1, MailboxCapacity: 4, MaxCallers: 1, Store: MemoryStore()}, zap.NewNop(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Recover(); err != nil {
			t.Fatal(err)
		}
		return e
	}
	e := open()
	a, b := series.LabelFromString("a"), series.LabelFromString("b")
	for _, req := range []func(*Result){
		func(r *Result) { e.CreateLens(a, a, "log_return", r) },
		func(r *Result) { e.CreateLens(b, a, "identity", r) },
		func(r *Result) { e.ComposeLens(series.LabelFromString("c"), a, b, r) },
		func(r *Result) { e.DropLens(b, r) },
	} {
		if _, err := call(req); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := call(func(r *Result) { e.CreateLens(b, a, "identity", r) }); !errors.Is(err, ErrStorageFailed) {
		t.Fatalf("a lens change after Close: %v", err)
	}
	e = open()
	defer func() { _ = e.Close() }()
	list := &ListPage{}
	if _, err := call(func(r *Result) { e.ListLenses(list, r) }); err != nil ||
		!slices.Equal(list.Labels, []series.Label{a, series.LabelFromString("c")}) {
		t.Fatalf("after restart: %v %v", list.Labels, err)
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, LensDir, "*")); len(matches) != 1 {
		t.Fatalf("lens files %v", matches)
	}
}

// TestLensStorageFailure: a lens change whose state cannot be written is ErrStorageFailed and
// is not made.
func TestLensStorageFailure(t *testing.T) {
	dir := t.TempDir()
	fs := errorfs.Wrap(vfs.OS)
	e := start(t, MemoryStore(), Options{Dir: dir, LensFS: fs})
	fs.OnlyPaths(func(p string) bool { return strings.Contains(p, LensDir) })
	fs.FailWriteAfter(0, syscall.ENOSPC)
	l := series.LabelFromString("l")
	if _, err := call(func(r *Result) { e.CreateLens(l, l, "identity", r) }); !errors.Is(err, ErrStorageFailed) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("create on a full disk: %v", err)
	}
	if _, err := call(func(r *Result) { e.QueryLens(l, 0, r) }); !errors.Is(err, ErrLensNotFound) {
		t.Fatalf("the refused lens: %v", err)
	}
	fs.Reset()
	if _, err := call(func(r *Result) { e.CreateLens(l, l, "identity", r) }); err != nil {
		t.Fatal(err)
	}
}

// TestLensTransformNames: the engine takes exactly E5's names.
func TestLensTransformNames(t *testing.T) {
	want := []string{"identity", "celsius_to_fahrenheit", "fahrenheit_to_celsius", "celsius_to_kelvin",
		"kelvin_to_celsius", "meters_to_feet", "feet_to_meters", "returns", "log_return"}
	if got := LensTransforms(); !slices.Equal(got, want) {
		t.Fatalf("LensTransforms() = %v", got)
	}
}

// TestLensQueryAllocatesNothing: a lens query with a reused Result allocates nothing once the
// result's buffers have grown to the chain's lookback (docs/protocol.md: the request path
// makes no allocation).
func TestLensQueryAllocatesNothing(t *testing.T) {
	e := start(t, MemoryStore(), Options{Workers: 1})
	s, l, rr := series.LabelFromString("s"), series.LabelFromString("r"), series.LabelFromString("rr")
	if _, err := call(func(r *Result) { e.Create(s, r) }); err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		if _, err := call(func(r *Result) { e.Append(s, int64(i), fbits(float64(i%7+1)), r) }); err != nil {
			t.Fatal(err)
		}
	}
	for _, req := range []func(*Result){
		func(r *Result) { e.CreateLens(l, s, "returns", r) },
		func(r *Result) { e.ComposeLens(rr, l, l, r) },
	} {
		if _, err := call(req); err != nil {
			t.Fatal(err)
		}
	}
	res := NewResult()
	query := func() {
		e.QueryLens(rr, 250, res) // its points span two chunks
		res.Wait()
		if err := res.Durable(); err != nil || !res.Found() {
			t.Fatalf("query: %v %v", err, res.Found())
		}
	}
	query() // grows the result's buffers
	if allocs := testing.AllocsPerRun(200, query); allocs != 0 {
		t.Fatalf("%v allocations per lens query", allocs)
	}
}
