package cluster

import (
	"context"
	"errors"
	"slices"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// Propose replicates cmd and returns the outcome the state machine decided for it once it is
// applied on this node. A proposal Raft drops at once (no leader known) is ErrBusy; one not
// applied before ctx ends is ErrUnknown: it may still commit.
func (n *Node) Propose(ctx context.Context, cmd []byte) (any, error) {
	ch := make(chan result, 1)
	id := n.nextRequest.Add(1)
	data := envelope{group: n.cfg.Group, node: n.cfg.ID, request: id, cmd: cmd}.encode()
	n.register(id, func(r result) { ch <- r })
	return n.await(ctx, id, ch, func() error { return n.propose(id, data) })
}

// Submit hands cmd to Raft and returns without waiting for its outcome, which done receives
// exactly once: the state machine's result once the entry is applied on this node, ErrBusy
// when Raft drops it at once, ErrUnknown when it is not applied within timeout, ErrStopped
// when the node stops first. Proposals submitted one after the other by one goroutine reach
// Raft in that order, so a connection's pipelined writes keep their order (R1). Submits that
// come together share one entry (a batch envelope). done runs on the node's loop or a
// timer's goroutine: it must not block.
func (n *Node) Submit(cmd []byte, timeout time.Duration, done func(v any, err error)) {
	id := n.nextRequest.Add(1)
	n.register(id, func(r result) { done(r.v, r.err) })
	time.AfterFunc(timeout, func() { n.answer(id, result{err: ErrUnknown}) })
	n.subMu.Lock()
	n.submitted = append(n.submitted, batchItem{request: id, cmd: cmd})
	n.subBytes += len(cmd)
	first := len(n.submitted) == 1
	n.subMu.Unlock()
	if first && !n.do(n.proposeSubmitted) {
		n.failSubmitted()
	}
}

// maxBatchBytes bounds the commands of one batch entry, under the transport's message size.
const maxBatchBytes = 512 << 10

// proposeSubmitted proposes what Submit gathered, in entries of up to maxBatchBytes. On the
// loop.
func (n *Node) proposeSubmitted() {
	n.subMu.Lock()
	items := n.submitted
	n.submitted, n.subBytes = nil, 0
	n.subMu.Unlock()
	for len(items) > 0 {
		k, size := 0, 0
		for k < len(items) && (k == 0 || size+len(items[k].cmd) <= maxBatchBytes) {
			size += len(items[k].cmd)
			k++
		}
		batch := items[:k]
		items = items[k:]
		var data []byte
		if len(batch) == 1 {
			data = envelope{group: n.cfg.Group, node: n.cfg.ID, request: batch[0].request, cmd: batch[0].cmd}.encode()
		} else {
			data = encodeBatch(n.cfg.Group, n.cfg.ID, batch)
		}
		if err := n.rn.Propose(data); err != nil {
			for _, it := range batch {
				n.answer(it.request, result{err: proposeErr(err)})
			}
			continue
		}
		n.waitMu.Lock()
		for _, it := range batch {
			if w, ok := n.waiting[it.request]; ok {
				w.data = data // proposed again as a whole after a leader change; applied once each
				n.waiting[it.request] = w
			}
		}
		n.waitMu.Unlock()
	}
}

// failSubmitted answers what Submit gathered ErrStopped: the node stops.
func (n *Node) failSubmitted() {
	n.subMu.Lock()
	items := n.submitted
	n.submitted, n.subBytes = nil, 0
	n.subMu.Unlock()
	for _, it := range items {
		n.answer(it.request, result{err: ErrStopped})
	}
}

// ProposeConfChange changes the membership (one change at a time, C8) and returns once the
// change is applied on this node. info travels with the change to every replica's
// Config.Members (a new member's name and address).
func (n *Node) ProposeConfChange(ctx context.Context, cc *raftpb.ConfChange, info []byte) error {
	ch := make(chan result, 1)
	id := n.nextRequest.Add(1)
	n.register(id, func(r result) { ch <- r })
	cc.Context = envelope{group: n.cfg.Group, node: n.cfg.ID, request: id, cmd: info}.encode()
	_, err := n.await(ctx, id, ch, func() error { return n.rn.ProposeConfChange(cc) })
	return err
}

// TransferLeadership asks Raft to hand leadership to the voter to (SIGTERM on the leader).
func (n *Node) TransferLeadership(to uint64) { n.do(func() { n.rn.TransferLeader(to) }) }

// waiter is a proposal of this node waiting for its outcome: its entry's data, proposed
// again if a new leader takes over before it is applied (nil: never again), and who to tell.
type waiter struct {
	data []byte
	tell func(result)
}

func (n *Node) register(id uint64, tell func(result)) {
	n.waitMu.Lock()
	n.waiting[id] = waiter{tell: tell}
	n.waitMu.Unlock()
}

// propose hands request id's entry to Raft, on the loop. Only once Raft has taken it may it
// be proposed again (reproposeWaiting): a proposal dropped at once is answered busy, which
// promises nothing was done, so no copy of it may be in flight.
func (n *Node) propose(id uint64, data []byte) error {
	if err := n.rn.Propose(data); err != nil {
		return err
	}
	n.waitMu.Lock()
	if w, ok := n.waiting[id]; ok {
		w.data = data
		n.waiting[id] = w
	}
	n.waitMu.Unlock()
	return nil
}

// reproposeWaiting proposes again, in the order they were first proposed, the entries of this
// node that still wait when a new leader takes over: a proposal forwarded to a leader that
// crashed is lost, and would otherwise wait out its timeout. An entry that was not lost after
// all commits twice; apply runs only the first (dedup). On the loop.
func (n *Node) reproposeWaiting() {
	n.waitMu.Lock()
	ids := make([]uint64, 0, len(n.waiting))
	for id, w := range n.waiting {
		if w.data != nil {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var datas [][]byte
	for _, id := range ids {
		d := n.waiting[id].data
		if len(datas) == 0 || &datas[len(datas)-1][0] != &d[0] { // a batch once, not once a request
			datas = append(datas, d)
		}
	}
	n.waitMu.Unlock()
	for _, d := range datas {
		_ = n.rn.Propose(d) // dropped: it waits for the next leader, or its timeout
	}
}

// forget drops request id's waiter.
func (n *Node) forget(id uint64) {
	n.waitMu.Lock()
	delete(n.waiting, id)
	n.waitMu.Unlock()
}

// answer hands r to request id's waiter, if it still waits: each waiter is answered once.
func (n *Node) answer(id uint64, r result) {
	n.waitMu.Lock()
	w, ok := n.waiting[id]
	delete(n.waiting, id)
	n.waitMu.Unlock()
	if ok {
		n.countFailure(r.err)
		w.tell(r)
	}
}

// countFailure counts a proposal that failed for want of a quorum (Status).
func (n *Node) countFailure(err error) {
	switch {
	case errors.Is(err, ErrBusy):
		n.failedBusy.Add(1)
	case errors.Is(err, ErrUnknown):
		n.failedUnknown.Add(1)
	}
}

// failAll answers every waiter ErrStopped: the node stops.
func (n *Node) failAll() {
	n.waitMu.Lock()
	waiting := n.waiting
	n.waiting = map[uint64]waiter{}
	n.waitMu.Unlock()
	for _, w := range waiting {
		w.tell(result{err: ErrStopped})
	}
	n.reads.failAll()
}

func proposeErr(err error) error {
	if errors.Is(err, raft.ErrProposalDropped) {
		return ErrBusy
	}
	return err
}

// await runs propose on the loop and waits for the outcome.
func (n *Node) await(ctx context.Context, id uint64, ch chan result, propose func() error) (any, error) {
	proposed := make(chan error, 1)
	if !n.do(func() { proposed <- propose() }) {
		n.forget(id)
		return nil, ErrStopped
	}
	select {
	case err := <-proposed:
		if err != nil {
			n.forget(id)
			err = proposeErr(err)
			n.countFailure(err)
			return nil, err
		}
	case <-ctx.Done():
		n.forget(id)
		n.countFailure(ErrUnknown)
		return nil, ErrUnknown // it may reach Raft after all
	}
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		n.forget(id)
		n.countFailure(ErrUnknown)
		return nil, ErrUnknown
	}
}
