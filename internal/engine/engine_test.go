package engine

import (
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/taudb/tau/internal/dirlock"
	"github.com/taudb/tau/internal/series"
	"github.com/taudb/tau/internal/storage"
	"github.com/taudb/tau/internal/testenv/hang"
)

// start runs an engine on store until the test ends.
func start(t *testing.T, store Store, o Options) *Engine {
	t.Helper()
	if o.Capacity == 0 {
		o.Capacity = 4
	}
	if o.Workers == 0 {
		o.Workers = 2
	}
	if o.MailboxCapacity == 0 {
		o.MailboxCapacity = 8
	}
	o.MaxCallers = 4
	o.Store = store
	e, err := Open(o, zap.NewNop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Recover(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = e.Run(); close(done) }()
	t.Cleanup(func() { e.Stop(); <-done; _ = e.Close() })
	return e
}

// call runs one request and returns its outcome once durable.
func call(req func(*Result)) (*Result, error) {
	res := NewResult()
	req(res)
	res.Wait()
	err := res.Durable()
	return res, err
}

func TestRequests(t *testing.T) {
	e := start(t, MemoryStore(), Options{Capacity: 2})
	a, b, c := series.LabelFromString("a"), series.LabelFromString("b"), series.LabelFromString("c")
	nan := math.Float64bits(math.NaN()) | 1 // a NaN payload must come back exactly
	steps := []struct {
		name  string
		req   func(*Result)
		err   error
		found bool
		value uint64
	}{
		{"query unknown", func(r *Result) { e.QueryPoint(a, 1, r) }, ErrSeriesNotFound, false, 0},
		{"append unknown", func(r *Result) { e.Append(a, 1, 2, r) }, ErrSeriesNotFound, false, 0},
		{"drop unknown", func(r *Result) { e.Drop(a, r) }, ErrSeriesNotFound, false, 0},
		{"create", func(r *Result) { e.Create(a, r) }, nil, false, 0},
		{"create again", func(r *Result) { e.Create(a, r) }, ErrSeriesExists, false, 0},
		{"append", func(r *Result) { e.Append(a, -5, nan, r) }, nil, false, 0},
		{"append same ts", func(r *Result) { e.Append(a, -5, 1, r) }, ErrOutOfOrder, false, 0},
		{"append earlier", func(r *Result) { e.Append(a, math.MinInt64, 1, r) }, ErrOutOfOrder, false, 0},
		{"query found", func(r *Result) { e.QueryPoint(a, -5, r) }, nil, true, nan},
		{"query missing", func(r *Result) { e.QueryPoint(a, 0, r) }, nil, false, 0},
		{"create second", func(r *Result) { e.Create(b, r) }, nil, false, 0},
		{"catalog full", func(r *Result) { e.Create(c, r) }, ErrCatalogFull, false, 0},
		{"exists beats full", func(r *Result) { e.Create(b, r) }, ErrSeriesExists, false, 0},
		{"drop", func(r *Result) { e.Drop(a, r) }, nil, false, 0},
		{"query dropped", func(r *Result) { e.QueryPoint(a, -5, r) }, ErrSeriesNotFound, false, 0},
		{"create after drop", func(r *Result) { e.Create(c, r) }, nil, false, 0},
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
	if e.Len() != 2 {
		t.Fatalf("Len() = %d, want 2", e.Len())
	}
}

// gatedStore stalls appends until the gate opens, so a mailbox fills deterministically.
type gatedStore struct {
	storage.Memory
	entered chan struct{}
	gate    chan struct{}
	once    sync.Once
}

func (g *gatedStore) Append(r *storage.Record) (storage.Ticket, error) {
	if r.Type == storage.RecordAppend {
		g.once.Do(func() { close(g.entered); <-g.gate })
	}
	return g.Memory.Append(r)
}

func TestFullMailboxIsBusy(t *testing.T) {
	g := &gatedStore{entered: make(chan struct{}), gate: make(chan struct{})}
	e := start(t, g, Options{MailboxCapacity: 2})
	l := series.LabelFromString("hot")
	if _, err := call(func(r *Result) { e.Create(l, r) }); err != nil {
		t.Fatal(err)
	}
	stalled := NewResult()
	go e.Append(l, 0, 0, stalled) // its actor now waits in the store (perhaps on this goroutine)
	<-g.entered
	queued := []*Result{NewResult(), NewResult()}
	for i, r := range queued {
		e.Append(l, int64(i+1), 0, r)
	}
	if _, err := call(func(r *Result) { e.Append(l, 9, 0, r) }); !errors.Is(err, ErrBusy) {
		t.Fatalf("append to a full mailbox: %v, want ErrBusy", err)
	}
	close(g.gate)
	for _, r := range append(queued, stalled) {
		r.Wait()
		if err := r.Durable(); err != nil {
			t.Fatalf("queued append: %v", err)
		}
	}
}

// failingStore refuses every write, as a log does after a failed fsync.
type failingStore struct{ storage.Memory }

func (*failingStore) Append(*storage.Record) (storage.Ticket, error) {
	return storage.Ticket{}, storage.ErrLogFailed
}

func TestStorageFailure(t *testing.T) {
	var told error
	e := start(t, &failingStore{}, Options{StorageFailed: func(err error) { told = err }})
	_, err := call(func(r *Result) { e.Create(series.LabelFromString("x"), r) })
	if !errors.Is(err, ErrStorageFailed) || !errors.Is(err, ErrLogFailed) {
		t.Fatalf("create on a failed log: %v", err)
	}
	if told == nil {
		t.Fatal("StorageFailed hook not called")
	}
}

// slowCheckpointStore makes a checkpoint take long enough for a stop to arrive in its middle.
type slowCheckpointStore struct {
	storage.Memory
	begun chan struct{}
	once  sync.Once
}

func (s *slowCheckpointStore) BeginCheckpoint() (storage.Mark, error) {
	s.once.Do(func() { close(s.begun) })
	time.Sleep(20 * time.Millisecond)
	return s.Memory.BeginCheckpoint()
}

// TestStopDuringCheckpoint: Stop arrives while a periodic checkpoint is taking its snapshots.
// The checkpoint needs the worker pool, so Stop must wait for it instead of stopping the pool
// under it (which left the checkpoint, and the whole shutdown, waiting forever).
func TestStopDuringCheckpoint(t *testing.T) {
	for round := 0; round < 20; round++ {
		st := &slowCheckpointStore{begun: make(chan struct{})}
		e, err := Open(Options{Capacity: 64, Workers: 2, MailboxCapacity: 8, MaxCallers: 1, Store: st}, zap.NewNop(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Recover(); err != nil {
			t.Fatal(err)
		}
		poolDone := make(chan struct{})
		go func() { _ = e.Run(); close(poolDone) }()
		for i := 0; i < 64; i++ {
			if _, err := call(func(r *Result) { e.Create(series.Label{byte(i)}, r) }); err != nil {
				t.Fatal(err)
			}
		}
		checkpointDone := make(chan error, 1)
		go func() { checkpointDone <- e.Checkpoint() }()
		<-st.begun
		stopped := make(chan struct{})
		go func() { e.Stop(); close(stopped) }()
		select {
		case <-stopped:
		case <-hang.After(t):
			t.Fatalf("round %d: Stop hung behind a running checkpoint", round)
		}
		if err := <-checkpointDone; err != nil {
			t.Fatalf("round %d: the running checkpoint failed: %v", round, err)
		}
		<-poolDone
		if err := e.Checkpoint(); !errors.Is(err, ErrStopped) {
			t.Fatalf("checkpoint after Stop: %v, want ErrStopped", err)
		}
	}
}

func pt(ts int64, bits uint64) Point { return Point{TS: ts, Value: bits} }

func TestReads(t *testing.T) {
	e := start(t, MemoryStore(), Options{Capacity: 4})
	a, b, unknown := series.LabelFromString("a"), series.LabelFromString("b"), series.LabelFromString("nope")
	for _, l := range []series.Label{b, a} {
		if _, err := call(func(r *Result) { e.Create(l, r) }); err != nil {
			t.Fatal(err)
		}
	}
	info := func(l series.Label) (SeriesInfo, error) {
		res, err := call(func(r *Result) { e.SeriesInfo(l, r) })
		return res.Info(), err
	}
	if got, err := info(a); err != nil || got != (SeriesInfo{}) {
		t.Fatalf("info of an empty series: %+v %v", got, err)
	}
	if _, err := info(unknown); !errors.Is(err, ErrSeriesNotFound) {
		t.Fatalf("info of an unknown series: %v", err)
	}
	for i, ts := range []int64{-20, -11, 0, 5, 9, 10} {
		if _, err := call(func(r *Result) { e.Append(a, ts, math.Float64bits(float64(i)), r) }); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := info(a); err != nil || got != (SeriesInfo{Points: 6, First: -20, Last: 10}) {
		t.Fatalf("info: %+v %v", got, err)
	}

	page := &RangePage{}
	rangeCases := []struct {
		name  string
		l     series.Label
		q     RangeQuery
		err   error
		want  []Point
		more  bool
		label series.Label
	}{
		{"raw", a, RangeQuery{Start: -11, End: 10, Limit: 3}, nil,
			[]Point{pt(-11, math.Float64bits(1)), pt(0, math.Float64bits(2)), pt(5, math.Float64bits(3))}, true, a},
		{"count in buckets of 10", a, RangeQuery{Start: math.MinInt64, End: math.MaxInt64, Agg: AggCount, Bucket: 10}, nil,
			[]Point{pt(-20, math.Float64bits(2)), pt(0, math.Float64bits(3)), pt(10, math.Float64bits(1))}, false, a},
		{"empty series", b, RangeQuery{Start: 0, End: 100}, nil, nil, false, b},
		{"unknown series", unknown, RangeQuery{Start: 0, End: 100}, ErrSeriesNotFound, nil, false, unknown},
		{"raw with a bucket", a, RangeQuery{Start: 0, End: 100, Bucket: 1}, ErrInvalidQuery, nil, false, a},
		{"unknown aggregation", a, RangeQuery{Start: 0, End: 100, Agg: 8, Bucket: 1}, ErrInvalidQuery, nil, false, a},
	}
	for _, c := range rangeCases {
		t.Run(c.name, func(t *testing.T) {
			page.Points, page.More = append(page.Points[:0], pt(1, 1)), true // a stale answer must not survive
			_, err := call(func(r *Result) { e.QueryRange(c.l, c.q, page, r) })
			if !errors.Is(err, c.err) || (c.err == nil && err != nil) {
				t.Fatalf("error %v, want %v", err, c.err)
			}
			if c.err == nil && (!slices.Equal(page.Points, c.want) || page.More != c.more) {
				t.Fatalf("got %v more %v, want %v more %v", page.Points, page.More, c.want, c.more)
			}
		})
	}

	list := &ListPage{}
	if _, err := call(func(r *Result) { e.ListSeries(series.Label{}, 1, list, r) }); err != nil ||
		!slices.Equal(list.Labels, []series.Label{a}) || !list.More {
		t.Fatalf("list: %v more %v", list.Labels, list.More)
	}
	if _, err := call(func(r *Result) { e.ListSeries(series.Label{1}, 0, list, r) }); err != nil ||
		!slices.Equal(list.Labels, []series.Label{a, b}) || list.More {
		t.Fatalf("list from 0x01: %v more %v", list.Labels, list.More)
	}
}

func TestOpenLocksTheDataDirectory(t *testing.T) {
	dir := t.TempDir()
	first, err := Open(Options{Dir: dir, Fsync: "always"}, zap.NewNop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var held *dirlock.HeldError
	if _, err := Open(Options{Dir: dir, Fsync: "always"}, zap.NewNop(), nil); !errors.As(err, &held) {
		t.Fatalf("second Open of %s: %v, want a *dirlock.HeldError", dir, err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Open(Options{Dir: dir, Fsync: "always"}, zap.NewNop(), nil)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	_ = again.Close()
}
