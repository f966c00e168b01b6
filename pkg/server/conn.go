package server

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/taudb/tau/pkg/actor"
	"github.com/taudb/tau/pkg/auth"
	"github.com/taudb/tau/pkg/protocol"
)

// maxWindow bounds one connection's requests in flight (R1). The window is also kept no larger
// than a mailbox, so a connection's own pipelining never fills its series' mailbox.
const maxWindow = 256

// conn is one client connection: a reader goroutine decodes requests and hands them to actors,
// a writer goroutine answers them in arrival order. Reply slots circulate between the two.
type conn struct {
	srv     *Server
	nc      net.Conn
	r       *protocol.Reader
	bw      *bufio.Writer
	session auth.Session
	log     *zap.Logger
	free    chan *actor.Reply // slots the reader may fill: the window
	pending chan *actor.Reply // filled slots, in request order, for the writer
	out     []byte
	failed  bool // a write failed: keep draining, write nothing
	// moreInput is set by the reader when another request is already buffered whole: the
	// writer then holds its answers for the same write instead of flushing each.
	moreInput atomic.Bool
}

func newConn(s *Server, nc net.Conn) *conn {
	window := min(maxWindow, s.cfg.MailboxCapacity)
	c := &conn{
		srv: s, nc: nc,
		r:       protocol.NewReader(bufio.NewReaderSize(nc, 32<<10), uint32(s.cfg.MaxPayloadBytes)),
		bw:      bufio.NewWriterSize(nc, 32<<10),
		session: auth.NewSession(s.keeper),
		log:     s.log.With(zap.Stringer("remote", nc.RemoteAddr())),
		free:    make(chan *actor.Reply, window),
		pending: make(chan *actor.Reply, window),
		out:     make([]byte, 0, protocol.HeaderSize+9),
	}
	for i := 0; i < window; i++ {
		c.free <- actor.NewReply()
	}
	return c
}

// serve runs the connection until it closes; the writer owns closing the socket.
func (c *conn) serve() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.writeLoop()
	}()
	c.readLoop()
	<-done
}

func (c *conn) readLoop() {
	defer close(c.pending)
	for {
		r := <-c.free
		// The idle clock runs from the last complete request (or the accept), and a frame
		// trickled in too slowly counts as idle: one deadline for the whole next frame (R10).
		// A frame already buffered whole needs no socket read, so the deadline is armed only
		// when the reader is about to wait for the client: once per pipelined batch.
		if !c.r.NextFrameBuffered() {
			_ = c.nc.SetReadDeadline(time.Now().Add(c.srv.cfg.ConnectionTimeout))
		}
		// Checked after arming the deadline: Shutdown sets draining, then a deadline of now,
		// so one of the two always stops this reader.
		if c.srv.draining.Load() {
			c.refuseForShutdown(r)
			return
		}
		if !c.readRequest(r) {
			return
		}
	}
}

// readRequest reads one request into r and queues r for the writer; false ends the reader.
func (c *conn) readRequest(r *actor.Reply) bool {
	h, err := c.r.ReadHeader()
	if err != nil {
		return c.frameError(r, h, err)
	}
	r.Reset(h.Opcode, time.Now())
	switch {
	case !c.session.Allowed(h.Opcode): // R0, R5: before the opcode and length checks
		c.badInput(r, protocol.StatusNotAuthenticated, reasonAuth)
		return false
	case !h.Opcode.IsRequest(): // R3
		if err := c.r.Discard(h); err != nil {
			return c.incomplete(r, err)
		}
		c.badInput(r, protocol.StatusBadOpcode, "")
		return true
	case h.Opcode.PayloadSize() >= 0 && int(h.Length) != h.Opcode.PayloadSize(): // R4
		if err := c.r.Discard(h); err != nil {
			return c.incomplete(r, err)
		}
		c.badInput(r, protocol.StatusInvalidPayload, "")
		return true
	}
	var p []byte
	if h.Opcode.PayloadSize() >= 0 {
		p, err = c.r.ReadPayload(h)
	} else {
		err = c.r.Discard(h) // PING and DISCONNECT ignore their payload
	}
	if err != nil {
		return c.incomplete(r, err)
	}
	closeAfter := c.dispatch(h.Opcode, p, r)
	c.queue(r, closeAfter)
	return !closeAfter
}

// queue hands r to the writer. Every answer goes through here, so moreInput always tells the
// truth about the request after r: a stale "more is coming" would hold an answer back while
// the reader waits for a client that waits for that answer.
func (c *conn) queue(r *actor.Reply, closeAfter bool) {
	c.moreInput.Store(!closeAfter && c.r.NextFrameBuffered())
	c.pending <- r
}

// frameError answers bad magic, bad version and oversized payloads and ends the connection
// without reading the payload (R2); read errors just end it.
func (c *conn) frameError(r *actor.Reply, h protocol.Header, err error) bool {
	r.Reset(h.Opcode, time.Now())
	switch {
	case errors.Is(err, protocol.ErrBadMagic):
		c.badInput(r, protocol.StatusBadMagic, reasonProtocol)
	case errors.Is(err, protocol.ErrBadVersion):
		c.badInput(r, protocol.StatusBadVersion, reasonProtocol)
	case errors.Is(err, protocol.ErrPayloadTooLarge):
		c.badInput(r, protocol.StatusPayloadTooLarge, reasonProtocol)
	default:
		return c.incomplete(r, err)
	}
	return false
}

// incomplete handles a read that ended mid-frame or between frames: the client went away, idled
// out, or the server is draining.
func (c *conn) incomplete(r *actor.Reply, err error) bool {
	c.readEnded(err)
	c.free <- r
	return false
}

