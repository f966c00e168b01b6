package actor

import (
	"errors"
	"math"
	"sync"
	"testing"

	"github.com/taudb/tau/internal/query"
	"github.com/taudb/tau/internal/series"
	"github.com/taudb/tau/internal/storage"
)

func startPool(t *testing.T, workers int, hooks Hooks) *Pool {
	p := NewPool(workers, 16, 64, storage.NewMemory(), hooks)
	done := make(chan struct{})
	go func() { _ = p.Run(); close(done) }()
	t.Cleanup(func() { p.Stop(); <-done })
	return p
}

func call(s *Series, m Message) *Result {
	m.Result = NewResult()
	if !s.Send(m) {
		m.Result.Err = errBusy
		return m.Result
	}
	m.Result.Wait()
	return m.Result
}

var errBusy = errors.New("busy")

func TestSeriesOperations(t *testing.T) {
	var droppedLabel series.Label
	p := startPool(t, 2, Hooks{Dropped: func(s *Series) { droppedLabel = s.Label() }})
	s := p.NewSeries(series.LabelFromString("x"), nil, 0, storage.Ticket{})
	steps := []struct {
		m     Message
		err   error
		found bool
		value uint64
	}{
		{Message{Kind: KindAppend, TS: 5, Value: 7}, nil, false, 0},
		{Message{Kind: KindAppend, TS: 5, Value: 8}, ErrOutOfOrder, false, 0},
		{Message{Kind: KindAppend, TS: math.MinInt64, Value: 8}, ErrOutOfOrder, false, 0},
		{Message{Kind: KindQuery, TS: 5}, nil, true, 7},
		{Message{Kind: KindQuery, TS: 6}, nil, false, 0},
		{Message{Kind: KindDrop}, nil, false, 0},
		{Message{Kind: KindQuery, TS: 5}, ErrSeriesNotFound, false, 0},
		{Message{Kind: KindAppend, TS: 9}, ErrSeriesNotFound, false, 0},
	}
	for i, st := range steps {
		r := call(s, st.m)
		if !errors.Is(r.Err, st.err) || r.Found != st.found || r.Value != st.value {
			t.Fatalf("step %d: got error %v found %v value %d", i, r.Err, r.Found, r.Value)
		}
	}
	if droppedLabel != s.Label() {
		t.Fatal("drop hook not called")
	}
}

