package storage

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/taudb/tau/internal/storage/vfs"
	"github.com/taudb/tau/internal/storage/vfs/errorfs"
)

// TestR11_FsyncBeforeAck: under FsyncAlways an fsync happens before each ticket resolves, so N
// tickets waited one by one cost at least N file syncs; the count is checked after each Wait.
func TestR11_FsyncBeforeAck(t *testing.T) {
	efs := errorfs.Wrap(vfs.OS)
	d, _ := openRecovered(t, t.TempDir(), DiskOptions{FS: efs})
	defer func() { _ = d.Close() }()
	a := lbl("a")
	mustAppend(t, d, nil, create(a))
	const n = 100
	for i := 1; i <= n; i++ {
		before := efs.Syncs()
		mustAppend(t, d, nil, app(a, int64(i), 0))
		if efs.Syncs() <= before {
			t.Fatalf("append %d resolved without an fsync", i)
		}
	}
}

// TestR11_GroupCommitSharesFsyncs: 50 concurrent appenders x 200 appends, every one waited,
// cost far fewer fsyncs than appends, and every append is durable.
func TestR11_GroupCommitSharesFsyncs(t *testing.T) {
	const writers, each = 50, 200
	efs := errorfs.Wrap(vfs.OS)
	reg := prometheus.NewRegistry()
	dir := t.TempDir()
	d, _ := openRecovered(t, dir, DiskOptions{FS: efs, Registerer: reg})
	before := efs.Syncs()
	var wg sync.WaitGroup
	models := make([]model, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			models[w] = model{}
			l := lbl(fmt.Sprintf("writer-%d", w))
			mustAppend(t, d, models[w], create(l))
			for i := 1; i < each; i++ {
				mustAppend(t, d, models[w], app(l, int64(i), uint64(w)))
			}
		}()
	}
	wg.Wait()
	syncs := efs.Syncs() - before
	t.Logf("%d appends, %d fsyncs (%.1f appends per fsync)", writers*each, syncs, float64(writers*each)/float64(syncs))
	if syncs >= writers*each {
		t.Fatalf("%d fsyncs for %d appends: no group commit", syncs, writers*each)
	}
	if got := metricValue(t, reg, "tau_storage_records_appended_total"); got != writers*each {
		t.Fatalf("records metric %v, want %d", got, writers*each)
	}
	if got := metricValue(t, reg, "tau_storage_fsyncs_total"); got != float64(syncs) {
		t.Fatalf("fsyncs metric %v, want %d", got, syncs)
	}
	_ = d.Close()
	want := model{}
	for _, m := range models {
		for l, p := range m {
			want[l] = p
		}
	}
	d, states := openRecovered(t, dir, DiskOptions{})
	defer func() { _ = d.Close() }()
	checkStates(t, states, want)
}

// TestIntervalDefersFsync: under FsyncInterval tickets resolve without an fsync; Sync forces
// one.
func TestIntervalDefersFsync(t *testing.T) {
	efs := errorfs.Wrap(vfs.OS)
	d, _ := openRecovered(t, t.TempDir(), DiskOptions{FS: efs, Fsync: FsyncInterval, Interval: time.Hour})
	defer func() { _ = d.Close() }()
	before := efs.Syncs()
	a := lbl("a")
	mustAppend(t, d, nil, create(a))
	for i := 1; i <= 100; i++ {
		mustAppend(t, d, nil, app(a, int64(i), 0))
	}
	if got := efs.Syncs() - before; got != 0 {
		t.Fatalf("%d fsyncs before the interval elapsed, want 0", got)
	}
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
	if got := efs.Syncs() - before; got != 1 {
		t.Fatalf("Sync made %d fsyncs, want 1", got)
	}
}

// TestIntervalBackgroundFsync: the background fsync does run.
func TestIntervalBackgroundFsync(t *testing.T) {
	efs := errorfs.Wrap(vfs.OS)
	d, _ := openRecovered(t, t.TempDir(), DiskOptions{FS: efs, Fsync: FsyncInterval, Interval: time.Millisecond})
	defer func() { _ = d.Close() }()
	before := efs.Syncs()
	mustAppend(t, d, nil, create(lbl("a")))
	for efs.Syncs() == before {
		time.Sleep(time.Millisecond) // bounded by the test timeout; no timing is asserted
	}
}

// TestAppendDoesNotAllocate: once the batch buffers have grown, Append allocates nothing.
func TestAppendDoesNotAllocate(t *testing.T) {
	d, _ := openRecovered(t, t.TempDir(), DiskOptions{Fsync: FsyncInterval, Interval: time.Hour})
	defer func() { _ = d.Close() }()
	r := Record{Type: RecordAppend, Label: lbl("a")}
	for i := 0; i < 1000; i++ { // warm both batch buffers
		r.TS++
		if _, err := d.Append(&r); err != nil {
			t.Fatal(err)
		}
	}
	must(t, d.Sync())
	allocs := testing.AllocsPerRun(1000, func() {
		r.TS++
		if _, err := d.Append(&r); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0.01 {
		t.Fatalf("Append allocates %.2f times per record", allocs)
	}
}
