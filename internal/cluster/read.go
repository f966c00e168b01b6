package cluster

import (
	"context"
	"encoding/binary"
	"sync"

	"go.etcd.io/raft/v3"
)

// readBatcher runs ReadIndex one round at a time: reads that arrive while a round is in
// flight wait for the next one, so any number of concurrent reads costs one heartbeat round
// per round trip. A round whose answer does not come (no leader, a lost message) is asked
// again after an election timeout's worth of ticks.
type readBatcher struct {
	mu       sync.Mutex
	next     []chan uint64 // waiting for the next round
	inflight []chan uint64 // waiting for the round in flight
	round    uint64        // the round in flight (its request context), 0 for none
	rounds   uint64
	age      int // ticks since the round in flight was asked
}

// Read returns once a read on this node's state is linearizable: this node has applied every
// entry committed before the call (C2). With no leader reachable before ctx ends it is
// ErrBusy: nothing was read.
func (n *Node) Read(ctx context.Context) error {
	if n.lead.Load() == 0 {
		return ErrBusy // no leader to ask: answered at once, rather than at the deadline
	}
	ch := make(chan uint64, 1)
	n.reads.mu.Lock()
	n.reads.next = append(n.reads.next, ch)
	n.reads.mu.Unlock()
	if !n.do(func() { n.reads.start(n) }) {
		return ErrStopped
	}
	var index uint64
	select {
	case index = <-ch:
		if index == 0 {
			return ErrStopped
		}
	case <-ctx.Done():
		return ErrBusy
	}
	for {
		ok, moved := n.appliedAtLeast(index)
		if ok {
			return nil
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return ErrBusy
		case <-n.done:
			return ErrStopped
		}
	}
}

// start asks a round for the waiting reads unless one is in flight. On the loop.
func (b *readBatcher) start(n *Node) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.round != 0 || len(b.next) == 0 {
		return
	}
	b.inflight, b.next = b.next, nil
	b.ask(n)
}

// ask sends ReadIndex for the round in flight under a fresh context. On the loop, under mu.
func (b *readBatcher) ask(n *Node) {
	b.rounds++
	b.round, b.age = b.rounds, 0
	var rctx [8]byte
	binary.BigEndian.PutUint64(rctx[:], b.round)
	n.rn.ReadIndex(rctx[:])
}

// tick re-asks a round that got no answer within an election timeout. On the loop.
func (b *readBatcher) tick(n *Node) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.round == 0 {
		return
	}
	if b.age++; b.age > n.cfg.ElectionTicks {
		b.ask(n)
	}
}

// ready releases the round its read state answers, and starts the next. On the loop.
func (b *readBatcher) ready(n *Node, states []raft.ReadState) {
	b.mu.Lock()
	for _, rs := range states {
		if len(rs.RequestCtx) != 8 || binary.BigEndian.Uint64(rs.RequestCtx) != b.round {
			continue
		}
		for _, ch := range b.inflight {
			ch <- rs.Index
		}
		b.inflight, b.round = nil, 0
	}
	b.mu.Unlock()
	b.start(n)
}

// failAll releases every waiting read with index 0: the node stops.
func (b *readBatcher) failAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, ch := range append(b.inflight, b.next...) {
		ch <- 0
	}
	b.inflight, b.next, b.round = nil, nil, 0
}
