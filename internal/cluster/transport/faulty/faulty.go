// Package faulty is an in-process network for cluster tests: each node joins with its Handler
// and gets a transport.Sender, and the network delivers between them, dropping, delaying,
// reordering, duplicating and partitioning (both ways or one) as the test says. Its random
// choices come from one seeded generator, so a failing run can be replayed by its seed, as far
// as the goroutines' scheduling allows.
//
// It keeps the real transport's contract: Send never blocks and never calls a Handler; a
// message reaches Process as a copy, in order per link unless delayed or reordered; a MsgSnap
// goes with its data from the sender's SnapshotSource to the receiver's SnapshotSink before it
// reaches Process, and the sender hears ReportSnapshot; a message lost to a partition, a cut or
// a full inbox makes the sender hear ReportUnreachable, as a failed stream would.
package faulty

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/taudb/tau/internal/cluster/transport"
)

// inboxSize bounds each node's undelivered messages, as the real transport's queue does.
const inboxSize = 4096

// Network connects the nodes that Join it.
type Network struct {
	mu     sync.Mutex
	rng    *rand.Rand
	nodes  map[uint64]*endpoint
	faults faults
	stats  Stats
	timers map[*time.Timer]struct{}
	closed bool
	wg     sync.WaitGroup
}

// faults are the network's current conditions.
type faults struct {
	drop, duplicate, reorder float64 // probabilities, for every link
	linkDrop                 map[link]float64
	minDelay, maxDelay       time.Duration
	reorderBy                time.Duration // how long a reordered message is held back
	cut                      map[link]bool // one-way cuts, partitions included
}

type link struct{ from, to uint64 }

// Stats count what the network did, for tests to check their faults happened.
type Stats struct {
	Sent, Delivered, Dropped, Duplicated, Reordered, Snapshots int
}

// New is a network whose random choices follow seed.
func New(seed uint64) *Network {
	return &Network{
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), //nolint:gosec // reproducible faults, not secrets
		nodes:  map[uint64]*endpoint{},
		faults: faults{linkDrop: map[link]float64{}, cut: map[link]bool{}, reorderBy: 20 * time.Millisecond},
		timers: map[*time.Timer]struct{}{},
	}
}

// Stats returns the counts so far.
func (n *Network) Stats() Stats {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stats
}

// SetDrop drops each message with probability p.
func (n *Network) SetDrop(p float64) { n.with(func(f *faults) { f.drop = p }) }

// SetLinkDrop drops each message from one node to another with probability p, on top of
// SetDrop's.
func (n *Network) SetLinkDrop(from, to uint64, p float64) {
	n.with(func(f *faults) { f.linkDrop[link{from, to}] = p })
}

// SetDelay delays each message by a uniform time in [lo, hi].
func (n *Network) SetDelay(lo, hi time.Duration) {
	n.with(func(f *faults) { f.minDelay, f.maxDelay = lo, max(lo, hi) })
}

// SetReorder holds back each message with probability p by d more, so later ones overtake it.
func (n *Network) SetReorder(p float64, d time.Duration) {
	n.with(func(f *faults) { f.reorder, f.reorderBy = p, d })
}

// SetDuplicate delivers each message twice with probability p.
func (n *Network) SetDuplicate(p float64) { n.with(func(f *faults) { f.duplicate = p }) }

// Partition splits the nodes into sides that cannot reach each other, both ways. A node of
// the network on no side is cut off from all. It replaces earlier cuts.
func (n *Network) Partition(sides ...[]uint64) {
	n.with(func(f *faults) {
		side := map[uint64]int{}
		for i, s := range sides {
			for _, id := range s {
				side[id] = i + 1
			}
		}
		f.cut = map[link]bool{}
		for a := range n.nodes {
			for b := range n.nodes {
				if a != b && (side[a] == 0 || side[a] != side[b]) {
					f.cut[link{a, b}] = true
				}
			}
		}
	})
}

// Cut stops messages from one node to another, and only that way: an asymmetric partition.
func (n *Network) Cut(from, to uint64) { n.with(func(f *faults) { f.cut[link{from, to}] = true }) }

// Isolate cuts a node off from every other, both ways.
func (n *Network) Isolate(id uint64) {
	n.with(func(f *faults) {
		for other := range n.nodes {
			if other != id {
				f.cut[link{id, other}], f.cut[link{other, id}] = true, true
			}
		}
	})
}

// Heal removes every partition and cut; probabilities and delays stay.
func (n *Network) Heal() { n.with(func(f *faults) { f.cut = map[link]bool{} }) }

func (n *Network) with(change func(*faults)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	change(&n.faults)
}

// Close stops every delivery and returns once the network's goroutines have ended.
func (n *Network) Close() {
	n.mu.Lock()
	n.closed = true
	for t := range n.timers {
		t.Stop()
	}
	clear(n.timers)
	for _, e := range n.nodes {
		e.cancel()
	}
	n.mu.Unlock()
	n.wg.Wait()
}

// Leave takes a node off the network, as a crash does: what is on its way to it is lost, and
// it sends nothing more. It may Join again, with a new Handler, as a restart.
func (n *Network) Leave(id uint64) {
	n.mu.Lock()
	e := n.nodes[id]
	delete(n.nodes, id)
	n.mu.Unlock()
	if e != nil {
		e.cancel()
		<-e.done
	}
}

// Join adds node id, delivering to h and taking snapshots from src and into sink, and returns
// the Sender its node loop uses. A node that already joined is replaced (a restart).
func (n *Network) Join(id uint64, h transport.Handler, src transport.SnapshotSource, sink transport.SnapshotSink) *Node {
	n.Leave(id)
	ctx, cancel := context.WithCancel(context.Background())
	e := &endpoint{id: id, h: h, src: src, sink: sink, inbox: make(chan delivery, inboxSize), ctx: ctx, cancel: cancel, done: make(chan struct{})}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		cancel()
		close(e.done)
		return &Node{n: n, e: e, peers: map[uint64]bool{}}
	}
	n.nodes[id] = e
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		e.run()
	}()
	return &Node{n: n, e: e, peers: map[uint64]bool{}}
}

// Node is one node's Sender on the network.
type Node struct {
	n     *Network
	e     *endpoint
	mu    sync.Mutex
	peers map[uint64]bool
}

var _ transport.Sender = (*Node)(nil)

// AddPeer lets the node send to id; the address means nothing in process.
func (s *Node) AddPeer(id uint64, _ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peers[id] = true
}

// RemovePeer stops the node sending to id.
func (s *Node) RemovePeer(id uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.peers, id)
}

// Send hands msgs to the network, each to its fate; it never blocks.
func (s *Node) Send(msgs []*raftpb.Message) {
	for _, m := range msgs {
		s.mu.Lock()
		known := s.peers[m.GetTo()]
		s.mu.Unlock()
		if known {
			s.n.route(s.e, proto.Clone(m).(*raftpb.Message))
		}
	}
}
