package transport

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// snapshotLoop streams each MsgSnap with its data, one at a time, on the snapshot connection,
// and reports how it ended.
func (p *peer) snapshotLoop() {
	defer p.wg.Done()
	for {
		select {
		case <-p.ctx.Done():
			return
		case m := <-p.snaps:
			result, st := "ok", raft.SnapshotFinish
			if err := p.sendSnapshot(m); err != nil {
				result, st = "failed", raft.SnapshotFailure
				p.log.Debug("snapshot not sent", zap.Uint64("index", m.GetSnapshot().GetMetadata().GetIndex()), zap.Error(err))
			}
			p.t.m.snapshots.WithLabelValues("sent", result).Inc()
			if p.ctx.Err() != nil {
				return
			}
			p.t.h.ReportSnapshot(p.id, st)
		}
	}
}

func (p *peer) sendSnapshot(m *raftpb.Message) error {
	rc, size, err := p.t.src.Open(m.GetSnapshot().GetMetadata())
	if err != nil {
		return fmt.Errorf("open the snapshot: %w", err)
	}
	defer func() { _ = rc.Close() }()
	ctx, cancel := context.WithCancel(p.ctx)
	defer cancel()
	s, err := p.open(ctx, cancel, p.snapConn, &serviceDesc.Streams[1], methodSnapshot)
	if err != nil {
		return err
	}
	head, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	if err := p.send(s, &frame{group: p.t.o.Group, messages: [][]byte{head}, size: uint64(size)}); err != nil {
		return sendFailed(s, err)
	}
	sum, err := p.sendChunks(s, rc, size)
	if err != nil {
		return sendFailed(s, err)
	}
	if err := p.send(s, &frame{sha256: sum}); err != nil {
		return sendFailed(s, err)
	}
	if err := s.CloseSend(); err != nil {
		return err
	}
	return s.RecvMsg(&frame{}) // the receiver's answer: stored and delivered, or why not
}

// sendChunks streams r's size bytes and returns their SHA-256.
func (p *peer) sendChunks(s grpc.ClientStream, r io.Reader, size int64) ([]byte, error) {
	h := sha256.New()
	buf := make([]byte, p.t.o.SnapshotChunk)
	var n int64
	for {
		k, err := io.ReadFull(r, buf)
		if k > 0 {
			h.Write(buf[:k])
			if p.t.corrupt != nil {
				p.t.corrupt(buf[:k])
			}
			if err := p.send(s, &frame{chunk: buf[:k]}); err != nil {
				return nil, err
			}
			n += int64(k)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read the snapshot: %w", err)
		}
	}
	if n != size {
		return nil, fmt.Errorf("the snapshot source gave %d bytes of the %d it announced", n, size)
	}
	return h.Sum(nil), nil
}

// serveSnapshot receives one snapshot: its MsgSnap, then its data, which the sink stores while
// the reader checks it; the MsgSnap reaches Process only once the sink has kept checked data.
func (t *Transport) serveSnapshot(ss grpc.ServerStream) error {
	from, err := t.accept(ss)
	if err != nil {
		return err
	}
	var head frame
	if err := ss.RecvMsg(&head); err != nil {
		return err
	}
	received := t.m.receivedByte.WithLabelValues(peerLabel(from))
	received.Add(float64(head.wire))
	m, reason := t.admit(&head, 0, from, true)
	if reason == "" && len(head.messages) != 1 {
		reason = refuseMalformed
	}
	if reason != "" {
		t.m.refused.WithLabelValues(peerLabel(from), reason).Inc()
		t.log.Debug("peer snapshot refused", zap.Uint64("peer", from), zap.String("reason", reason))
		return t.snapshotFailed(status.Error(codes.InvalidArgument, "snapshot refused: "+reason))
	}
	r := &snapshotReader{s: ss, size: head.size, h: sha256.New(), received: received.Add}
	meta := m.GetSnapshot().GetMetadata()
	if err := t.sink.Receive(meta, r); err != nil {
		t.log.Debug("peer snapshot not stored", zap.Uint64("peer", from), zap.Uint64("index", meta.GetIndex()), zap.Error(err))
		return t.snapshotFailed(status.Error(codes.DataLoss, "snapshot not stored: "+err.Error()))
	}
	if !r.verified {
		return t.snapshotFailed(status.Error(codes.Internal, "the snapshot sink returned before the end of the data"))
	}
	if err := t.h.Process(ss.Context(), m); err != nil {
		return t.snapshotFailed(status.Error(codes.Unavailable, "snapshot not processed: "+err.Error()))
	}
	t.m.snapshots.WithLabelValues("received", "ok").Inc()
	return ss.SendMsg(encoded(nil))
}

func (t *Transport) snapshotFailed(err error) error {
	t.m.snapshots.WithLabelValues("received", "failed").Inc()
	return err
}

// errCorrupt: the data received is not what the sender read.
var errCorrupt = errors.New("snapshot data corrupt")

// snapshotReader yields a snapshot stream's chunks, and io.EOF only after the trailer's
// SHA-256 and the header's length match what came.
type snapshotReader struct {
	s        grpc.ServerStream
	size     uint64
	n        uint64
	h        hash.Hash
	buf      []byte
	err      error
	verified bool
	received func(float64)
}

func (r *snapshotReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		r.next()
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// next receives one frame: a chunk, or the trailer that ends the data.
func (r *snapshotReader) next() {
	var f frame
	if err := r.s.RecvMsg(&f); err != nil {
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("%w: the stream ended before its checksum", errCorrupt)
		}
		r.err = err
		return
	}
	r.received(float64(f.wire))
	switch {
	case len(f.chunk) > 0 && len(f.sha256) == 0:
		r.n += uint64(len(f.chunk))
		if r.n > r.size {
			r.err = fmt.Errorf("%w: more than the %d bytes announced", errCorrupt, r.size)
			return
		}
		r.h.Write(f.chunk)
		r.buf = f.chunk
	case len(f.sha256) > 0 && len(f.chunk) == 0:
		r.err = r.check(f.sha256)
	default:
		r.err = fmt.Errorf("%w: a frame with neither data nor checksum", errMalformed)
	}
}

func (r *snapshotReader) check(sum []byte) error {
	if r.n != r.size {
		return fmt.Errorf("%w: %d bytes of the %d announced", errCorrupt, r.n, r.size)
	}
	if !bytes.Equal(r.h.Sum(nil), sum) {
		return fmt.Errorf("%w: SHA-256 mismatch", errCorrupt)
	}
	r.verified = true
	return io.EOF
}
