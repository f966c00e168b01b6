package faulty

import (
	"bytes"
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder is a Handler that keeps what it is given.
type recorder struct {
	msgs        chan *raftpb.Message
	unreachable chan uint64
	snaps       chan raft.SnapshotStatus
}

func newRecorder() *recorder {
	return &recorder{msgs: make(chan *raftpb.Message, 1<<14), unreachable: make(chan uint64, 1<<14), snaps: make(chan raft.SnapshotStatus, 16)}
}

func (r *recorder) Process(_ context.Context, m *raftpb.Message) error {
	r.msgs <- m
	return nil
}
func (r *recorder) ReportUnreachable(id uint64)                     { r.unreachable <- id }
func (r *recorder) ReportSnapshot(_ uint64, st raft.SnapshotStatus) { r.snaps <- st }

type source []byte

func (s source) Open(*raftpb.SnapshotMetadata) (io.ReadCloser, int64, error) {
	return io.NopCloser(bytes.NewReader(s)), int64(len(s)), nil
}

type sink struct {
	mu   sync.Mutex
	kept [][]byte
}

func (s *sink) Receive(_ *raftpb.SnapshotMetadata, r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kept = append(s.kept, b)
	return nil
}

// cluster joins nodes 1..n, every one a peer of every other.
func cluster(t *testing.T, seed uint64, n int) (*Network, []*Node, []*recorder) {
	t.Helper()
	net := New(seed)
	t.Cleanup(net.Close)
	nodes := make([]*Node, n)
	recs := make([]*recorder, n)
	for i := range n {
		recs[i] = newRecorder()
		nodes[i] = net.Join(uint64(i+1), recs[i], source("snapshot data"), &sink{})
	}
	for i := range n {
		for j := range n {
			if i != j {
				nodes[i].AddPeer(uint64(j+1), "")
			}
		}
	}
	return net, nodes, recs
}

func msg(from, to, index uint64) *raftpb.Message {
	return &raftpb.Message{Type: raftpb.MsgApp.Enum(), From: &from, To: &to, Index: &index}
}

// run sends 1..n from node 1 to node 2 in one Send.
func run(nodes []*Node, n int) {
	var out []*raftpb.Message
	for i := range n {
		out = append(out, msg(1, 2, uint64(i+1)))
	}
	nodes[0].Send(out)
}

// drain returns the indexes node r received, once the network has delivered what it accepted.
func drain(t *testing.T, net *Network, r *recorder) []uint64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var got []uint64
	for {
		select {
		case m := <-r.msgs:
			got = append(got, m.GetIndex())
			continue
		default:
		}
		if len(got) == net.Stats().Delivered {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d delivered, %d received", net.Stats().Delivered, len(got))
		}
		time.Sleep(time.Millisecond)
	}
}

func TestNetwork_NoFaultsDeliversInOrder(t *testing.T) {
	net, nodes, recs := cluster(t, 1, 3)
	run(nodes, 500)
	got := drain(t, net, recs[1])
	if len(got) != 500 {
		t.Fatalf("received %d of 500", len(got))
	}
	for i, idx := range got {
		if idx != uint64(i+1) {
			t.Fatalf("message %d is index %d", i, idx)
		}
	}
}

// The seed decides which messages are lost: the same seed loses the same ones.
func TestNetwork_DropFollowsTheSeed(t *testing.T) {
	lost := func(seed uint64) []uint64 {
		net, nodes, recs := cluster(t, seed, 2)
		net.SetDrop(0.3)
		run(nodes, 1000)
		got := drain(t, net, recs[1])
		if s := net.Stats(); s.Dropped == 0 || s.Dropped+len(got) != 1000 {
			t.Fatalf("dropped %d, received %d of 1000", s.Dropped, len(got))
		}
		return got
	}
	a, b, c := lost(7), lost(7), lost(8)
	if !equal(a, b) {
		t.Fatal("one seed, two different runs")
	}
	if equal(a, c) {
		t.Fatal("two seeds, the same losses")
	}
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestNetwork_Duplicate(t *testing.T) {
	net, nodes, recs := cluster(t, 1, 2)
	net.SetDuplicate(1)
	run(nodes, 100)
	got := drain(t, net, recs[1])
	count := map[uint64]int{}
	for _, idx := range got {
		count[idx]++
	}
	for i := uint64(1); i <= 100; i++ {
		if count[i] != 2 {
			t.Fatalf("index %d received %d times, want 2", i, count[i])
		}
	}
}

// Held-back messages arrive after later ones; all of them arrive.
func TestNetwork_ReorderAndDelay(t *testing.T) {
	net, nodes, recs := cluster(t, 3, 2)
	net.SetReorder(0.2, 50*time.Millisecond)
	net.SetDelay(0, time.Millisecond)
	run(nodes, 300)
	eventually(t, func() bool { return net.Stats().Delivered == 300 })
	got := drain(t, net, recs[1])
	inversions := 0
	for i := 1; i < len(got); i++ {
		if got[i] < got[i-1] {
			inversions++
		}
	}
	if len(got) != 300 || inversions == 0 || net.Stats().Reordered == 0 {
		t.Fatalf("received %d of 300 with %d inversions", len(got), inversions)
	}
}

func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		time.Sleep(time.Millisecond)
	}
}

