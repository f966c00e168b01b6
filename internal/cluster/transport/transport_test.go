package transport

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Three transports, each sending a numbered run to both others: every receiver gets each
// sender's run whole and in order.
func TestTransport_InOrderPerPeerBetweenThree(t *testing.T) {
	const n = 2000
	nodes := []*node{startNode(t, 1, "", nil), startNode(t, 2, "", nil), startNode(t, 3, "", nil)}
	connect(nodes...)
	for i := uint64(1); i <= n; i++ {
		for _, a := range nodes {
			var out []*raftpb.Message
			for _, b := range nodes {
				if a != b {
					out = append(out, msg(raftpb.MsgApp, a.t.o.NodeID, b.t.o.NodeID, i))
				}
			}
			a.t.Send(out)
		}
	}
	for _, b := range nodes {
		next := map[uint64]uint64{}
		for _, m := range receive(t, b.h, 2*n) {
			next[m.GetFrom()]++
			if m.GetIndex() != next[m.GetFrom()] || m.GetTo() != b.t.o.NodeID {
				t.Fatalf("node %d: from %d got index %d, want %d", b.t.o.NodeID, m.GetFrom(), m.GetIndex(), next[m.GetFrom()])
			}
		}
	}
	for _, a := range nodes {
		for _, b := range nodes {
			if a != b {
				if v := testutil.ToFloat64(a.t.m.sentBytes.WithLabelValues(peerLabel(b.t.o.NodeID))); v == 0 {
					t.Errorf("node %d: no bytes counted sent to %d", a.t.o.NodeID, b.t.o.NodeID)
				}
				if c := testutil.CollectAndCount(a.t.m.roundTrip); c == 0 {
					t.Errorf("node %d: no round trip observed", a.t.o.NodeID)
				}
			}
		}
	}
}

// A peer whose address answers nothing: Send returns at once every time, the queue holds no
// more than its caps in messages and in bytes, the rest is counted dropped, and Raft hears the
// peer is unreachable.
func TestTransport_DeadPeerBoundedAndNeverBlocks(t *testing.T) {
	cases := []struct {
		name       string
		queue      int
		queueBytes int
		entry      int
	}{
		{"message cap", 50, 1 << 20, 10},
		{"byte cap", 1 << 20, 64 << 10, 4 << 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dead := deadAddress(t)
			a := startNode(t, 1, "", nil, func(o *Options) {
				o.QueueSize, o.QueueBytes, o.MaxMessageBytes = c.queue, c.queueBytes, c.queueBytes
				o.SnapshotChunk, o.BatchBytes = 4<<10, 4<<10
			})
			a.t.AddPeer(2, dead)
			const sent = 5000
			for i := range uint64(sent) {
				m := msg(raftpb.MsgApp, 1, 2, i)
				m.Entries = []*raftpb.Entry{{Data: make([]byte, c.entry)}}
				a.t.Send([]*raftpb.Message{m})
				msgs, b := a.t.peers[2].q.len()
				if msgs > c.queue || b > c.queueBytes {
					t.Fatalf("queue holds %d messages, %d bytes: caps %d, %d", msgs, b, c.queue, c.queueBytes)
				}
			}
			dropped := testutil.ToFloat64(a.t.m.dropped.WithLabelValues("2", dropQueueFull))
			msgs, _ := a.t.peers[2].q.len()
			if dropped < float64(sent-msgs-c.queue) || dropped == 0 {
				t.Fatalf("%v dropped with %d queued of %d sent", dropped, msgs, sent)
			}
			if g := gauge(t, a, "tau_cluster_peer_queued_messages", "2"); g != float64(msgs) {
				t.Fatalf("queued messages gauge %v, queue %d", g, msgs)
			}
			<-a.h.unreachable
		})
	}
}

