package cluster

import (
	"context"
	"errors"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// Propose replicates cmd and returns the outcome the state machine decided for it once it is
// applied on this node. A proposal Raft drops at once (no leader known) is ErrBusy; one not
// applied before ctx ends is ErrUnknown: it may still commit.
func (n *Node) Propose(ctx context.Context, cmd []byte) (any, error) {
	id, ch := n.register()
	data := envelope{group: n.cfg.Group, node: n.cfg.ID, request: id, cmd: cmd}.encode()
	return n.await(ctx, id, ch, func() error { return n.rn.Propose(data) })
}

// ProposeConfChange changes the membership (one change at a time, C8) and returns once the
// change is applied on this node.
func (n *Node) ProposeConfChange(ctx context.Context, cc *raftpb.ConfChange) error {
	id, ch := n.register()
	cc.Context = envelope{group: n.cfg.Group, node: n.cfg.ID, request: id}.encode()
	_, err := n.await(ctx, id, ch, func() error { return n.rn.ProposeConfChange(cc) })
	return err
}

// TransferLeadership asks Raft to hand leadership to the voter to (SIGTERM on the leader).
func (n *Node) TransferLeadership(to uint64) { n.do(func() { n.rn.TransferLeader(to) }) }

func (n *Node) register() (uint64, chan result) {
	id := n.nextRequest.Add(1)
	ch := make(chan result, 1)
	n.waitMu.Lock()
	n.waiting[id] = ch
	n.waitMu.Unlock()
	return id, ch
}

func (n *Node) forget(id uint64) {
	n.waitMu.Lock()
	delete(n.waiting, id)
	n.waitMu.Unlock()
}

// deliver hands an applied proposal's outcome to its waiter, if it still waits.
func (n *Node) deliver(id uint64, r result) {
	n.waitMu.Lock()
	ch := n.waiting[id]
	delete(n.waiting, id)
	n.waitMu.Unlock()
	if ch != nil {
		ch <- r
	}
}

// failAll answers every waiter ErrStopped: the node stops.
func (n *Node) failAll() {
	n.waitMu.Lock()
	waiting := n.waiting
	n.waiting = map[uint64]chan result{}
	n.waitMu.Unlock()
	for _, ch := range waiting {
		ch <- result{err: ErrStopped}
	}
	n.reads.failAll()
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
			if errors.Is(err, raft.ErrProposalDropped) {
				return nil, ErrBusy
			}
			return nil, err
		}
	case <-ctx.Done():
		n.forget(id)
		return nil, ErrUnknown // it may reach Raft after all
	}
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		n.forget(id)
		return nil, ErrUnknown
	}
}
