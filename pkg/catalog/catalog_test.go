package catalog

import (
	"testing"

	"github.com/taudb/tau/pkg/actor"
	"github.com/taudb/tau/pkg/protocol"
	"github.com/taudb/tau/pkg/storage"
)

func TestCreateCapacityAndDrop(t *testing.T) {
	c := New(storage.NewMemory(), Options{Capacity: 2, Workers: 1, MailboxCapacity: 4, MaxConnections: 4})
	go func() { _ = c.Pool().Run() }()
	t.Cleanup(c.Pool().Stop)
	a, b, x := protocol.LabelFromString("a"), protocol.LabelFromString("b"), protocol.LabelFromString("x")
	steps := []struct {
		l    protocol.Label
		want protocol.Status
	}{
		{a, 0}, {a, protocol.StatusSeriesAlreadyExists}, {b, 0},
		{x, protocol.StatusInternalError}, {b, protocol.StatusSeriesAlreadyExists},
	}
	for i, st := range steps {
		if _, got := c.Create(st.l); got != st.want {
			t.Fatalf("step %d: create %q = %v, want %v", i, st.l[:1], got, st.want)
		}
	}
	s, ok := c.Lookup(a)
	if !ok || c.Len() != 2 {
		t.Fatal("lookup after create")
	}
	r := actor.NewReply()
	s.Send(actor.Message{Kind: actor.KindDrop, Reply: r})
	r.Wait()
	if _, ok := c.Lookup(a); ok || c.Len() != 1 {
		t.Fatal("drop did not free the route")
	}
	if _, got := c.Create(x); got != 0 {
		t.Fatalf("create after drop: %v", got)
	}
}

func TestRestoreKeepsSeriesBeyondCapacity(t *testing.T) {
	c := New(storage.NewMemory(), Options{Capacity: 1, Workers: 1, MailboxCapacity: 4})
	c.Restore([]storage.SeriesState{{Label: protocol.LabelFromString("a")}, {Label: protocol.LabelFromString("b")}})
	if c.Len() != 2 {
		t.Fatalf("restored %d", c.Len())
	}
	if _, got := c.Create(protocol.LabelFromString("c")); got != protocol.StatusInternalError {
		t.Fatalf("create over a lowered capacity: %v", got)
	}
}