// deadAddress is a loopback address nothing listens on.
func deadAddress(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// A peer that processes nothing holds back its own stream only: each message to another peer
// arrives while the slow one's stream is stuck, its queue full and dropping.
func TestTransport_SlowPeerDoesNotDelayAnother(t *testing.T) {
	a := startNode(t, 1, "", nil, func(o *Options) { o.QueueSize = 100 })
	slow := startNode(t, 2, "", nil)
	fast := startNode(t, 3, "", nil)
	slow.h.hold = make(chan struct{}) // never closed: its stream's context releases it
	connect(a, slow, fast)
	const n = 1000 // of 16 KiB: more than the stream's window and the queue take
	for i := range uint64(n) {
		m := msg(raftpb.MsgApp, 1, 2, i)
		m.Entries = []*raftpb.Entry{{Data: make([]byte, 16<<10)}}
		a.t.Send([]*raftpb.Message{m, msg(raftpb.MsgApp, 1, 3, i)})
		if got := receive(t, fast.h, 1)[0]; got.GetIndex() != i {
			t.Fatalf("fast peer got %d, want %d", got.GetIndex(), i)
		}
	}
	if testutil.ToFloat64(a.t.m.dropped.WithLabelValues("2", dropQueueFull)) == 0 {
		t.Fatal("nothing dropped for the slow peer: the test did not fill its queue")
	}
}

// Streams from a node of another cluster, or one that does not hold the secret, are refused
// and counted on the receiver, nothing of theirs is delivered, and their sender hears the peer
// is unreachable; a server without the secret is refused by the client.
func TestTransport_AuthRefusesOtherClusterAndWrongSecret(t *testing.T) {
	wrong := bytes.Repeat([]byte{0x11}, 32)
	cases := []struct {
		name         string
		sender       nodeOpt
		receiver     nodeOpt
		serverReason string // counted by the receiver
		clientReason string // counted by the sender
	}{
		{"another cluster", func(o *Options) { o.ClusterID = 2 }, nil, reasonCluster, reasonRefused},
		{"wrong secret", func(o *Options) { o.Secret = wrong }, nil, "", reasonServerProof},
		{"server without the secret", nil, func(o *Options) { o.Secret = wrong }, "", reasonServerProof},
		{"another recipient", nil, func(o *Options) { o.NodeID = 3 }, reasonRecipient, reasonRefused},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := func(f nodeOpt) []nodeOpt {
				if f == nil {
					return nil
				}
				return []nodeOpt{f}
			}
			b := startNode(t, 2, "", nil, opts(c.receiver)...)
			a := startNode(t, 1, "", nil, opts(c.sender)...)
			a.t.AddPeer(2, b.addr)
			eventually(t, "the sender counts the refusal", func() bool {
				a.t.Send([]*raftpb.Message{msg(raftpb.MsgHeartbeat, 1, 2, 0)})
				return testutil.ToFloat64(a.t.m.authFailures.WithLabelValues(c.clientReason)) > 0
			})
			if c.serverReason != "" {
				eventually(t, "the receiver counts the refusal", func() bool {
					return testutil.ToFloat64(b.t.m.authFailures.WithLabelValues(c.serverReason)) > 0
				})
			}
			<-a.h.unreachable
			a.stop()
			if len(b.h.msgs) != 0 {
				t.Fatalf("%d messages delivered from a refused peer", len(b.h.msgs))
			}
		})
	}
}

// A rotation of the certificate: a node that proves with the new secret reaches one that
// still proves with the old but accepts the new, both ways.
func TestTransport_SecretRotation(t *testing.T) {
	newSecret := bytes.Repeat([]byte{0x77}, 32)
	a := startNode(t, 1, "", nil, func(o *Options) { o.Secret, o.AcceptSecrets = newSecret, [][]byte{testSecret} })
	b := startNode(t, 2, "", nil, func(o *Options) { o.AcceptSecrets = [][]byte{newSecret} })
	connect(a, b)
	a.t.Send([]*raftpb.Message{msg(raftpb.MsgApp, 1, 2, 1)})
	b.t.Send([]*raftpb.Message{msg(raftpb.MsgApp, 2, 1, 1)})
	receive(t, b.h, 1)
	receive(t, a.h, 1)
}

// A client speaking the service itself: a handshake with no metadata, or with a proof made
// with the wrong secret (a client that does not check the server's), is refused with the
// status its fault names, and counted; so is one that never sends its proof.
func TestTransport_HandshakeRefusedByServer(t *testing.T) {
	cases := []struct {
		name   string
		md     metadata.MD
		secret []byte
		code   codes.Code
		reason string
	}{
		{"no metadata", metadata.MD{}, testSecret, codes.InvalidArgument, reasonMalformed},
		{"bad nonce", metadata.Pairs(mdCluster, "1", mdFrom, "1", mdTo, "2", mdNonce, "zz"), testSecret, codes.InvalidArgument, reasonMalformed},
		{"wrong secret", nil, bytes.Repeat([]byte{0x11}, 32), codes.Unauthenticated, reasonProof},
		{"no proof", nil, nil, codes.DeadlineExceeded, reasonTimeout},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := startNode(t, 2, "", nil, func(o *Options) { o.DialTimeout = 100 * time.Millisecond })
			conn, err := grpc.NewClient(b.addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
				grpc.WithDefaultCallOptions(grpc.ForceCodecV2(codec{})))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = conn.Close() }()
			h := hello{cluster: 1, from: 1, to: 2, nonce: newNonce()}
			md := c.md
			if md == nil {
				md = h.metadata()
			}
			s, err := conn.NewStream(metadata.NewOutgoingContext(t.Context(), md), &serviceDesc.Streams[0], methodRaft)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := s.Header(); err == nil && len(got.Get(mdNonce)) == 1 && c.secret != nil {
				sn, _ := mdNonceOf(got)
				_ = s.SendMsg(&frame{proof: clientProof(c.secret, h, sn)})
				m, _ := encodeMessage(0, msg(raftpb.MsgApp, 1, 2, 1))
				_ = s.SendMsg(encoded(m))
			}
			err = s.RecvMsg(&frame{})
			if status.Code(err) != c.code {
				t.Fatalf("got %v, want %v", err, c.code)
			}
			if testutil.ToFloat64(b.t.m.authFailures.WithLabelValues(c.reason)) != 1 {
				t.Fatalf("not counted as %s", c.reason)
			}
			if len(b.h.msgs) != 0 {
				t.Fatal("a message was delivered")
			}
		})
	}
}

