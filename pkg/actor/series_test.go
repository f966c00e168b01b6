package actor

import (
	"math"
	"sync"
	"testing"

	"github.com/taudb/tau/pkg/protocol"
	"github.com/taudb/tau/pkg/storage"
)

func startPool(t *testing.T, workers int, hooks Hooks) *Pool {
	p := NewPool(workers, 16, 64, storage.NewMemory(), hooks)
	done := make(chan struct{})
	go func() { _ = p.Run(); close(done) }()
	t.Cleanup(func() { p.Stop(); <-done })
	return p
}

func call(s *Series, m Message) *Reply {
	m.Reply = NewReply()
	if !s.Send(m) {
		m.Reply.Status = protocol.StatusBusy
		return m.Reply
	}
	m.Reply.Wait()
	return m.Reply
}

func TestSeriesOperations(t *testing.T) {
	var droppedLabel protocol.Label
	p := startPool(t, 2, Hooks{Dropped: func(s *Series) { droppedLabel = s.Label() }})
	s := p.NewSeries(protocol.LabelFromString("x"), nil, 0)
	steps := []struct {
		m      Message
		status protocol.Status
		found  bool
		value  uint64
	}{
		{Message{Kind: KindAppend, TS: 5, Value: 7}, 0, false, 0},
		{Message{Kind: KindAppend, TS: 5, Value: 8}, protocol.StatusOutOfOrder, false, 0},
		{Message{Kind: KindAppend, TS: math.MinInt64, Value: 8}, protocol.StatusOutOfOrder, false, 0},
		{Message{Kind: KindQuery, TS: 5}, 0, true, 7},
		{Message{Kind: KindQuery, TS: 6}, 0, false, 0},
		{Message{Kind: KindDrop}, 0, false, 0},
		{Message{Kind: KindQuery, TS: 5}, protocol.StatusSeriesNotFound, false, 0},
		{Message{Kind: KindAppend, TS: 9}, protocol.StatusSeriesNotFound, false, 0},
	}
	for i, st := range steps {
		r := call(s, st.m)
		if r.Status != st.status || r.Found != st.found || r.Value != st.value {
			t.Fatalf("step %d: got status %v found %v value %d", i, r.Status, r.Found, r.Value)
		}
	}
	if droppedLabel != s.Label() {
		t.Fatal("drop hook not called")
	}
}

func TestSnapshotSeesEarlierMail(t *testing.T) {
	p := startPool(t, 1, Hooks{})
	s := p.NewSeries(protocol.LabelFromString("snap"), nil, 0)
	for i := 0; i < 10; i++ {
		call(s, Message{Kind: KindAppend, TS: int64(i), Value: uint64(i)})
	}
	var snap storage.SeriesSnapshot
	if !s.Snapshot(&snap) || snap.LastLSN == 0 || len(snap.Data) == 0 || snap.Label != s.Label() {
		t.Fatalf("snapshot %+v", snap)
	}
}

// TestManySeriesConcurrently checks with -race that actors on a small pool never share data.
func TestManySeriesConcurrently(t *testing.T) {
	p := startPool(t, 2, Hooks{})
	var wg sync.WaitGroup
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			s := p.NewSeries(protocol.LabelFromString(string(rune('a'+w))), nil, 0)
			for i := 0; i < 200; i++ {
				if r := call(s, Message{Kind: KindAppend, TS: int64(i), Value: uint64(w)}); r.Status != 0 {
					t.Errorf("append: %v", r.Status)
					return
				}
			}
			if r := call(s, Message{Kind: KindQuery, TS: 199}); !r.Found || r.Value != uint64(w) {
				t.Errorf("series %d lost its data", w)
			}
		}(w)
	}
	wg.Wait()
	if p.Stats().Progress == 0 {
		t.Fatal("no progress counted")
	}
}
