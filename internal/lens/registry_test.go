package lens

import (
	"errors"
	"slices"
	"testing"

	"github.com/taudb/tau/internal/series"
)

func lbl(s string) series.Label { return series.LabelFromString(s) }

// open returns a loaded registry of capacity n, in memory or in dir.
func open(t *testing.T, n int, dir string) *Registry {
	t.Helper()
	r, err := Open(Options{Dir: dir, Capacity: n})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Load(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// step is one registry operation and the error it must give.
type step struct {
	name string
	do   func(r *Registry) error
	err  error
}

func create(l, src, tr string) func(*Registry) error {
	return func(r *Registry) error { return r.Create(lbl(l), lbl(src), tr) }
}
func compose(l, a, b string) func(*Registry) error {
	return func(r *Registry) error { return r.Compose(lbl(l), lbl(a), lbl(b)) }
}
func drop(l string) func(*Registry) error { return func(r *Registry) error { return r.Drop(lbl(l)) } }

// TestCheckOrder runs E5's checks in the contract's order: each step fails several checks
// at once, and the first in the order decides.
func TestCheckOrder(t *testing.T) {
	for _, dir := range []string{"", "disk"} {
		t.Run("dir="+dir, func(t *testing.T) {
			if dir != "" {
				dir = t.TempDir()
			}
			r := open(t, 2, dir)
			steps := []step{
				{"create, source need not exist", create("a", "nosuch", "returns"), nil},
				{"create taken", create("a", "s", "identity"), ErrExists},
				{"create: name before capacity", create("a", "s", "bogus"), ErrUnknownTransform},
				{"create second", create("b", "s", "celsius_to_fahrenheit"), nil},
				{"create: name before capacity and label", create("a", "s", "Identity"), ErrUnknownTransform},
				{"create: capacity before label", create("a", "s", "identity"), ErrCapacity},
				{"create: capacity", create("c", "s", "identity"), ErrCapacity},
				{"compose: first before all", compose("a", "x", "y"), ErrNotFound},
				{"compose: second before capacity and label", compose("a", "a", "y"), ErrNotFound},
				{"compose: capacity before label", compose("a", "a", "b"), ErrCapacity},
				{"drop unknown", drop("x"), ErrNotFound},
				{"drop", drop("b"), nil},
				{"compose: label", compose("a", "a", "a"), ErrExists},
				{"compose", compose("c", "a", "a"), nil},
				{"drop again", drop("b"), ErrNotFound},
			}
			for _, s := range steps {
				if err := s.do(r); !errors.Is(err, s.err) {
					t.Fatalf("%s: %v, want %v", s.name, err, s.err)
				}
			}
			if got := r.List(nil); !slices.Equal(got, []series.Label{lbl("a"), lbl("c")}) {
				t.Fatalf("List = %v", got)
			}
		})
	}
}

// TestComposeIsACopy: the new lens reads the first lens' source through both chains, and
// keeps them when either is dropped (or replaced by another of the same label).
func TestComposeIsACopy(t *testing.T) {
	r := open(t, 10, t.TempDir())
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.Create(lbl("f"), lbl("temp"), "celsius_to_fahrenheit"))
	must(r.Create(lbl("ret"), lbl("other"), "returns"))
	must(r.Compose(lbl("fret"), lbl("f"), lbl("ret")))
	must(r.Compose(lbl("fretf"), lbl("fret"), lbl("f")))
	must(r.Drop(lbl("f")))
	must(r.Drop(lbl("ret")))
	must(r.Create(lbl("f"), lbl("x"), "identity"))
	want := map[string]Lens{
		"fret":  {lbl("fret"), lbl("temp"), Chain{CelsiusToFahrenheit, Returns}},
		"fretf": {lbl("fretf"), lbl("temp"), Chain{CelsiusToFahrenheit, Returns, CelsiusToFahrenheit}},
		"f":     {lbl("f"), lbl("x"), Chain{Identity}},
	}
	for name, w := range want {
		got, ok := r.Get(lbl(name))
		if !ok || got.Label != w.Label || got.Source != w.Source || !slices.Equal(got.Chain, w.Chain) {
			t.Fatalf("%s: %+v, %v; want %+v", name, got, ok, w)
		}
	}
	if _, ok := r.Get(lbl("ret")); ok {
		t.Fatal("a dropped lens is still there")
	}
}

// TestChainBound: composing a lens with itself doubles its chain; past MaxChain it is refused
// and nothing changes.
func TestChainBound(t *testing.T) {
	r := open(t, 100, "")
	if err := r.Create(lbl("l0"), lbl("s"), "identity"); err != nil {
		t.Fatal(err)
	}
	prev := "l0"
	for i := 1; ; i++ {
		name := "l" + string(rune('0'+i))
		err := r.Compose(lbl(name), lbl(prev), lbl(prev))
		if 1<<i > MaxChain {
			if !errors.Is(err, ErrChainTooLong) || r.Len() != i {
				t.Fatalf("a chain of %d steps: %v, %d lenses", 1<<i, err, r.Len())
			}
			return
		}
		if err != nil {
			t.Fatalf("a chain of %d steps: %v", 1<<i, err)
		}
		if got, _ := r.Get(lbl(name)); len(got.Chain) != 1<<i {
			t.Fatalf("chain of %d steps, want %d", len(got.Chain), 1<<i)
		}
		prev = name
	}
}

// TestListIsAscendingByteWise: labels sort as bytes, zero and 0xFF bytes included.
func TestListIsAscendingByteWise(t *testing.T) {
	r := open(t, 10, "")
	labels := []series.Label{{0xFF}, {}, {0: 1, 31: 0xFF}, {0: 1}, lbl("b"), lbl("a\xff"), lbl("a")}
	for _, l := range labels {
		if err := r.Create(l, l, "identity"); err != nil {
			t.Fatal(err)
		}
	}
	got := r.List(nil)
	want := slices.Clone(labels)
	slices.SortFunc(want, series.Compare)
	if !slices.Equal(got, want) {
		t.Fatalf("List = %v, want %v", got, want)
	}
}

// TestNotServingOutsideLoadAndClose: a change before Load or after Close is refused as a
// store failure, and changes nothing.
func TestNotServingOutsideLoadAndClose(t *testing.T) {
	r, err := Open(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Create(lbl("a"), lbl("s"), "identity"); !errors.Is(err, ErrStore) {
		t.Fatalf("before Load: %v", err)
	}
	if _, err := r.Load(); err != nil {
		t.Fatal(err)
	}
	_ = r.Close()
	if err := r.Create(lbl("a"), lbl("s"), "identity"); !errors.Is(err, ErrStore) || r.Len() != 0 {
		t.Fatalf("after Close: %v, %d lenses", err, r.Len())
	}
	if r.Capacity() != DefaultCapacity {
		t.Fatalf("capacity %d", r.Capacity())
	}
}