// A message of a Raft group the receiver does not carry is refused and counted; its own
// group's messages still arrive on the same stream.
func TestTransport_UnknownGroupRefused(t *testing.T) {
	b := startNode(t, 2, "", nil)
	a := startNode(t, 1, "", nil)
	a.t.AddPeer(2, b.addr)
	a.t.o.Group = 7
	a.t.Send([]*raftpb.Message{msg(raftpb.MsgApp, 1, 2, 1)})
	eventually(t, "the receiver refuses group 7", func() bool {
		return testutil.ToFloat64(b.t.m.refused.WithLabelValues("1", refuseGroup)) == 1
	})
	if len(b.h.msgs) != 0 {
		t.Fatal("a message of another group was delivered")
	}
}

// 64 MiB of snapshot data arrive whole and checked, while heartbeats keep arriving on the
// message stream: the sink pauses half-way, and the heartbeats must come through before it
// resumes.
func TestTransport_LargeSnapshotWhileHeartbeatsFlow(t *testing.T) {
	src := genSnapshot{size: 64 << 20}
	a := startNode(t, 1, "", src)
	b := startNode(t, 2, "", nil)
	b.sink.pauseAt, b.sink.paused, b.sink.resume = src.size/2, make(chan struct{}), make(chan struct{})
	connect(a, b)
	snap := msg(raftpb.MsgSnap, 1, 2, 0)
	snap.Snapshot = &raftpb.Snapshot{Metadata: raftpb.EnsureSnapshotMetadata(nil)}
	*snap.Snapshot.Metadata.Index = 42
	a.t.Send([]*raftpb.Message{snap})
	<-b.sink.paused
	for i := range uint64(100) {
		a.t.Send([]*raftpb.Message{msg(raftpb.MsgHeartbeat, 1, 2, i)})
	}
	for _, m := range receive(t, b.h, 100) {
		if m.GetType() != raftpb.MsgHeartbeat {
			t.Fatalf("got %v before the snapshot was stored", m.GetType())
		}
	}
	close(b.sink.resume)
	if st := <-a.h.snapReports; st != raft.SnapshotFinish {
		t.Fatalf("sender reported %v", st)
	}
	m := receive(t, b.h, 1)[0]
	if m.GetType() != raftpb.MsgSnap || m.GetSnapshot().GetMetadata().GetIndex() != 42 {
		t.Fatalf("got %v at %d, want the MsgSnap at 42", m.GetType(), m.GetSnapshot().GetMetadata().GetIndex())
	}
	kept, _ := b.sink.state()
	if len(kept) != 1 || !bytes.Equal(kept[0], src.sum()) {
		t.Fatal("the sink did not keep the sender's data")
	}
}

// A snapshot corrupted on the way, or shorter than announced, is refused by the receiver's
// check: the sink reads an error instead of io.EOF, the MsgSnap never reaches Process, and the
// sender reports SnapshotFailure.
func TestTransport_CorruptSnapshotRefused(t *testing.T) {
	cases := []struct {
		name    string
		src     genSnapshot
		corrupt func([]byte)
	}{
		{"a flipped byte", genSnapshot{size: 3<<20 + 5}, func(b []byte) { b[len(b)/2] ^= 1 }},
		{"short of its size", genSnapshot{size: 2 << 20, short: 100}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := startNode(t, 1, "", c.src)
			b := startNode(t, 2, "", nil)
			a.t.corrupt = c.corrupt
			connect(a, b)
			snap := msg(raftpb.MsgSnap, 1, 2, 0)
			snap.Snapshot = &raftpb.Snapshot{Metadata: raftpb.EnsureSnapshotMetadata(nil)}
			a.t.Send([]*raftpb.Message{snap})
			if st := <-a.h.snapReports; st != raft.SnapshotFailure {
				t.Fatalf("sender reported %v, want SnapshotFailure", st)
			}
			kept, errs := b.sink.state()
			if len(kept) != 0 {
				t.Fatal("the sink kept a corrupt snapshot")
			}
			if c.corrupt != nil && (len(errs) != 1 || !errors.Is(errs[0], errCorrupt)) {
				t.Fatalf("the sink read %v, want errCorrupt", errs)
			}
			if len(b.h.msgs) != 0 {
				t.Fatal("the MsgSnap of a corrupt snapshot reached Process")
			}
		})
	}
}