// badInput answers a request the server refuses before any operation; a non-empty reason means
// the status closes the connection and names why in the metrics.
func (c *conn) badInput(r *actor.Reply, s protocol.Status, reason string) {
	c.log.Debug("bad input", zap.Stringer("status", s), zap.Uint8("opcode", uint8(r.Op)))
	if reason != "" {
		r.Close = true
		c.srv.metrics.connsRejected.WithLabelValues(reason).Inc()
	}
	r.Fail(s)
	c.queue(r, r.Close)
}

// refuseForShutdown answers a request already waiting in the buffer with busy, then closes.
func (c *conn) refuseForShutdown(r *actor.Reply) {
	if c.r.Buffered() < protocol.HeaderSize {
		c.free <- r
		return
	}
	r.Reset(0, time.Now())
	c.badInput(r, protocol.StatusBusy, reasonShutdown)
}

// dispatch starts the operation; the answer completes r now or later (from an actor). It
// reports whether the connection closes after this answer.
func (c *conn) dispatch(op protocol.Opcode, p []byte, r *actor.Reply) bool {
	switch op {
	case protocol.OpConnect:
		if !c.session.Connect(p) {
			c.log.Debug("bad input", zap.Stringer("status", protocol.StatusAuthFailed))
			c.srv.metrics.connsRejected.WithLabelValues(reasonAuth).Inc()
			r.Close = true
			r.Fail(protocol.StatusAuthFailed)
			return true
		}
		r.Complete()
	case protocol.OpDisconnect:
		r.Close = true
		r.Complete()
		return true
	case protocol.OpPing:
		r.Complete()
	case protocol.OpCreateSeries:
		t, s := c.srv.catalog.Create(protocol.SeriesRequest(p))
		r.Ticket = t
		r.Fail(s)
	case protocol.OpDropSeries:
		c.send(protocol.SeriesRequest(p), actor.Message{Kind: actor.KindDrop, Reply: r})
	case protocol.OpAppend:
		l, ts, bits := protocol.AppendRequest(p)
		c.send(l, actor.Message{Kind: actor.KindAppend, TS: ts, Value: bits, Reply: r})
	case protocol.OpQueryPoint:
		l, ts := protocol.QueryRequest(p)
		c.send(l, actor.Message{Kind: actor.KindQuery, TS: ts, Reply: r})
	}
	return false
}

// send routes a series request to its actor: series_not_found for an unknown label, busy when
// its mailbox is full (R10).
func (c *conn) send(l protocol.Label, m actor.Message) {
	s, ok := c.srv.catalog.Lookup(l)
	if !ok {
		m.Reply.Fail(protocol.StatusSeriesNotFound)
		return
	}
	if !s.Send(m) {
		c.srv.metrics.busy.Inc()
		m.Reply.Fail(protocol.StatusBusy)
	}
}

// writeLoop answers in request order (R1). It flushes when no further answer is queued, so a
// pipelined batch goes out in one write, and before waiting on the disk, so earlier answers do
// not wait for a later fsync.
func (c *conn) writeLoop() {
	defer c.nc.Close()
	for r := range c.pending {
		r.Wait()
		if !r.Ticket.Ready() {
			c.flush()
		}
		if err := r.Ticket.Wait(); err != nil && r.Status == 0 {
			c.srv.metrics.storageErrors.Inc()
			r.Status = protocol.StatusInternalError
		}
		c.write(r)
		c.srv.metrics.answered(r.Op, r.Status, r.Start)
		closeAfter := r.Close
		c.free <- r
		if closeAfter {
			c.flush()
			c.failed = true // answer nothing more; the reader has stopped
		} else if len(c.pending) == 0 && !c.moreInput.Load() {
			c.flush()
		}
	}
	c.flush()
}

func (c *conn) write(r *actor.Reply) {
	if c.failed {
		return
	}
	c.out = c.out[:0]
	switch {
	case r.Status != 0:
		c.out = protocol.AppendErr(c.out, r.Status)
	case r.Op == protocol.OpPing:
		c.out = protocol.AppendHeader(c.out, protocol.OpPong, 0)
	case r.Op == protocol.OpQueryPoint:
		c.out = protocol.AppendQueryAnswer(c.out, r.Found, r.Value)
	default:
		c.out = protocol.AppendHeader(c.out, protocol.OpOK, 0)
	}
	if c.bw.Available() < len(c.out) {
		c.armWriteDeadline()
	}
	if _, err := c.bw.Write(c.out); err != nil {
		c.writeFailed(err)
	}
}

func (c *conn) flush() {
	if c.failed || c.bw.Buffered() == 0 {
		return
	}
	c.armWriteDeadline()
	if err := c.bw.Flush(); err != nil {
		c.writeFailed(err)
	}
}

// armWriteDeadline closes a client that stops reading once a write has been blocked for the
// idle timeout (R10).
func (c *conn) armWriteDeadline() {
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.srv.cfg.ConnectionTimeout))
}

// writeFailed stops writing and closes the socket so the reader stops too; the loop keeps
// draining slots so the reader never blocks on a full window.
func (c *conn) writeFailed(err error) {
	c.failed = true
	if errors.Is(err, os.ErrDeadlineExceeded) {
		c.srv.metrics.connsRejected.WithLabelValues(reasonWriteTimeout).Inc()
	}
	c.log.Debug("connection write failed", zap.Error(err))
	_ = c.nc.Close()
}

// readEnded logs why a connection's reader stopped.
func (c *conn) readEnded(err error) {
	switch {
	case errors.Is(err, io.EOF):
	case errors.Is(err, os.ErrDeadlineExceeded) && !c.srv.draining.Load():
		c.srv.metrics.connsRejected.WithLabelValues(reasonIdleTimeout).Inc()
		c.log.Debug("connection idle timeout")
	default:
		c.log.Debug("connection read ended", zap.Error(err))
	}
}
