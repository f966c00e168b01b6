package catalog

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/taudb/tau/internal/actor"
	"github.com/taudb/tau/internal/series"
	"github.com/taudb/tau/internal/storage"
)

func newCatalog(t testing.TB, capacity int) *Catalog {
	c := New(storage.NewMemory(), Options{Capacity: capacity, Workers: 2, MailboxCapacity: 4, MaxConnections: 8})
	done := make(chan struct{})
	go func() { _ = c.Pool().Run(); close(done) }()
	t.Cleanup(func() { c.Pool().Stop(); <-done })
	return c
}

func drop(t testing.TB, c *Catalog, l series.Label) {
	s, ok := c.Lookup(l)
	if !ok {
		t.Fatalf("drop of unknown %v", l)
	}
	r := actor.NewResult()
	s.Send(actor.Message{Kind: actor.KindDrop, Result: r})
	r.Wait()
}

func ones() (l series.Label) {
	for i := range l {
		l[i] = 0xFF
	}
	return l
}

// successor mirrors the wire's rule for the next page (docs/protocol.md, E1).
func successor(l series.Label) (series.Label, bool) {
	for i := len(l) - 1; i >= 0; i-- {
		l[i]++
		if l[i] != 0 {
			return l, true
		}
	}
	return l, false
}

func TestList(t *testing.T) {
	c := newCatalog(t, 100)
	labels := []series.Label{ones(), {}, {31: 1}, {0: 0xFF}, series.LabelFromString("b"), series.LabelFromString("a"),
		series.LabelFromString("a\x00\x01"), {0: 'a', 31: 0xFF}}
	for _, l := range labels {
		if _, err := c.Create(l); err != nil {
			t.Fatal(err)
		}
	}
	sorted := slices.Clone(labels)
	slices.SortFunc(sorted, series.Compare)
	cases := []struct {
		name  string
		start series.Label
		limit int
		want  []series.Label
		more  bool
	}{
		{"all from zero", series.Label{}, 0, sorted, false},
		{"limit 0 means the maximum", series.Label{}, 0, sorted, false},
		{"limit over the maximum means the maximum", series.Label{}, MaxListLimit + 1, sorted, false},
		{"negative limit means the maximum", series.Label{}, -1, sorted, false},
		{"limit 1", series.Label{}, 1, sorted[:1], true},
		{"limit exactly the count", series.Label{}, len(sorted), sorted, false},
		{"start is inclusive", series.LabelFromString("a"), 2, []series.Label{series.LabelFromString("a"), {0: 'a', 31: 0xFF}}, true},
		{"start between labels", series.Label{31: 2}, 1, []series.Label{series.LabelFromString("a")}, true},
		{"start at all 0xFF", ones(), 5, []series.Label{ones()}, false},
		{"start past the 0xFF-led labels", series.Label{0: 0xFF, 31: 1}, 5, []series.Label{ones()}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, more := c.List(tc.start, tc.limit, nil)
			if !slices.Equal(got, tc.want) || more != tc.more {
				t.Fatalf("List = %v more %v, want %v more %v", got, more, tc.want, tc.more)
			}
		})
	}
	t.Run("paging with the successor", func(t *testing.T) {
		var all []series.Label
		start := series.Label{}
		for {
			page, more := c.List(start, 3, nil)
			all = append(all, page...)
			if !more {
				break
			}
			next, ok := successor(page[len(page)-1])
			if !ok {
				t.Fatal("more after all-0xFF")
			}
			start = next
		}
		if !slices.Equal(all, sorted) {
			t.Fatalf("pages gave %v, want %v", all, sorted)
		}
	})
	t.Run("drop leaves the index", func(t *testing.T) {
		drop(t, c, series.LabelFromString("a"))
		got, _ := c.List(series.Label{}, 0, nil)
		if slices.Contains(got, series.LabelFromString("a")) || len(got) != len(sorted)-1 {
			t.Fatalf("after drop: %v", got)
		}
	})
}

func TestListAfterRestore(t *testing.T) {
	c := New(storage.NewMemory(), Options{Capacity: 10, Workers: 1, MailboxCapacity: 4})
	in := []series.Label{series.LabelFromString("z"), {}, series.LabelFromString("m"), ones()}
	var states []storage.SeriesState
	for _, l := range in {
		states = append(states, storage.SeriesState{Label: l})
	}
	c.Restore(states)
	got, more := c.List(series.Label{}, 0, nil)
	want := []series.Label{{}, series.LabelFromString("m"), series.LabelFromString("z"), ones()}
	if !slices.Equal(got, want) || more {
		t.Fatalf("restored listing %v, want %v", got, want)
	}
}

// TestListDuringCreatesAndDrops pages through the catalog while other goroutines create and
// drop series: every series that exists for the whole listing appears exactly once, and the
// pages come in ascending order.
func TestListDuringCreatesAndDrops(t *testing.T) {
	const stable, churn = 300, 300
	c := newCatalog(t, stable+churn)
	r := rand.New(rand.NewPCG(5, 6))
	label := func() (l series.Label) {
		for i := range l {
			l[i] = byte(r.IntN(3)) * 0x7F // 0x00, 0x7F and 0xFF bytes
		}
		return l
	}
	keep := map[series.Label]bool{}
	for len(keep) < stable {
		l := label()
		if _, err := c.Create(l); err == nil {
			keep[l] = true
		}
	}
	var churners []series.Label
	for len(churners) < churn {
		l := label()
		if !keep[l] && !slices.Contains(churners, l) {
			churners = append(churners, l)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func(mine []series.Label) {
			defer wg.Done()
			for {
				for _, l := range mine {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := c.Create(l); err == nil {
						drop(t, c, l)
					}
				}
			}
		}(churners[w*churn/2 : (w+1)*churn/2])
	}
	for round := range 30 {
		seen := map[series.Label]int{}
		start, prev := series.Label{}, []byte(nil)
		for {
			page, more := c.List(start, 1+round, nil)
			for _, l := range page {
				if prev != nil && bytes.Compare(prev, l[:]) >= 0 {
					t.Fatalf("round %d: %x after %x", round, l, prev)
				}
				prev = slices.Clone(l[:])
				seen[l]++
			}
			if !more {
				break
			}
			var ok bool
			if start, ok = successor(page[len(page)-1]); !ok {
				t.Fatal("more after all-0xFF")
			}
		}
		for l := range keep {
			if seen[l] != 1 {
				t.Fatalf("round %d: stable series %x listed %d times", round, l, seen[l])
			}
		}
	}
	close(stop)
	wg.Wait()
}

// BenchmarkIndex measures the ordered index at the default capacity: a create and drop pair
// among 10,000 series, and a full page of 4096 labels.
func BenchmarkIndex(b *testing.B) {
	var x index
	r := rand.New(rand.NewPCG(1, 2))
	random := func() (l series.Label) {
		for i := range l {
			l[i] = byte(r.Uint32())
		}
		return l
	}
	var labels []series.Label
	for range 10_000 {
		labels = append(labels, random())
	}
	x.reset(labels)
	b.Run("insert+remove", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			l := random()
			x.insert(l)
			x.remove(l)
		}
	})
	b.Run("page4096", func(b *testing.B) {
		b.ReportAllocs()
		dst := make([]series.Label, 0, MaxListLimit)
		for b.Loop() {
			dst, _ = x.page(random(), MaxListLimit, dst[:0])
		}
	})
}
