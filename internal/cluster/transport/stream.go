package transport

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// open starts an authenticated stream to the peer on conn (the handshake of auth.go). cancel
// ends ctx, the stream's: it bounds the handshake to DialTimeout.
func (p *peer) open(ctx context.Context, cancel context.CancelFunc, conn *grpc.ClientConn, desc *grpc.StreamDesc, method string) (grpc.ClientStream, error) {
	timer := time.AfterFunc(p.t.o.DialTimeout, cancel)
	defer timer.Stop()
	h := hello{cluster: p.t.o.ClusterID, from: p.t.o.NodeID, to: p.id, nonce: newNonce()}
	s, err := conn.NewStream(metadata.NewOutgoingContext(ctx, h.metadata()), desc, method)
	if err != nil {
		return nil, err
	}
	md, err := s.Header()
	if err != nil {
		return nil, p.refused(err)
	}
	sn, err1 := mdNonceOf(md)
	sp, err2 := mdBytes(md, mdProof, sha256.Size)
	if err1 != nil || err2 != nil {
		// No challenge: the server answered with its status alone (it refused us), which
		// RecvMsg returns.
		return nil, p.refused(s.RecvMsg(&frame{}))
	}
	if err := checkProof(sp, p.t.accepted(), func(s []byte) []byte { return serverProof(s, h, sn) }); err != nil {
		p.t.m.authFailures.WithLabelValues(reasonServerProof).Inc()
		p.log.Debug("peer refused: it does not hold the secret", zap.String("reason", reasonServerProof))
		return nil, err
	}
	if err := p.send(s, &frame{proof: clientProof(p.t.o.Secret, h, sn)}); err != nil {
		return nil, err
	}
	return s, nil
}

// refused counts a handshake the server refused (its status says why), or passes on another
// failure (the peer is down).
func (p *peer) refused(err error) error {
	if err == nil {
		err = errHandshake
	}
	switch status.Code(err) {
	case codes.FailedPrecondition:
		if status.Convert(err).Message() == errRemoved.Error() && p.t.o.OnRemoved != nil {
			go p.t.o.OnRemoved() // at each refusal: streams reopen after a growing wait
		}
	case codes.PermissionDenied, codes.Unauthenticated, codes.InvalidArgument:
		p.t.m.authFailures.WithLabelValues(reasonRefused).Inc()
		p.log.Debug("peer refused our handshake", zap.String("reason", reasonRefused), zap.Error(err))
	}
	return err
}

// send encodes v and sends it, counting its bytes.
func (p *peer) send(s grpc.ClientStream, f *frame) error {
	b := encoded(f.appendTo(nil))
	if err := s.SendMsg(b); err != nil {
		return err
	}
	p.t.m.sentBytes.WithLabelValues(peerLabel(p.id)).Add(float64(len(b)))
	return nil
}

// stream runs one message stream until it fails or the peer stops; healthy says the handshake
// went through.
func (p *peer) stream() (healthy bool, err error) {
	ctx, cancel := context.WithCancel(p.ctx)
	defer cancel()
	s, err := p.open(ctx, cancel, p.msgConn, &serviceDesc.Streams[0], methodRaft)
	if err != nil {
		return false, err
	}
	pongs := make(chan error, 1) // room for the one error: the reader never waits
	done := make(chan struct{})
	go func() {
		defer close(done)
		pongs <- p.readPongs(s)
	}()
	err = p.drain(ctx, s, pongs)
	cancel()
	<-done // cancel ends its RecvMsg
	return true, err
}

var errPongsEnded = errors.New("the stream's read side ended")

// drain sends queued messages, and a ping every PingInterval, until the stream fails.
func (p *peer) drain(ctx context.Context, s grpc.ClientStream, pongs <-chan error) error {
	ticker := time.NewTicker(p.t.o.PingInterval)
	defer ticker.Stop()
	sent := p.t.m.sentBytes.WithLabelValues(peerLabel(p.id))
	if err := p.send(s, &frame{ping: p.t.since()}); err != nil {
		return err
	}
	var batch []encoded
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-pongs:
			return fmt.Errorf("%w: %w", errPongsEnded, err)
		case <-ticker.C:
			if err := p.send(s, &frame{ping: p.t.since()}); err != nil {
				return err
			}
		case <-p.q.ready:
			if batch = p.q.take(batch, p.t.o.BatchBytes); len(batch) == 0 {
				continue
			}
			b := join(batch)
			clear(batch) // let the parts go once b is written
			if err := s.SendMsg(b); err != nil {
				return err
			}
			sent.Add(float64(len(b)))
		}
	}
}

// join makes frames of one group one frame of all their messages. The joined frame is fresh:
// gRPC keeps what it is given until written.
func join(frames []encoded) encoded {
	if len(frames) == 1 {
		return frames[0]
	}
	size := 0
	for _, f := range frames {
		size += len(f)
	}
	out := make(encoded, 0, size)
	for _, f := range frames {
		out = append(out, f...)
	}
	return out
}

// readPongs observes the round trip of each ping the peer echoes.
func (p *peer) readPongs(s grpc.ClientStream) error {
	rtt := p.t.m.roundTrip.WithLabelValues(peerLabel(p.id))
	received := p.t.m.receivedByte.WithLabelValues(peerLabel(p.id))
	for {
		var f frame
		if err := s.RecvMsg(&f); err != nil {
			return err
		}
		received.Add(float64(f.wire))
		if f.pong != 0 {
			rtt.Observe(time.Duration(p.t.since() - f.pong).Seconds())
		}
	}
}

// sendFailed returns why a stream the server ended is over: SendMsg says only io.EOF, RecvMsg
// the status.
func sendFailed(s grpc.ClientStream, err error) error {
	if errors.Is(err, io.EOF) {
		if rerr := s.RecvMsg(&frame{}); rerr != nil {
			return rerr
		}
	}
	return err
}
