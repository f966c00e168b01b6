package transport

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"time"

	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	grpcpeer "google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// The peer service, registered by hand: two streams, no generated code. Its name carries the
// version of the peer format (frame.go); a change that old nodes cannot read gets a new service.
const (
	serviceName    = "tau.peer.v1.Peer"
	methodRaft     = "/" + serviceName + "/Raft"
	methodSnapshot = "/" + serviceName + "/Snapshot"
)

var serviceDesc = grpc.ServiceDesc{
	ServiceName: serviceName,
	HandlerType: (*any)(nil),
	Streams: []grpc.StreamDesc{
		{
			// Raft: the client's messages one way, pongs the other.
			StreamName:    "Raft",
			Handler:       func(srv any, ss grpc.ServerStream) error { return srv.(*Transport).serveRaft(ss) },
			ServerStreams: true,
			ClientStreams: true,
		},
		{
			// Snapshot: a header, the data in chunks, its SHA-256; one empty frame back once stored.
			StreamName:    "Snapshot",
			Handler:       func(srv any, ss grpc.ServerStream) error { return srv.(*Transport).serveSnapshot(ss) },
			ClientStreams: true,
		},
	},
}

// accept runs the server's half of the handshake and returns the client's proven node id.
func (t *Transport) accept(ss grpc.ServerStream) (uint64, error) {
	md, _ := metadata.FromIncomingContext(ss.Context())
	h, err := parseHello(md)
	switch {
	case err != nil || h.from == 0:
		return 0, t.refuse(ss, reasonMalformed, codes.InvalidArgument, errHandshake)
	case h.cluster != t.o.ClusterID:
		return 0, t.refuse(ss, reasonCluster, codes.PermissionDenied, errAnotherCluster)
	case h.to != t.o.NodeID:
		return 0, t.refuse(ss, reasonRecipient, codes.PermissionDenied, errRecipient)
	case t.o.Removed != nil && t.o.Removed(h.from):
		return 0, t.refuse(ss, reasonRemoved, codes.FailedPrecondition, errRemoved)
	}
	sn := newNonce()
	if err := ss.SendHeader(metadata.Pairs(
		mdNonce, hex.EncodeToString(sn),
		mdProof, hex.EncodeToString(serverProof(t.o.Secret, h, sn)),
	)); err != nil {
		return 0, err
	}
	f, err := t.recvProof(ss)
	if err != nil {
		return 0, err
	}
	if err := checkProof(f.proof, t.accepted(), func(s []byte) []byte { return clientProof(s, h, sn) }); err != nil {
		return 0, t.refuse(ss, reasonProof, codes.Unauthenticated, err)
	}
	return h.from, nil
}

// recvProof waits DialTimeout at most for the client's proof, so that a client that never
// proves anything does not hold a stream open.
func (t *Transport) recvProof(ss grpc.ServerStream) (*frame, error) {
	f := new(frame)
	got := make(chan error, 1)
	go func() { got <- ss.RecvMsg(f) }() // returning ends the stream, and so this RecvMsg
	timer := time.NewTimer(t.o.DialTimeout)
	defer timer.Stop()
	select {
	case err := <-got:
		return f, err
	case <-timer.C:
		return nil, t.refuse(ss, reasonTimeout, codes.DeadlineExceeded, errors.New("no proof within the dial timeout"))
	}
}

// refuse counts and logs a refused handshake, once, and is the status the client receives.
func (t *Transport) refuse(ss grpc.ServerStream, reason string, code codes.Code, err error) error {
	t.m.authFailures.WithLabelValues(reason).Inc()
	remote := ""
	if p, ok := grpcpeer.FromContext(ss.Context()); ok {
		remote = p.Addr.String()
	}
	t.log.Debug("peer stream refused", zap.String("reason", reason), zap.String("remote", remote), zap.Error(err))
	return status.Error(code, err.Error())
}

// serveRaft delivers one peer's messages to the Handler, in order, and echoes its pings.
func (t *Transport) serveRaft(ss grpc.ServerStream) error {
	from, err := t.accept(ss)
	if err != nil {
		return err
	}
	received := t.m.receivedByte.WithLabelValues(peerLabel(from))
	logged := map[string]bool{} // what this stream refused: logged once each
	for {
		var f frame
		if err := ss.RecvMsg(&f); err != nil {
			return t.endOfStream(err, from)
		}
		received.Add(float64(f.wire))
		if t.o.Removed != nil && t.o.Removed(from) { // removed since the stream opened
			return t.refuse(ss, reasonRemoved, codes.FailedPrecondition, errRemoved)
		}
		if f.ping != 0 {
			if err := ss.SendMsg(&frame{pong: f.ping}); err != nil {
				return err
			}
			continue
		}
		for i := range f.messages {
			t.deliver(ss.Context(), &f, i, from, logged)
		}
	}
}

// deliver gives the i-th message of f to Process, unless it does not belong here.
func (t *Transport) deliver(ctx context.Context, f *frame, i int, from uint64, logged map[string]bool) {
	m, reason := t.admit(f, i, from, false)
	if reason != "" {
		t.m.refused.WithLabelValues(peerLabel(from), reason).Inc()
		if !logged[reason] {
			logged[reason] = true
			t.log.Debug("peer message refused", zap.Uint64("peer", from), zap.String("reason", reason))
		}
		return
	}
	if err := t.h.Process(ctx, m); err != nil && !logged["process"] {
		logged["process"] = true
		t.log.Debug("received message not processed", zap.Uint64("peer", from), zap.Error(err))
	}
}

// endOfStream is nil for a client that ended its stream, else err; a frame above
// MaxMessageBytes, which gRPC refuses, is counted and logged.
func (t *Transport) endOfStream(err error, from uint64) error {
	switch {
	case errors.Is(err, io.EOF):
		return nil
	case status.Code(err) == codes.ResourceExhausted:
		t.m.refused.WithLabelValues(peerLabel(from), refuseTooLarge).Inc()
		t.log.Debug("peer frame above the message limit", zap.Uint64("peer", from), zap.Error(err))
	}
	return err
}

// admit decodes the i-th message of a frame from a proven sender and checks it belongs here; reason says
// why not. snapshot says whether the frame heads a snapshot stream: a MsgSnap comes only there,
// with its data, and nothing else does.
func (t *Transport) admit(f *frame, i int, from uint64, snapshot bool) (*raftpb.Message, string) {
	if f.group != t.o.Group {
		return nil, refuseGroup
	}
	m, err := f.raftMessage(i)
	switch {
	case err != nil:
		return nil, refuseMalformed
	case m.GetTo() != t.o.NodeID:
		return nil, refuseRecipient
	case m.GetFrom() != from:
		return nil, refuseSender
	case (m.GetType() == raftpb.MsgSnap) != snapshot:
		return nil, refuseSnapshot
	case snapshot && m.GetSnapshot().GetMetadata() == nil:
		return nil, refuseMalformed
	}
	return m, ""
}
