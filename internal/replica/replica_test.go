package replica

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"sync"
	"testing"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/taudb/tau/internal/cluster"
	"github.com/taudb/tau/internal/cluster/transport/faulty"
	"github.com/taudb/tau/internal/engine"
	"github.com/taudb/tau/internal/series"
)

const waitHang = 30 * time.Second // hang detection only

// handler hands what the network delivers to a node built after it joined.
type handler struct {
	mu sync.Mutex
	n  *cluster.Node
}

func (h *handler) node() *cluster.Node { h.mu.Lock(); defer h.mu.Unlock(); return h.n }

func (h *handler) Process(_ context.Context, m *raftpb.Message) error {
	if n := h.node(); n != nil {
		n.Step(m)
	}
	return nil
}
func (h *handler) ReportUnreachable(id uint64) {
	if n := h.node(); n != nil {
		n.ReportUnreachable(id)
	}
}
func (h *handler) ReportSnapshot(id uint64, s raft.SnapshotStatus) {
	if n := h.node(); n != nil {
		n.ReportSnapshot(id, s)
	}
}

// replicas starts size replicas of a small engine (capacity 6 series, 4 lenses) on one
// in-process network.
func replicas(t *testing.T, size int) ([]*Replica, *faulty.Network) {
	net := faulty.New(1)
	t.Cleanup(net.Close)
	var ids []uint64
	for i := 1; i <= size; i++ {
		ids = append(ids, uint64(i))
	}
	var out []*Replica
	for _, id := range ids {
		e, err := engine.Open(engine.Options{Store: engine.MemoryStore(), Capacity: 6, Workers: 2, MailboxCapacity: 4,
			LensCapacity: 4, MaxCallers: 64}, zap.NewNop(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Recover(); err != nil {
			t.Fatal(err)
		}
		engineDone := make(chan error, 1)
		go func() { engineDone <- e.Run() }()
		snaps, err := NewSnapshots(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		r, sm := New(e, snaps)
		h := &handler{}
		sender := net.Join(id, h, snaps, snaps)
		for _, p := range ids {
			if p != id {
				sender.AddPeer(p, "")
			}
		}
		n, err := cluster.NewNode(cluster.Config{ID: id, Peers: ids, Storage: cluster.NewMemStorage(), Transport: sender,
			StateMachine: sm, Tick: 5 * time.Millisecond, SnapshotEntries: snapshotEvery, KeepEntries: 4, Logger: zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel))})
		if err != nil {
			t.Fatal(err)
		}
		h.mu.Lock()
		h.n = n
		h.mu.Unlock()
		r.Attach(n)
		nodeDone := make(chan error, 1)
		go func() { nodeDone <- n.Run() }()
		t.Cleanup(func() {
			n.Stop()
			if err := <-nodeDone; err != nil {
				t.Errorf("node %d: %v", id, err)
			}
			e.Stop()
			if err := <-engineDone; err != nil {
				t.Errorf("engine %d: %v", id, err)
			}
		})
		out = append(out, r)
	}
	return out, net
}

func lbl(s string) series.Label { return series.LabelFromString(s) }

// retry runs op until it is not busy (no leader yet).
func retry(t *testing.T, op func(context.Context) error) error {
	t.Helper()
	deadline := time.Now().Add(waitHang)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := op(ctx)
		cancel()
		if !errors.Is(err, engine.ErrBusy) && !errors.Is(err, ErrOutcomeUnknown) {
			return err
		}
		if time.Now().After(deadline) {
			t.Fatalf("still busy after %v: %v", waitHang, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestC1_WritesOnAnyReplicaReadOnEveryOther: a series created and appended to through any
// replica is read, linearizably, through every other.
func TestC1_WritesOnAnyReplicaReadOnEveryOther(t *testing.T) {
	rs, _ := replicas(t, 3)
	for i, r := range rs {
		l := lbl(fmt.Sprintf("s%d", i))
		if err := retry(t, func(ctx context.Context) error { return r.Create(ctx, l) }); err != nil {
			t.Fatal(err)
		}
		if err := retry(t, func(ctx context.Context) error { return r.Append(ctx, l, 10, 42) }); err != nil {
			t.Fatal(err)
		}
		for j, other := range rs {
			bits, found, err := other.QueryPoint(context.Background(), l, 10)
			if err != nil || !found || bits != 42 {
				t.Fatalf("written through %d, read through %d: %d, %v, %v", i, j, bits, found, err)
			}
		}
	}
}

// TestC4_SameOutcomesOnEveryReplica: clients on every replica race creates beyond the
// catalog's capacity, appends with colliding timestamps, drops and lenses; every outcome is
// decided in log order, so afterwards every replica holds exactly the same series, points and
// lenses, and the outcomes the clients got add up to that state.
func TestC4_SameOutcomesOnEveryReplica(t *testing.T) {
	rs, _ := replicas(t, 3)
	labels := []series.Label{lbl("a"), lbl("b"), lbl("c"), lbl("d"), lbl("e"), lbl("f"), lbl("g"), lbl("h")}
	var wg sync.WaitGroup
	var mu sync.Mutex
	outcomes := map[string]int{}
	for i, r := range rs {
		for w := 0; w < 3; w++ {
			wg.Add(1)
			rng := rand.New(rand.NewSource(int64(10*i + w)))
			go func() {
				defer wg.Done()
				for k := 0; k < 40; k++ {
					l := labels[rng.Intn(len(labels))]
					var err error
					switch rng.Intn(10) {
					case 0:
						err = retry(t, func(ctx context.Context) error { return r.Drop(ctx, l) })
					case 1, 2:
						err = retry(t, func(ctx context.Context) error { return r.Create(ctx, l) })
					case 3:
						err = retry(t, func(ctx context.Context) error {
							return r.CreateLens(ctx, lbl(fmt.Sprintf("lens%d", rng.Intn(6))), l, "identity")
						})
					default:
						ts := int64(k*10 + rng.Intn(15))
						err = retry(t, func(ctx context.Context) error { return r.Append(ctx, l, ts, uint64(ts)) })
					}
					mu.Lock()
					outcomes[fmt.Sprint(err)]++
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	t.Logf("outcomes: %v", outcomes)
	for _, want := range []error{nil, engine.ErrSeriesExists, engine.ErrOutOfOrder, engine.ErrSeriesNotFound} {
		if outcomes[fmt.Sprint(want)] == 0 {
			t.Errorf("no operation was answered %v: the test exercises too little", want)
		}
	}
	want := state(t, rs[0], labels)
	for i, r := range rs[1:] {
		if got := state(t, r, labels); got != want {
			t.Fatalf("replica %d holds\n%s\nreplica 1 holds\n%s", i+2, got, want)
		}
	}
}

// state describes what a replica holds of labels, read linearizably.
func state(t *testing.T, r *Replica, labels []series.Label) string {
	t.Helper()
	if err := retry(t, r.Read); err != nil {
		t.Fatal(err)
	}
	var s string
	for _, l := range labels {
		info, err := r.SeriesInfo(context.Background(), l)
		s += fmt.Sprintf("%s: %+v %v\n", l, info, err)
	}
	return s + fmt.Sprintf("lenses: %d\n", r.Engine().Lenses())
}

func TestCommandRoundTrip(t *testing.T) {
	for _, c := range []command{
		{op: opCreate, label: lbl("x")},
		{op: opDrop, label: lbl("\x00\xff")},
		{op: opAppend, label: lbl("x"), ts: -5, bits: 1<<64 - 1},
		{op: opBatch, label: lbl("x"), points: []engine.BatchPoint{{TS: 1, Value: 2}, {TS: 3, Value: 4}}},
		{op: opCreateLens, label: lbl("l"), other: lbl("src"), transform: "celsius_to_kelvin"},
		{op: opDropLens, label: lbl("l")},
		{op: opComposeLens, label: lbl("l"), other: lbl("a"), second: lbl("b")},
	} {
		b := c.encode()
		got, err := decodeCommand(b)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(c) {
			t.Fatalf("%+v: decoded %+v, %v", c, got, err)
		}
		for cut := 0; cut < len(b); cut++ {
			if _, err := decodeCommand(b[:cut]); err == nil {
				t.Fatalf("%+v cut at %d decoded", c, cut)
			}
		}
	}
	if _, err := decodeCommand([]byte{2, 1}); err == nil {
		t.Fatal("a command of version 2 decoded")
	}
}

// snapshotEvery is the replicas' SnapshotEntries: small, so that tests cross snapshots.
const snapshotEvery = 40

// TestC7_IsolatedReplicaCatchesUpFromASnapshot cuts a replica off while the others apply far
// more than a snapshot's worth of writes, compacting their logs past what it has; healed, it
// receives a snapshot (a file streamed and checked) and then serves every write, lenses
// included, bit for bit.
func TestC7_IsolatedReplicaCatchesUpFromASnapshot(t *testing.T) {
	rs, net := replicas(t, 3)
	l, lens := lbl("snap"), lbl("snap-lens")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(retry(t, func(ctx context.Context) error { return rs[0].Create(ctx, l) }))
	must(retry(t, func(ctx context.Context) error { return rs[0].CreateLens(ctx, lens, l, "celsius_to_kelvin") }))
	net.Isolate(3)
	for ts := int64(1); ts <= 6*snapshotEvery; ts++ {
		must(retry(t, func(ctx context.Context) error { return rs[ts%2].Append(ctx, l, ts, uint64(ts)<<20|0x7ff) }))
	}
	must(retry(t, func(ctx context.Context) error {
		return rs[0].AppendBatch(ctx, l, []engine.BatchPoint{{TS: 1<<63 - 1, Value: 0x7ff8000000000001}})
	}))
	net.Heal()
	var info engine.SeriesInfo
	must(retry(t, func(ctx context.Context) (err error) { info, err = rs[2].SeriesInfo(ctx, l); return err }))
	if info.Points != 6*snapshotEvery+1 || info.Last != 1<<63-1 {
		t.Fatalf("the healed replica has %+v, want %d points up to MaxInt64", info, 6*snapshotEvery+1)
	}
	for _, ts := range []int64{1, 3 * snapshotEvery, 1<<63 - 1} {
		var bits uint64
		var found bool
		must(retry(t, func(ctx context.Context) (err error) { bits, found, err = rs[2].QueryPoint(ctx, l, ts); return err }))
		want := uint64(ts)<<20 | 0x7ff
		if ts == 1<<63-1 {
			want = 0x7ff8000000000001
		}
		if !found || bits != want {
			t.Fatalf("point %d on the healed replica: %x %v, want %x", ts, bits, found, want)
		}
	}
	if got := rs[2].Engine().LensDefinitions(); len(got) != 1 || got[0].Label != lens {
		t.Fatalf("lenses on the healed replica: %+v", got)
	}
	if st := net.Stats(); st.Snapshots == 0 {
		t.Fatalf("no snapshot was sent: %+v", st)
	}
}
