package storage

import (
	"bytes"
	"math/rand"
	"slices"
	"sort"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/taudb/tau/internal/series"
)

// lbl makes a label from s, zero-padded: tests use labels with '/', "..", and zero bytes to
// show none of it reaches a path.
func lbl(s string) series.Label {
	var l series.Label
	copy(l[:], s)
	return l
}

type point struct {
	ts   int64
	bits uint64
}

// model is what the store must give back: the acknowledged effects, applied in order.
type model map[series.Label][]point

func (m model) apply(r Record) {
	switch r.Type {
	case RecordCreate:
		m[r.Label] = []point{}
	case RecordDrop:
		delete(m, r.Label)
	case RecordAppend:
		m[r.Label] = append(m[r.Label], point{r.TS, r.Value})
	case RecordBatch:
		for _, p := range r.Points {
			m[r.Label] = append(m[r.Label], point{p.TS, p.Value})
		}
	}
}

// must fails the test when a step setting up its scene fails.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// checkStates compares recovered series with the model, point by point.
func checkStates(t *testing.T, got []SeriesState, want model) {
	t.Helper()
	if !sort.SliceIsSorted(got, func(i, j int) bool { return bytes.Compare(got[i].Label[:], got[j].Label[:]) < 0 }) {
		t.Errorf("recovered series not sorted by label")
	}
	if len(got) != len(want) {
		t.Fatalf("recovered %d series, want %d", len(got), len(want))
	}
	for _, s := range got {
		pts, ok := want[s.Label]
		if !ok {
			t.Fatalf("recovered unexpected series %q", s.Label[:])
		}
		if s.Series.Len() != len(pts) {
			t.Fatalf("series %q: %d points, want %d", bytes.TrimRight(s.Label[:], "\x00"), s.Series.Len(), len(pts))
		}
		for _, p := range pts {
			if bits, found := s.Series.Lookup(p.ts); !found || bits != p.bits {
				t.Fatalf("series %q ts %d: got %x found=%v, want %x", s.Label[:], p.ts, bits, found, p.bits)
			}
		}
	}
}

// observed returns a logger that records warnings and above for assertions.
func observed() (*zap.Logger, *observer.ObservedLogs) {
	core, logs := observer.New(zap.WarnLevel)
	return zap.New(core), logs
}

func openRecovered(t testing.TB, dir string, opts DiskOptions) (*Disk, []SeriesState) {
	t.Helper()
	d, err := OpenDisk(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	states, err := d.Recover()
	if err != nil {
		t.Fatal(err)
	}
	return d, states
}

// appendWait appends r and waits for its ticket.
func appendWait(d Store, r Record) (Record, error) {
	t, err := d.Append(&r)
	if err != nil {
		return r, err
	}
	return r, t.Wait()
}

func mustAppend(t testing.TB, d Store, m model, r Record) Record {
	t.Helper()
	r, err := appendWait(d, r)
	if err != nil {
		t.Fatalf("append %v: %v", r.Type, err)
	}
	if m != nil {
		m.apply(r)
	}
	return r
}

func create(l series.Label) Record { return Record{Type: RecordCreate, Label: l} }
func drop(l series.Label) Record   { return Record{Type: RecordDrop, Label: l} }
func app(l series.Label, ts int64, v uint64) Record {
	return Record{Type: RecordAppend, Label: l, TS: ts, Value: v}
}

// sameRecord compares records field by field, a batch's points included.
func sameRecord(a, b Record) bool {
	return a.Type == b.Type && a.LSN == b.LSN && a.Label == b.Label && a.TS == b.TS && a.Value == b.Value &&
		slices.Equal(a.Points, b.Points)
}

// snapshotOf is what an actor hands a checkpoint for s: its full chunks to flush, its head.
func snapshotOf(l series.Label, lastLSN uint64, s *Series) SeriesSnapshot {
	snap := SeriesSnapshot{Label: l, LastLSN: lastLSN}
	s.Snapshot(&snap)
	return snap
}

// testutilCompactions reads d's compaction counter.
func testutilCompactions(d *Disk) float64 { return testutil.ToFloat64(d.metrics.compactions) }

// loggedSeries is one series written as the server writes it: each point logged to d, then
// appended to s. all is every point written, in order; d and s may be replaced after a
// restart, and writing goes on.
type loggedSeries struct {
	t     *testing.T
	d     *Disk
	s     *Series
	rng   *rand.Rand
	label series.Label
	all   []point
}

// newLoggedSeries creates the series "s" in d.
func newLoggedSeries(t *testing.T, d *Disk, rng *rand.Rand) *loggedSeries {
	w := &loggedSeries{t: t, d: d, s: NewSeries(), rng: rng, label: lbl("s")}
	mustAppend(t, d, nil, create(w.label))
	return w
}

// write logs and appends n random points after the last one.
func (w *loggedSeries) write(n int) {
	last := int64(0)
	if len(w.all) > 0 {
		last = w.all[len(w.all)-1].ts
	}
	for _, p := range randomPoints(w.rng, n, last) {
		mustAppend(w.t, w.d, nil, app(w.label, p.ts, p.bits))
		w.s.Append(p.ts, p.bits)
		w.all = append(w.all, p)
	}
}

// filesThenWrite writes and flushes four chunk files, then writes once more: the next
// checkpoint both writes a file and merges the four.
func (w *loggedSeries) filesThenWrite(n int) {
	for range 4 {
		w.write(n)
		flushNow(w.t, w.d, w.s)
	}
	w.write(n)
}

// metricValue is the value of the one counter or gauge named name in reg.
func metricValue(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name || len(f.GetMetric()) != 1 {
			continue
		}
		m := f.GetMetric()[0]
		if c := m.GetCounter(); c != nil {
			return c.GetValue()
		}
		return m.GetGauge().GetValue()
	}
	t.Fatalf("no metric %s", name)
	return 0
}
