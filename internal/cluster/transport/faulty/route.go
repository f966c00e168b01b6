package faulty

import (
	"context"
	"errors"
	"io"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"

	"github.com/taudb/tau/internal/cluster/transport"
)

// delivery is one item of a node's inbox: a message to process, or a report to its Handler
// about a message it sent.
type delivery struct {
	m           *raftpb.Message
	from        *endpoint // for a MsgSnap: whose source holds the data
	unreachable uint64    // a report: this peer may have missed a message
	snapshot    uint64    // a report: the snapshot to this peer ended with status
	status      raft.SnapshotStatus
}

type endpoint struct {
	id     uint64
	h      transport.Handler
	src    transport.SnapshotSource
	sink   transport.SnapshotSink
	inbox  chan delivery
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

// route decides a message's fate, under the network's lock so that the random choices follow
// the order of Sends.
func (n *Network) route(from *endpoint, m *raftpb.Message) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed || n.nodes[from.id] != from { // a node that left sends nothing
		return
	}
	n.stats.Sent++
	if m.GetType() == raftpb.MsgSnap {
		n.stats.Snapshots++
	}
	to := n.nodes[m.GetTo()]
	l := link{from.id, m.GetTo()}
	f := &n.faults
	switch {
	case to == nil || f.cut[l]:
		n.lost(from, m)
		return
	case n.rng.Float64() < f.drop || n.rng.Float64() < f.linkDrop[l]:
		n.stats.Dropped++
		if m.GetType() == raftpb.MsgSnap {
			n.report(from, delivery{snapshot: m.GetTo(), status: raft.SnapshotFailure})
		}
		return
	}
	copies := 1
	if n.rng.Float64() < f.duplicate {
		copies = 2
		n.stats.Duplicated++
	}
	for range copies {
		d := f.minDelay
		if f.maxDelay > f.minDelay {
			d += time.Duration(n.rng.Int64N(int64(f.maxDelay - f.minDelay + 1)))
		}
		if n.rng.Float64() < f.reorder {
			d += f.reorderBy
			n.stats.Reordered++
		}
		n.deliverAfter(d, to, delivery{m: m, from: from})
	}
}

// lost: a message that a partition, a cut or a crash took; its sender hears of it as a failed
// stream would tell it.
func (n *Network) lost(from *endpoint, m *raftpb.Message) {
	n.stats.Dropped++
	if m.GetType() == raftpb.MsgSnap {
		n.report(from, delivery{snapshot: m.GetTo(), status: raft.SnapshotFailure})
		return
	}
	n.report(from, delivery{unreachable: m.GetTo()})
}

// report queues a report for a node's Handler; a full inbox loses it, as it would lose a
// message.
func (n *Network) report(e *endpoint, d delivery) {
	select {
	case e.inbox <- d:
	default:
	}
}

// deliverAfter puts d in e's inbox now, or after a delay; n.mu is held.
func (n *Network) deliverAfter(delay time.Duration, e *endpoint, d delivery) {
	if delay <= 0 {
		n.enqueue(e, d)
		return
	}
	var t *time.Timer
	t = time.AfterFunc(delay, func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		delete(n.timers, t)
		if !n.closed && n.nodes[e.id] == e {
			n.enqueue(e, d)
		}
	})
	n.timers[t] = struct{}{}
}

// enqueue puts d in e's inbox, or drops it when the inbox is full; n.mu is held.
func (n *Network) enqueue(e *endpoint, d delivery) {
	select {
	case e.inbox <- d:
	default:
		n.stats.Dropped++
		n.report(d.from, delivery{unreachable: e.id})
		return
	}
	n.stats.Delivered++
}

// run delivers e's inbox in order until it leaves.
func (e *endpoint) run() {
	defer close(e.done)
	for {
		select {
		case <-e.ctx.Done():
			return
		case d := <-e.inbox:
			e.deliver(d)
		}
	}
}

func (e *endpoint) deliver(d delivery) {
	switch {
	case d.m == nil && d.snapshot != 0:
		e.h.ReportSnapshot(d.snapshot, d.status)
	case d.m == nil:
		e.h.ReportUnreachable(d.unreachable)
	case d.m.GetType() == raftpb.MsgSnap:
		err := e.receiveSnapshot(d)
		st := raft.SnapshotFinish
		if err != nil {
			st = raft.SnapshotFailure
		}
		select {
		case d.from.inbox <- delivery{snapshot: e.id, status: st}:
		default:
		}
	default:
		_ = e.h.Process(e.ctx, d.m) // an error is the node loop's refusal: the message is lost
	}
}

// receiveSnapshot moves a snapshot's data from the sender's source to e's sink, then gives
// the MsgSnap to Process, as the real transport does. It holds up e's other deliveries
// meanwhile: in process, data moves fast.
func (e *endpoint) receiveSnapshot(d delivery) error {
	meta := d.m.GetSnapshot().GetMetadata()
	if d.from.src == nil || e.sink == nil {
		return errors.New("faulty: no snapshot source or sink")
	}
	rc, size, err := d.from.src.Open(meta)
	if err != nil {
		return err
	}
	defer func() { _ = rc.Close() }()
	if err := e.sink.Receive(meta, &exact{r: rc, left: size}); err != nil {
		return err
	}
	return e.h.Process(e.ctx, d.m)
}

// exact yields size bytes of r, then io.EOF; a shorter r is an error, as the real
// transport's check makes it.
type exact struct {
	r    io.Reader
	left int64
}

var errShort = errors.New("faulty: snapshot source shorter than announced")

func (x *exact) Read(p []byte) (int, error) {
	if x.left <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), x.left)]
	k, err := x.r.Read(p)
	x.left -= int64(k)
	if errors.Is(err, io.EOF) && x.left > 0 {
		return k, errShort
	}
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return k, err
}