// reaches sends one message from a to b and says whether it arrived.
func reaches(t *testing.T, net *Network, nodes []*Node, recs []*recorder, a, b int) bool {
	t.Helper()
	before := net.Stats().Delivered
	nodes[a-1].Send([]*raftpb.Message{msg(uint64(a), uint64(b), 1)})
	if net.Stats().Delivered == before {
		return false
	}
	<-recs[b-1].msgs
	return true
}

func TestNetwork_Partitions(t *testing.T) {
	net, nodes, recs := cluster(t, 1, 3)
	net.Partition([]uint64{1}, []uint64{2, 3})
	if reaches(t, net, nodes, recs, 1, 2) || reaches(t, net, nodes, recs, 2, 1) || !reaches(t, net, nodes, recs, 2, 3) {
		t.Fatal("symmetric partition {1} | {2, 3} not as cut")
	}
	if id := <-recs[0].unreachable; id != 2 {
		t.Fatalf("node 1 told %d unreachable, want 2", id)
	}
	net.Heal()
	net.Cut(1, 2)
	if reaches(t, net, nodes, recs, 1, 2) || !reaches(t, net, nodes, recs, 2, 1) || !reaches(t, net, nodes, recs, 1, 3) {
		t.Fatal("asymmetric cut 1 -> 2 not as cut")
	}
	net.Heal()
	net.Isolate(3)
	if reaches(t, net, nodes, recs, 3, 1) || reaches(t, net, nodes, recs, 2, 3) || !reaches(t, net, nodes, recs, 1, 2) {
		t.Fatal("isolated node 3 not cut off")
	}
	net.Heal()
	if !reaches(t, net, nodes, recs, 1, 2) || !reaches(t, net, nodes, recs, 3, 1) {
		t.Fatal("healed network does not deliver")
	}
}

// A crashed node receives and sends nothing; joined again, it does both.
func TestNetwork_LeaveAndRejoin(t *testing.T) {
	net, nodes, recs := cluster(t, 1, 2)
	net.Leave(2)
	if reaches(t, net, nodes, recs, 1, 2) {
		t.Fatal("a node that left received")
	}
	nodes[1].Send([]*raftpb.Message{msg(2, 1, 1)})
	if len(recs[0].msgs) != 0 {
		t.Fatal("a node that left sent")
	}
	recs[1] = newRecorder()
	nodes[1] = net.Join(2, recs[1], nil, &sink{})
	nodes[1].AddPeer(1, "")
	if !reaches(t, net, nodes, recs, 1, 2) || !reaches(t, net, nodes, recs, 2, 1) {
		t.Fatal("a rejoined node is not connected")
	}
}

// A MsgSnap brings its data to the sink before it reaches Process, and the sender hears it
// finished; lost to a partition, the sender hears it failed.
func TestNetwork_Snapshot(t *testing.T) {
	net, nodes, recs := cluster(t, 1, 2)
	snap := msg(1, 2, 0)
	snap.Type = raftpb.MsgSnap.Enum()
	snap.Snapshot = &raftpb.Snapshot{Metadata: raftpb.EnsureSnapshotMetadata(nil)}
	nodes[0].Send([]*raftpb.Message{snap})
	if st := <-recs[0].snaps; st != raft.SnapshotFinish {
		t.Fatalf("sender heard %v", st)
	}
	if m := <-recs[1].msgs; m.GetType() != raftpb.MsgSnap {
		t.Fatalf("receiver got %v", m.GetType())
	}
	net.Cut(1, 2)
	nodes[0].Send([]*raftpb.Message{snap})
	if st := <-recs[0].snaps; st != raft.SnapshotFailure {
		t.Fatalf("sender heard %v across a cut", st)
	}
}

// A lossy link loses only its own direction's messages.
func TestNetwork_LinkDrop(t *testing.T) {
	net, nodes, recs := cluster(t, 1, 2)
	net.SetLinkDrop(1, 2, 1)
	if reaches(t, net, nodes, recs, 1, 2) || !reaches(t, net, nodes, recs, 2, 1) {
		t.Fatal("link 1 -> 2 not lossy alone")
	}
}