// A peer that stops and comes back on the same address gets messages again, without anything
// done on the sender's side.
func TestTransport_PeerRestartReconnects(t *testing.T) {
	a := startNode(t, 1, "", nil)
	b := startNode(t, 2, "", nil)
	connect(a, b)
	a.t.Send([]*raftpb.Message{msg(raftpb.MsgApp, 1, 2, 1)})
	receive(t, b.h, 1)
	b.stop()
	<-a.h.unreachable
	b2 := startNode(t, 2, b.addr, nil)
	eventually(t, "the restarted peer receives", func() bool {
		a.t.Send([]*raftpb.Message{msg(raftpb.MsgApp, 1, 2, 2)})
		return len(b2.h.msgs) > 0
	})
}

// Close returns with Serve returned and every goroutine gone (TestMain's goleak check covers
// all tests); Send and AddPeer after Close do nothing, and Close twice is fine.
func TestTransport_CloseStopsEverything(t *testing.T) {
	a := startNode(t, 1, "", nil)
	b := startNode(t, 2, "", nil)
	connect(a, b)
	a.t.Send([]*raftpb.Message{msg(raftpb.MsgApp, 1, 2, 1)})
	receive(t, b.h, 1)
	b.stop()
	a.stop()
	a.t.Send([]*raftpb.Message{msg(raftpb.MsgApp, 1, 2, 2)})
	a.t.AddPeer(3, b.addr)
	if err := a.t.Close(); err != nil {
		t.Fatal(err)
	}
	if testutil.ToFloat64(a.t.m.dropped.WithLabelValues("2", dropClosed)) != 1 {
		t.Fatal("a message sent after Close was not counted dropped")
	}
}

// Serve after Close returns nil at once, and closes the listener (a run.Group whose interrupt
// ran before the actor started).
func TestTransport_ServeAfterClose(t *testing.T) {
	tr, err := New(Options{ClusterID: 1, NodeID: 1, Secret: testSecret}, newRecorder(), genSnapshot{}, &sink{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_ = tr.Close()
	if err := tr.Serve(ln); err != nil {
		t.Fatalf("Serve after Close: %v", err)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Fatal("the listener is still open")
	}
}

// A MsgApp of 10 MiB goes as it is; one above the sender's MaxMessageBytes is dropped as
// too_large; one above the receiver's limit (gRPC's MaxRecvMsgSize) ends the stream without
// reaching Process, and the next stream carries the small ones after it.
func TestTransport_MessageSizeBounded(t *testing.T) {
	big := func(index uint64, size int) *raftpb.Message {
		m := msg(raftpb.MsgApp, 1, 2, index)
		m.Entries = []*raftpb.Entry{{Data: make([]byte, size)}}
		return m
	}
	b := startNode(t, 2, "", nil)
	a := startNode(t, 1, "", nil)
	a.t.AddPeer(2, b.addr)
	a.t.Send([]*raftpb.Message{big(1, 10<<20), big(2, 33<<20)})
	if m := receive(t, b.h, 1)[0]; m.GetIndex() != 1 || len(m.GetEntries()[0].GetData()) != 10<<20 {
		t.Fatalf("got index %d", m.GetIndex())
	}
	if testutil.ToFloat64(a.t.m.dropped.WithLabelValues("2", dropTooLarge)) != 1 {
		t.Fatal("a message above MaxMessageBytes was not dropped as too_large")
	}

	small := startNode(t, 3, "", nil, func(o *Options) { o.MaxMessageBytes = 2 << 20 })
	a.t.AddPeer(3, small.addr)
	over := big(1, 3<<20)
	over.To = new(uint64(3))
	a.t.Send([]*raftpb.Message{over})
	eventually(t, "the oversized frame ends the stream, counted by the receiver", func() bool {
		return testutil.ToFloat64(a.t.m.unreachable.WithLabelValues("3")) > 0 &&
			testutil.ToFloat64(small.t.m.refused.WithLabelValues("1", refuseTooLarge)) == 1
	})
	eventually(t, "a small message arrives on a new stream", func() bool {
		a.t.Send([]*raftpb.Message{msg(raftpb.MsgApp, 1, 3, 2)})
		return len(small.h.msgs) > 0
	})
	if m := <-small.h.msgs; m.GetIndex() != 2 {
		t.Fatalf("the receiver got index %d, want only the small message", m.GetIndex())
	}
}
