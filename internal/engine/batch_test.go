package engine

import (
	"errors"
	"testing"

	"github.com/taudb/tau/internal/series"
	"github.com/taudb/tau/internal/storage"
)

// countingStore counts the records logged, by type.
type countingStore struct {
	storage.Memory
	records map[storage.RecordType]int
}

func (c *countingStore) Append(r *storage.Record) (storage.Ticket, error) {
	c.records[r.Type]++ // one actor at a time in these tests
	return c.Memory.Append(r)
}

func bp(ts int64, bits uint64) BatchPoint { return BatchPoint{TS: ts, Value: bits} }

// TestE3_AppendBatchAtomic: a batch is stored whole or not at all, as one log record; out of
// order anywhere (inside, or its first not after the series' last) stores nothing.
func TestE3_AppendBatchAtomic(t *testing.T) {
	store := &countingStore{records: map[storage.RecordType]int{}}
	e := start(t, store, Options{})
	l := series.LabelFromString("b")
	if _, err := call(func(r *Result) { e.Create(l, r) }); err != nil {
		t.Fatal(err)
	}
	nan := uint64(0x7ff8000000000001)
	if _, err := call(func(r *Result) { e.AppendBatch(l, []BatchPoint{bp(1, nan), bp(2, 1<<63), bp(5, 3)}, r) }); err != nil {
		t.Fatal(err)
	}
	if store.records[storage.RecordBatch] != 1 || store.records[storage.RecordAppend] != 0 {
		t.Fatalf("logged %v, want one batch record", store.records)
	}
	for _, bad := range [][]BatchPoint{
		{bp(6, 0), bp(7, 0), bp(7, 0)},    // a duplicate in the middle
		{bp(6, 0), bp(9, 0), bp(8, 0)},    // decreasing
		{bp(5, 0), bp(10, 0)},             // first not after the last
		{bp(-1, 0), bp(10, 0), bp(11, 0)}, // first before the last
	} {
		if _, err := call(func(r *Result) { e.AppendBatch(l, bad, r) }); !errors.Is(err, ErrOutOfOrder) {
			t.Fatalf("batch %v: %v, want ErrOutOfOrder", bad, err)
		}
	}
	if _, err := call(func(r *Result) { e.AppendBatch(l, nil, r) }); !errors.Is(err, ErrInvalidBatch) {
		t.Fatalf("empty batch: %v", err)
	}
	if _, err := call(func(r *Result) { e.AppendBatch(series.LabelFromString("none"), []BatchPoint{bp(1, 1)}, r) }); !errors.Is(err, ErrSeriesNotFound) {
		t.Fatalf("unknown series: %v", err)
	}
	if store.records[storage.RecordBatch] != 1 {
		t.Fatalf("refused batches were logged: %v", store.records)
	}
	res, err := call(func(r *Result) { e.SeriesInfo(l, r) })
	if err != nil || res.Info() != (SeriesInfo{Points: 3, First: 1, Last: 5}) {
		t.Fatalf("info %+v, %v", res.Info(), err)
	}
	for _, p := range []BatchPoint{bp(1, nan), bp(2, 1<<63), bp(5, 3)} {
		res, err := call(func(r *Result) { e.QueryPoint(l, p.TS, r) })
		if err != nil || !res.Found() || res.Value() != p.Value {
			t.Fatalf("point %d: %v %#x %v", p.TS, res.Found(), res.Value(), err)
		}
	}
}
