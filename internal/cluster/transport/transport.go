package transport

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
)

// Handler receives what the transport brings in. Its methods are called from the transport's
// goroutines, several at once (one stream per peer), never from within Send: they must be safe
// for concurrent use, and should hand over to the node loop rather than block (a blocked Process
// holds back that peer's stream, through gRPC's flow control, and no other).
type Handler interface {
	// Process delivers a received message, for RawNode.Step via the node loop. ctx ends when
	// the stream does. An error is logged and the message dropped.
	Process(ctx context.Context, m *raftpb.Message) error
	// ReportUnreachable says a message to id may be lost: its stream failed, or its queue was
	// full (RawNode.ReportUnreachable, so that Raft probes instead of streaming).
	ReportUnreachable(id uint64)
	// ReportSnapshot says how a MsgSnap to id ended (RawNode.ReportSnapshot).
	ReportSnapshot(id uint64, status raft.SnapshotStatus)
}

// SnapshotSource opens the data of a snapshot this node sends, as a stream of size bytes.
type SnapshotSource interface {
	Open(meta *raftpb.SnapshotMetadata) (r io.ReadCloser, size int64, err error)
}

// SnapshotSink stores the data of a snapshot this node receives, before its MsgSnap reaches
// Process. r yields the data and then io.EOF only once its length and SHA-256 are checked; any
// other error means the data is not the sender's. Receive must keep nothing visible unless it
// read io.EOF, and return an error when it does not keep the snapshot.
type SnapshotSink interface {
	Receive(meta *raftpb.SnapshotMetadata, r io.Reader) error
}

// Sender is what a node loop sends through: a Transport, or faulty.Network's nodes in tests.
type Sender interface {
	Send(msgs []*raftpb.Message)
	AddPeer(id uint64, addr string)
	RemovePeer(id uint64)
}

var _ Sender = (*Transport)(nil)

// Transport carries one node's Raft messages to and from its peers over gRPC.
type Transport struct {
	o      Options
	h      Handler
	src    SnapshotSource
	sink   SnapshotSink
	log    *zap.Logger
	m      *metrics
	server *grpc.Server
	start  time.Time // pings carry the time since, on the monotonic clock

	mu     sync.RWMutex
	peers  map[uint64]*peer
	closed bool

	closeOnce sync.Once

	// corrupt, set by tests only, alters each snapshot chunk after its checksum is taken: a
	// fault on the way that only the receiver's check can catch.
	corrupt func(chunk []byte)
}

// New builds a transport; Serve runs its listener and AddPeer its senders.
func New(o Options, h Handler, src SnapshotSource, sink SnapshotSink) (*Transport, error) {
	o.setDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	if h == nil || src == nil || sink == nil {
		return nil, errors.New("transport: a Handler, a SnapshotSource and a SnapshotSink are needed")
	}
	t := &Transport{
		o: o, h: h, src: src, sink: sink,
		log:   o.Logger.Named("transport"),
		m:     newMetrics(o.Registerer),
		start: time.Now(),
		peers: map[uint64]*peer{},
	}
	if err := o.Registerer.Register(newQueueCollector(t)); err != nil {
		return nil, err
	}
	t.server = grpc.NewServer(t.serverOptions()...)
	t.server.RegisterService(&serviceDesc, t)
	return t, nil
}

func (t *Transport) serverOptions() []grpc.ServerOption {
	creds := insecure.NewCredentials()
	if t.o.TLS != nil {
		creds = credentials.NewTLS(t.o.TLS)
	}
	return []grpc.ServerOption{
		grpc.Creds(creds),
		grpc.ForceServerCodecV2(codec{}),
		grpc.MaxRecvMsgSize(t.o.MaxMessageBytes),
		grpc.MaxSendMsgSize(t.o.MaxMessageBytes),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: keepaliveTime, Timeout: keepaliveTimeout}),
		// Clients ping every keepaliveTime, streams or not; allow it with some slack.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: keepaliveTime / 2, PermitWithoutStream: true}),
		grpc.InitialWindowSize(int32(t.o.WindowBytes)),         //nolint:gosec // bounded in validate
		grpc.InitialConnWindowSize(int32(4 * t.o.WindowBytes)), //nolint:gosec // bounded in validate
		grpc.WaitForHandlers(true),                             // Stop returns once every stream's handler has
	}
}

// gRPC's keepalive finds a dead connection (a peer's host gone without a FIN) that the streams
// alone would see only when TCP gives up: 10 s is the shortest client interval gRPC allows.
const (
	keepaliveTime    = 10 * time.Second
	keepaliveTimeout = 5 * time.Second
)

// Serve accepts peers' streams on ln until Close; it is a run.Group actor, and returns nil
// once stopped.
func (t *Transport) Serve(ln net.Listener) error {
	err := t.server.Serve(ln)
	if errors.Is(err, grpc.ErrServerStopped) {
		_ = ln.Close() // Serve after Close: nobody else will close it
		return nil
	}
	return err
}

// Close stops the senders and the listener and returns once every goroutine of the transport
// has ended (a blocked Process is released by its context); it is the run.Group interrupt.
func (t *Transport) Close() error {
	t.closeOnce.Do(func() {
		t.mu.Lock()
		t.closed = true
		peers := t.peers
		t.peers = map[uint64]*peer{}
		t.mu.Unlock()
		for _, p := range peers {
			p.stop()
		}
		t.server.Stop()
	})
	return nil
}

// AddPeer starts sending to node id at addr (host:port). Adding a known peer with another
// address moves it; with the same address it does nothing.
func (t *Transport) AddPeer(id uint64, addr string) {
	if id == t.o.NodeID {
		return
	}
	t.mu.Lock()
	old := t.peers[id]
	if t.closed || (old != nil && old.addr == addr) {
		t.mu.Unlock()
		return
	}
	p, err := newPeer(t, id, addr)
	if err != nil {
		t.mu.Unlock()
		t.log.Warn("peer address refused", zap.Uint64("peer", id), zap.String("address", addr), zap.Error(err))
		return
	}
	t.peers[id] = p
	t.m.know(id)
	p.run() // under the lock: a Close that takes the peer after this sees it running
	t.mu.Unlock()
	if old != nil {
		old.stop()
	}
}

// RemovePeer stops sending to node id and forgets its metrics.
func (t *Transport) RemovePeer(id uint64) {
	t.mu.Lock()
	p := t.peers[id]
	delete(t.peers, id)
	t.mu.Unlock()
	if p != nil {
		p.stop()
		t.m.forget(id)
	}
}

// Send queues msgs for their peers and returns at once: it never waits for a peer. A message
// that does not fit its peer's queue is dropped and counted, and the peer reported unreachable
// (from another goroutine), as Raft expects of a lossy network.
func (t *Transport) Send(msgs []*raftpb.Message) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, m := range msgs {
		to := m.GetTo()
		p := t.peers[to]
		switch {
		case t.closed:
			t.drop(to, dropClosed)
		case p == nil:
			t.drop(to, dropUnknownPeer)
		case m.GetType() == raftpb.MsgSnap:
			p.queueSnapshot(m)
		default:
			p.queueMessage(m)
		}
	}
}

func (t *Transport) drop(to uint64, reason string) {
	t.m.dropped.WithLabelValues(peerLabel(to), reason).Inc()
}

// accepted are the secrets a peer may prove: ours, and those of a rotation.
func (t *Transport) accepted() [][]byte { return append([][]byte{t.o.Secret}, t.o.AcceptSecrets...) }

// since is the monotonic time a ping carries.
func (t *Transport) since() uint64 { return uint64(time.Since(t.start)) }
