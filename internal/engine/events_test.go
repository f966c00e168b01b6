package engine

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/taudb/tau/internal/series"
	"github.com/taudb/tau/internal/storage"
)

// observed opens and runs an engine on store with a registry and a log the test reads.
func observed(t *testing.T, o Options) (*Engine, *prometheus.Registry, *observer.ObservedLogs, func()) {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	reg := prometheus.NewRegistry()
	o.Workers, o.MailboxCapacity, o.MaxCallers = 2, 8, 4
	e, err := Open(o, zap.New(core), reg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Recover(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = e.Run(); close(done) }()
	var stopped bool
	stop := func() {
		if !stopped {
			stopped = true
			e.Stop()
			<-done
			_ = e.Close()
		}
	}
	t.Cleanup(stop)
	return e, reg, logs, stop
}

// TestCatalogFullCountedAndLogged: every refusal by a full catalog is counted, and a flood of
// them is logged once a period, with the number held back, not once each.
func TestCatalogFullCountedAndLogged(t *testing.T) {
	e, _, logs, _ := observed(t, Options{Capacity: 1, Store: MemoryStore()})
	clock := time.Unix(1000, 0)
	e.events.catalogFullLog.now = func() time.Time { return clock }
	if _, err := call(func(r *Result) { e.Create(series.LabelFromString("first"), r) }); err != nil {
		t.Fatal(err)
	}
	create := func(n int) {
		for i := range n {
			_, err := call(func(r *Result) { e.Create(series.Label{1, byte(i)}, r) })
			if !errors.Is(err, ErrCatalogFull) {
				t.Fatalf("create beyond capacity: %v, want ErrCatalogFull", err)
			}
		}
	}
	create(100)
	clock = clock.Add(catalogFullLogPeriod)
	create(5)
	if got := testutil.ToFloat64(e.events.catalogFull); got != 105 {
		t.Fatalf("tau_catalog_full_refusals_total = %v, want 105", got)
	}
	lines := logs.FilterMessageSnippet("catalog full").All()
	if len(lines) != 2 {
		t.Fatalf("%d log lines for 105 refusals in two periods, want 2: %v", len(lines), lines)
	}
	for i, want := range []int64{0, 99} {
		f := lines[i].ContextMap()
		if lines[i].Level != zapcore.WarnLevel || f["capacity"] != int64(1) || f["refused_since_last_line"] != want {
			t.Errorf("line %d: %v %v, want warn with capacity 1 and refused_since_last_line %d", i, lines[i].Level, f, want)
		}
	}
	if _, err := call(func(r *Result) { e.Create(series.LabelFromString("first"), r) }); !errors.Is(err, ErrSeriesExists) {
		t.Fatalf("create of a live label: %v", err)
	}
	if got := testutil.ToFloat64(e.events.catalogFull); got != 105 {
		t.Fatalf("an existing label counted as a refusal: %v", got)
	}
}

// failingCheckpointStore cannot begin a checkpoint, as on a full or read-only disk.
type failingCheckpointStore struct{ storage.Memory }

var errCheckpointDisk = errors.New("no space left on device")

func (*failingCheckpointStore) BeginCheckpoint() (storage.Mark, error) {
	return storage.Mark{}, errCheckpointDisk
}

// TestCheckpointFailureCountedAndLogged: each failed checkpoint, periodic or final, is counted
// and logged once.
func TestCheckpointFailureCountedAndLogged(t *testing.T) {
	e, _, logs, stop := observed(t, Options{Capacity: 4, Store: &failingCheckpointStore{}})
	for range 2 {
		if err := e.Checkpoint(); !errors.Is(err, errCheckpointDisk) {
			t.Fatalf("checkpoint: %v, want %v", err, errCheckpointDisk)
		}
	}
	stop() // the final checkpoint fails too
	if got := testutil.ToFloat64(e.events.checkpointFailures); got != 3 {
		t.Fatalf("tau_storage_checkpoint_failures_total = %v, want 3", got)
	}
	lines := logs.FilterMessageSnippet("checkpoint failed").All()
	if len(lines) != 3 {
		t.Fatalf("%d log lines for 3 failures: %v", len(lines), lines)
	}
	for i, l := range lines {
		f := l.ContextMap()
		if l.Level != zapcore.ErrorLevel || f["final"] != (i == 2) || f["error"] != errCheckpointDisk.Error() {
			t.Errorf("line %d: %v %v", i, l.Level, f)
		}
	}
}

// TestFilesystemMetrics: the filesystem of the data directory is reported, size and space left,
// for the disk-nearly-full alert.
func TestFilesystemMetrics(t *testing.T) {
	dir := t.TempDir()
	store, err := storage.OpenDisk(dir, storage.DiskOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, reg, _, _ := observed(t, Options{Capacity: 4, Store: store, Dir: dir})
	values := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if len(mf.GetMetric()) == 1 && mf.GetMetric()[0].GetGauge() != nil {
			values[mf.GetName()] = mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	size, okSize := values["tau_storage_filesystem_size_bytes"]
	avail, okAvail := values["tau_storage_filesystem_available_bytes"]
	if !okSize || !okAvail || size <= 0 || avail > size {
		t.Fatalf("filesystem metrics size %v (%v), available %v (%v)", size, okSize, avail, okAvail)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("metric lint: %s: %s", p.Metric, p.Text)
	}
}
