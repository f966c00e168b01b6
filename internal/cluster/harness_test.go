package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Test clocks: fast ticks, so elections take tens of milliseconds. Hang detection only:
// nothing asserts how long anything took.
const (
	testTick = 5 * time.Millisecond
	waitHang = 30 * time.Second
)

// kv is the state machine of the tests: registers by key. A command is "put key value",
// answered with the value the register held before, so outcomes depend on log order (C4).
type kv struct {
	mu      sync.Mutex
	m       map[string]int
	applied []string // every command with its outcome, in apply order
}

func newKV() *kv { return &kv{m: map[string]int{}} }

func (s *kv) Apply(index uint64, cmd []byte) any {
	f := strings.Fields(string(cmd))
	v, _ := strconv.Atoi(f[2])
	s.mu.Lock()
	defer s.mu.Unlock()
	prev := s.m[f[1]]
	s.m[f[1]] = v
	s.applied = append(s.applied, fmt.Sprintf("%d:%s->%d", index, cmd, prev))
	return prev
}

func (s *kv) get(k string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[k]
}

func (s *kv) Snapshot(uint64) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return json.Marshal(s.m)
}

func (s *kv) Restore(data []byte) error {
	m := map[string]int{}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &m); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.m, s.applied = m, nil
	s.mu.Unlock()
	return nil
}

// network delivers messages between in-process nodes, with faults: nodes down, links cut
// (one way or both), and, at random from a seed, messages dropped, delayed (so reordered) and
// duplicated. Proposals forwarded to the leader (MsgProp) are never duplicated: Raft would
// append both copies, and a command applied twice breaks linearizability (the checker found
// exactly that). A stream transport never duplicates a message; exactly-once proposals, a
// replicated table of applied request ids, are the cure if one ever must (docs/cluster.md).
type network struct {
	mu      sync.Mutex
	nodes   map[uint64]*Node
	down    map[uint64]bool
	cut     map[[2]uint64]bool // from → to
	rng     *rand.Rand
	drop    float64
	dup     float64
	delay   time.Duration // up to
	stopped bool
	pending sync.WaitGroup
}

func newNetwork(seed int64) *network {
	return &network{nodes: map[uint64]*Node{}, down: map[uint64]bool{}, cut: map[[2]uint64]bool{}, rng: rand.New(rand.NewSource(seed))}
}

// sender is one node's side of the network.
type sender struct {
	net  *network
	from uint64
}

func (s sender) Send(msgs []*raftpb.Message) {
	for _, m := range msgs {
		s.net.deliver(s.from, proto.Clone(m).(*raftpb.Message))
	}
}

func (nw *network) deliver(from uint64, m *raftpb.Message) {
	nw.mu.Lock()
	to := m.GetTo()
	if nw.stopped || nw.down[from] || nw.down[to] || nw.cut[[2]uint64{from, to}] || nw.rng.Float64() < nw.drop {
		nw.mu.Unlock()
		if m.GetType() == raftpb.MsgSnap {
			nw.report(from, to, raft.SnapshotFailure)
		}
		return
	}
	copies := 1
	if nw.rng.Float64() < nw.dup && m.GetType() != raftpb.MsgProp {
		copies = 2
	}
	var delays []time.Duration
	for i := 0; i < copies; i++ {
		var d time.Duration
		if nw.delay > 0 {
			d = time.Duration(nw.rng.Int63n(int64(nw.delay)))
		}
		delays = append(delays, d)
	}
	target := nw.nodes[to]
	nw.pending.Add(copies)
	nw.mu.Unlock()
	for _, d := range delays {
		time.AfterFunc(d, func() {
			defer nw.pending.Done()
			if target != nil && !nw.isDown(to) {
				target.Step(proto.Clone(m).(*raftpb.Message))
			}
		})
	}
	if m.GetType() == raftpb.MsgSnap {
		nw.report(from, to, raft.SnapshotFinish)
	}
}

func (nw *network) report(from, to uint64, status raft.SnapshotStatus) {
	nw.mu.Lock()
	n := nw.nodes[from]
	nw.mu.Unlock()
	if n != nil {
		go n.ReportSnapshot(to, status)
	}
}

func (nw *network) isDown(id uint64) bool {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	return nw.down[id]
}

func (nw *network) setFaults(drop, dup float64, delay time.Duration) {
	nw.mu.Lock()
	nw.drop, nw.dup, nw.delay = drop, dup, delay
	nw.mu.Unlock()
}

// partition cuts every link between the two sides, both ways.
func (nw *network) partition(a, b []uint64) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	for _, x := range a {
		for _, y := range b {
			nw.cut[[2]uint64{x, y}], nw.cut[[2]uint64{y, x}] = true, true
		}
	}
}

// cutOneWay drops what from sends to to, and nothing the other way.
func (nw *network) cutOneWay(from, to uint64) {
	nw.mu.Lock()
	nw.cut[[2]uint64{from, to}] = true
	nw.mu.Unlock()
}

func (nw *network) heal() {
	nw.mu.Lock()
	nw.cut = map[[2]uint64]bool{}
	nw.mu.Unlock()
}

// cluster is n in-process nodes on one network, each with a storage that survives its
// crashes (as fsynced data does) and a state machine that does not.
type cluster struct {
	t       *testing.T
	net     *network
	ids     []uint64
	mu      sync.Mutex
	nodes   map[uint64]*Node
	sms     map[uint64]*kv
	stores  map[uint64]Storage
	running map[uint64]chan error
	// open reopens node id's storage after a crash (on-disk clusters); nil keeps the
	// in-memory storage across crashes.
	open func(id uint64) Storage
}