func TestSnapshotSeesEarlierMail(t *testing.T) {
	p := startPool(t, 1, Hooks{})
	s := p.NewSeries(series.LabelFromString("snap"), nil, 0, storage.Ticket{})
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
			s := p.NewSeries(series.LabelFromString(string(rune('a'+w))), nil, 0, storage.Ticket{})
			for i := 0; i < 200; i++ {
				if r := call(s, Message{Kind: KindAppend, TS: int64(i), Value: uint64(w)}); r.Err != nil {
					t.Errorf("append: %v", r.Err)
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

// TestDoRunsInlineOnlyWhenIdle: Do runs an idle actor's message on the caller's goroutine, and
// queues it behind a running actor, so the series' order holds either way.
func TestDoRunsInlineOnlyWhenIdle(t *testing.T) {
	p := startPool(t, 1, Hooks{})
	s := p.NewSeries(series.LabelFromString("inline"), nil, 0, storage.Ticket{})
	r := NewResult()
	if !s.Do(Message{Kind: KindAppend, TS: 1, Value: 10, Result: r}) {
		t.Fatal("Do refused on an idle actor")
	}
	select {
	case <-r.done:
		r.done <- struct{}{} // put the signal back for Wait
	default:
		t.Fatal("Do on an idle actor returned before running the message")
	}
	// Hold the actor on a worker: a snapshot waits for the pool; while it is queued or
	// running, Do must queue behind it.
	held := make(chan struct{})
	release := make(chan struct{})
	go func() {
		if !s.box.claim() {
			t.Error("actor not idle")
		}
		close(held)
		<-release
		if s.box.release() {
			p.schedule(s)
		}
	}()
	<-held
	queued := NewResult()
	if !s.Do(Message{Kind: KindAppend, TS: 2, Value: 20, Result: queued}) {
		t.Fatal("Do refused while the actor is busy")
	}
	select {
	case <-queued.done:
		t.Fatal("Do ran a message while another runner held the actor")
	default:
	}
	close(release)
	queued.Wait()
	if queued.Err != nil {
		t.Fatalf("queued append: %v", queued.Err)
	}
	if got := call(s, Message{Kind: KindQuery, TS: 2}); !got.Found || got.Value != 20 {
		t.Fatalf("query after the queued append: %+v", got)
	}
}

// TestReadsRunInSeriesOrder: SERIES_INFO and range reads see every earlier request on the
// series, and a dropped series answers them series_not_found.
func TestReadsRunInSeriesOrder(t *testing.T) {
	p := startPool(t, 2, Hooks{})
	s := p.NewSeries(series.LabelFromString("reads"), nil, 0, storage.Ticket{})
	if r := call(s, Message{Kind: KindInfo}); r.Err != nil || r.Info != (Info{}) {
		t.Fatalf("empty series info %+v %v", r.Info, r.Err)
	}
	// Queued back to back: each read must see the appends before it and none after.
	results := make([]*Result, 0, 6)
	page := &query.Page{Range: query.Range{Start: math.MinInt64, End: math.MaxInt64}}
	send := func(m Message) {
		m.Result = NewResult()
		if m.Kind == KindRange {
			m.Result.Page = page
		}
		if !s.Send(m) {
			t.Fatal("mailbox full")
		}
		results = append(results, m.Result)
	}
	send(Message{Kind: KindAppend, TS: -5, Value: 1})
	send(Message{Kind: KindAppend, TS: 7, Value: 2})
	send(Message{Kind: KindInfo})
	send(Message{Kind: KindRange})
	send(Message{Kind: KindAppend, TS: 9, Value: 3})
	for _, r := range results {
		r.Wait()
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	if got := results[2].Info; got != (Info{Points: 2, First: -5, Last: 7}) {
		t.Fatalf("info %+v", got)
	}
	if len(page.Points) != 2 || page.Points[1] != (query.Point{TS: 7, Value: 2}) {
		t.Fatalf("range %v", page.Points)
	}
	call(s, Message{Kind: KindDrop})
	if r := call(s, Message{Kind: KindInfo}); !errors.Is(r.Err, ErrSeriesNotFound) {
		t.Fatalf("info after drop: %v", r.Err)
	}
	if r := call(s, Message{Kind: KindRange}); !errors.Is(r.Err, ErrSeriesNotFound) {
		t.Fatalf("range after drop: %v", r.Err)
	}
}

// TestLookback: KindLookback reads the point at TS and up to Back points before it, after
// every request queued before it, into the result's reused buffer.
func TestLookback(t *testing.T) {
	p := startPool(t, 1, Hooks{})
	s := p.NewSeries(series.LabelFromString("l"), nil, 0, storage.Ticket{})
	for ts := int64(1); ts <= 5; ts++ {
		if r := call(s, Message{Kind: KindAppend, TS: ts * 10, Value: uint64(ts)}); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	r := NewResult()
	cases := []struct {
		ts    int64
		back  int
		found bool
		want  []uint64
	}{
		{50, 2, true, []uint64{3, 4, 5}},
		{20, 3, true, []uint64{1, 2}},
		{25, 1, false, nil},
		{10, 0, true, []uint64{1}},
	}
	for _, c := range cases {
		r.Reset()
		r.Back = c.back
		if !s.Send(Message{Kind: KindLookback, TS: c.ts, Result: r}) {
			t.Fatal("busy")
		}
		r.Wait()
		if r.Err != nil || r.Found != c.found || len(r.Points) != len(c.want) {
			t.Fatalf("lookback %d, %d: %v %v %v", c.ts, c.back, r.Err, r.Found, r.Points)
		}
		for i, v := range c.want {
			if r.Points[i].Value != v {
				t.Fatalf("lookback %d, %d: %v", c.ts, c.back, r.Points)
			}
		}
	}
}
