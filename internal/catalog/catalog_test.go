package catalog

import (
	"errors"
	"testing"

	"github.com/taudb/tau/internal/actor"
	"github.com/taudb/tau/internal/series"
	"github.com/taudb/tau/internal/storage"
)

func TestCreateCapacityAndDrop(t *testing.T) {
	c := New(storage.NewMemory(), Options{Capacity: 2, Workers: 1, MailboxCapacity: 4, MaxConnections: 4})
	go func() { _ = c.Pool().Run() }()
	t.Cleanup(c.Pool().Stop)
	a, b, x := series.LabelFromString("a"), series.LabelFromString("b"), series.LabelFromString("x")
	steps := []struct {
		l    series.Label
		want error
	}{
		{a, nil}, {a, ErrSeriesExists}, {b, nil},
		{x, ErrCatalogFull}, {b, ErrSeriesExists},
	}
	for i, st := range steps {
		if _, got := c.Create(st.l); !errors.Is(got, st.want) {
			t.Fatalf("step %d: create %q = %v, want %v", i, st.l[:1], got, st.want)
		}
	}
	s, ok := c.Lookup(a)
	if !ok || c.Len() != 2 {
		t.Fatal("lookup after create")
	}
	r := actor.NewResult()
	s.Send(actor.Message{Kind: actor.KindDrop, Result: r})
	r.Wait()
	if _, ok := c.Lookup(a); ok || c.Len() != 1 {
		t.Fatal("drop did not free the route")
	}
	if _, got := c.Create(x); got != nil {
		t.Fatalf("create after drop: %v", got)
	}
}

func TestRestoreKeepsSeriesBeyondCapacity(t *testing.T) {
	c := New(storage.NewMemory(), Options{Capacity: 1, Workers: 1, MailboxCapacity: 4})
	c.Restore([]storage.SeriesState{{Label: series.LabelFromString("a")}, {Label: series.LabelFromString("b")}})
	if c.Len() != 2 {
		t.Fatalf("restored %d", c.Len())
	}
	if _, got := c.Create(series.LabelFromString("c")); !errors.Is(got, ErrCatalogFull) {
		t.Fatalf("create over a lowered capacity: %v", got)
	}
}