func newCluster(t *testing.T, size int, seed int64) *cluster {
	return newClusterOn(t, size, seed, nil)
}

// newClusterOn builds a cluster whose storages open opens (nil: in memory).
func newClusterOn(t *testing.T, size int, seed int64, open func(id uint64) Storage) *cluster {
	c := &cluster{t: t, net: newNetwork(seed), nodes: map[uint64]*Node{}, sms: map[uint64]*kv{},
		stores: map[uint64]Storage{}, running: map[uint64]chan error{}, open: open}
	for i := 1; i <= size; i++ {
		c.ids = append(c.ids, uint64(i))
	}
	for _, id := range c.ids {
		if open == nil {
			c.stores[id] = NewMemStorage()
		}
		c.start(id, c.ids)
	}
	t.Cleanup(c.stopAll)
	return c
}

// start runs node id on its storage, with a fresh state machine (a restarted process).
func (c *cluster) start(id uint64, peers []uint64) {
	c.t.Helper()
	if c.open != nil {
		c.stores[id] = c.open(id)
	}
	sm := newKV()
	n, err := NewNode(Config{ID: id, Peers: peers, Storage: c.stores[id], Transport: sender{c.net, id},
		StateMachine: sm, Tick: testTick})
	if err != nil {
		c.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Run() }()
	c.mu.Lock()
	c.nodes[id], c.sms[id], c.running[id] = n, sm, done
	c.mu.Unlock()
	c.net.mu.Lock()
	c.net.nodes[id] = n
	delete(c.net.down, id)
	c.net.mu.Unlock()
}

// crash stops node id as SIGKILL would: its storage stays, its memory goes.
func (c *cluster) crash(id uint64) {
	c.net.mu.Lock()
	c.net.down[id] = true
	c.net.mu.Unlock()
	c.mu.Lock()
	n := c.nodes[id]
	done := c.running[id]
	delete(c.nodes, id)
	delete(c.running, id)
	c.mu.Unlock()
	if n != nil {
		n.Stop()
		if err := <-done; err != nil {
			c.t.Errorf("node %d: %v", id, err)
		}
	}
	if closer, ok := c.stores[id].(interface{ Close() error }); ok && c.open != nil {
		_ = closer.Close() // every Save was already durable: closing loses nothing a kill would keep
	}
}

func (c *cluster) stopAll() {
	c.net.mu.Lock()
	c.net.stopped = true
	c.net.mu.Unlock()
	c.mu.Lock()
	ids := make([]uint64, 0, len(c.nodes))
	for id := range c.nodes {
		ids = append(ids, id)
	}
	c.mu.Unlock()
	for _, id := range ids {
		c.crash(id)
	}
	c.net.pending.Wait()
}

func (c *cluster) node(id uint64) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[id]
}

func (c *cluster) sm(id uint64) *kv {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sms[id]
}

// leader waits until the running nodes among ids agree on one running leader, and returns it.
func (c *cluster) leader(ids ...uint64) uint64 {
	c.t.Helper()
	if len(ids) == 0 {
		ids = c.ids
	}
	deadline := time.Now().Add(waitHang)
	for time.Now().Before(deadline) {
		var lead uint64
		agree := true
		for _, id := range ids {
			n := c.node(id)
			if n == nil {
				continue
			}
			l := n.Status().Leader
			if l == 0 || (lead != 0 && l != lead) {
				agree = false
				break
			}
			lead = l
		}
		if agree && lead != 0 && c.node(lead) != nil && contains(ids, lead) {
			return lead
		}
		time.Sleep(testTick)
	}
	c.t.Fatalf("no leader among %v after %v", ids, waitHang)
	return 0
}

func contains(ids []uint64, id uint64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// put proposes "put k v" on node id and retries a busy answer until it is applied.
func (c *cluster) put(id uint64, k string, v int) int {
	c.t.Helper()
	deadline := time.Now().Add(waitHang)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		prev, err := c.node(id).Propose(ctx, []byte(fmt.Sprintf("put %s %d", k, v)))
		cancel()
		if err == nil {
			return prev.(int)
		}
		if !errors.Is(err, ErrBusy) && !errors.Is(err, ErrUnknown) {
			c.t.Fatal(err)
		}
		time.Sleep(testTick)
	}
	c.t.Fatalf("put %s=%d on node %d never applied", k, v, id)
	return 0
}

// get reads k on node id linearizably.
func (c *cluster) get(id uint64, k string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := c.node(id).Read(ctx); err != nil {
		return 0, err
	}
	return c.sm(id).get(k), nil
}

// converged waits until every running node has applied the same commands with the same
// outcomes as ref's.
func (c *cluster) converged(ids ...uint64) {
	c.t.Helper()
	deadline := time.Now().Add(waitHang)
	for time.Now().Before(deadline) {
		var want []string
		same := true
		for i, id := range ids {
			s := c.sm(id)
			s.mu.Lock()
			got := append([]string(nil), s.applied...)
			s.mu.Unlock()
			if i == 0 {
				want = got
			} else if fmt.Sprint(got) != fmt.Sprint(want) {
				same = false
			}
		}
		if same && len(want) > 0 {
			return
		}
		time.Sleep(testTick)
	}
	c.t.Fatalf("nodes %v never applied the same commands", ids)
}
