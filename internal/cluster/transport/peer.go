package transport

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
)

// peer is the sending side towards one node: a bounded queue, and goroutines that drain it on a
// message stream, stream snapshots on a connection of their own, and report to the Handler.
type peer struct {
	t    *Transport
	id   uint64
	addr string
	log  *zap.Logger

	q     *queue
	snaps chan *raftpb.Message // one MsgSnap at a time: Raft sends no other until reported

	// Reports to the Handler go through these, so that Send never calls the Handler itself.
	unreachable chan struct{} // a token: report unreachable
	snapFailed  atomic.Int64  // MsgSnaps dropped and not reported yet
	notify      chan struct{} // a token: snapFailed grew

	// Two connections, so that a snapshot never queues heartbeats behind it in one TCP stream.
	msgConn, snapConn *grpc.ClientConn

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newPeer(t *Transport, id uint64, addr string) (*peer, error) {
	p := &peer{
		t: t, id: id, addr: addr,
		log:         t.log.With(zap.Uint64("peer", id), zap.String("address", addr)),
		q:           newQueue(t.o.QueueSize, t.o.QueueBytes),
		snaps:       make(chan *raftpb.Message, 1),
		unreachable: make(chan struct{}, 1),
		notify:      make(chan struct{}, 1),
	}
	var err error
	if p.msgConn, err = grpc.NewClient(addr, t.dialOptions()...); err != nil {
		return nil, err
	}
	if p.snapConn, err = grpc.NewClient(addr, t.dialOptions()...); err != nil {
		_ = p.msgConn.Close()
		return nil, err
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	return p, nil
}

func (t *Transport) dialOptions() []grpc.DialOption {
	creds := insecure.NewCredentials()
	if t.o.ClientTLS != nil {
		creds = credentials.NewTLS(t.o.ClientTLS)
	}
	return []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(
			grpc.ForceCodecV2(codec{}),
			grpc.MaxCallRecvMsgSize(t.o.MaxMessageBytes),
			grpc.MaxCallSendMsgSize(t.o.MaxMessageBytes),
		),
		grpc.WithInitialWindowSize(int32(t.o.WindowBytes)),         //nolint:gosec // bounded in validate
		grpc.WithInitialConnWindowSize(int32(4 * t.o.WindowBytes)), //nolint:gosec // bounded in validate
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: keepaliveTime, Timeout: keepaliveTimeout, PermitWithoutStream: true}),
		// gRPC's own reconnection waits up to 2 minutes by default; a restarted peer must be
		// back within Raft's election timeouts.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: t.o.MinBackoff, Multiplier: 1.6, Jitter: 0.2, MaxDelay: t.o.MaxBackoff},
			MinConnectTimeout: t.o.DialTimeout,
		}),
	}
}

func (p *peer) run() {
	p.wg.Add(3)
	go p.sendLoop()
	go p.snapshotLoop()
	go p.reportLoop()
}

// stop ends the peer's goroutines and connections, and returns once they are gone.
func (p *peer) stop() {
	p.cancel()
	p.wg.Wait()
	_ = p.msgConn.Close()
	_ = p.snapConn.Close()
}

func (p *peer) queueMessage(m *raftpb.Message) {
	b, err := encodeMessage(p.t.o.Group, m)
	switch {
	case err != nil:
		p.t.drop(p.id, dropEncode)
		p.log.Debug("message not encoded", zap.Error(err))
	case len(b) > p.t.o.MaxMessageBytes:
		p.t.drop(p.id, dropTooLarge)
		p.log.Debug("message larger than the limit dropped", zap.Int("bytes", len(b)))
	case !p.q.push(b):
		p.t.drop(p.id, dropQueueFull)
		p.reportUnreachable()
	}
}

func (p *peer) queueSnapshot(m *raftpb.Message) {
	select {
	case p.snaps <- m:
	default:
		p.t.drop(p.id, dropQueueFull)
		p.snapFailed.Add(1)
		signal(p.notify)
	}
}

func (p *peer) reportUnreachable() { signal(p.unreachable) }

// signal leaves a token in c unless one is there.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// reportLoop calls the Handler for what Send and the streams noted.
func (p *peer) reportLoop() {
	defer p.wg.Done()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-p.unreachable:
			p.t.h.ReportUnreachable(p.id)
		case <-p.notify:
			for n := p.snapFailed.Swap(0); n > 0; n-- {
				p.t.h.ReportSnapshot(p.id, raft.SnapshotFailure)
			}
		}
	}
}

// sendLoop keeps a message stream open to the peer and drains the queue on it; after a failure
// it reports the peer unreachable and reconnects with a growing, jittered wait.
func (p *peer) sendLoop() {
	defer p.wg.Done()
	wait := p.t.o.MinBackoff
	for {
		healthy, err := p.stream()
		if p.ctx.Err() != nil {
			return
		}
		p.t.m.unreachable.WithLabelValues(peerLabel(p.id)).Inc()
		p.log.Debug("message stream ended", zap.Error(err))
		p.reportUnreachable()
		if healthy {
			wait = p.t.o.MinBackoff
		}
		if !sleep(p.ctx, jitter(wait)) {
			return
		}
		wait = min(2*wait, p.t.o.MaxBackoff)
	}
}

func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1) //nolint:gosec // jitter, not a secret
}

// sleep waits d or until ctx ends, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
