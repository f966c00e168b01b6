package server

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/taudb/tau/internal/engine"
	"github.com/taudb/tau/internal/series"
	"github.com/taudb/tau/internal/server/status"
	"github.com/taudb/tau/pkg/protocol"
)

// maxWindow bounds one connection's requests in flight (R1). The window is also kept no larger
// than a mailbox, so a connection's own pipelining never fills its series' mailbox.
const maxWindow = 256

// slot is one request in flight: what the front end knows of it, and the engine's result.
// Slots circulate between the reader and the writer, so they allocate nothing in steady state.
type slot struct {
	res   *engine.Result
	page  *page // LIST_SERIES, QUERY_RANGE and LIST_LENSES: the answer's buffer, lent until it is written
	paged int64 // bytes of the page budget page holds (reads.go)
	// APPEND_BATCH: the points, lent to the engine until it has run them, and the payload
	// budget they hold (batch.go)
	batch  *[]engine.BatchPoint
	held   int64
	op     protocol.Opcode
	status protocol.Status // the answer when the front end answers itself (local)
	local  bool            // answered by the front end: the engine never saw it
	close  bool            // close the connection after this answer
	start  time.Time       // when the request was read, for the latency histogram
	waited bool            // the engine's result was already waited for (the fast path looked)
}

func (r *slot) reset(op protocol.Opcode, start time.Time) {
	r.op, r.status, r.local, r.close, r.start, r.waited = op, 0, false, false, start, false
}

// answer completes the slot in the front end itself with st (0 for OK).
func (r *slot) answer(st protocol.Status) { r.status, r.local = st, true }

// conn is one client connection: a reader goroutine decodes requests and hands them to the
// engine, a writer goroutine answers them in arrival order.
type conn struct {
	srv     *Server
	nc      net.Conn
	r       *protocol.Reader
	bw      *bufio.Writer
	session session
	log     *zap.Logger
	free    chan *slot // slots the reader may fill: the window
	pending chan *slot // filled slots, in request order, for the writer
	held    []*slot    // the reader's scratch while it waits for the window to drain (quiesce)
	done    []answered // answers written since the last flush, for the metrics (countAnswers); under wmu
	// spare is the slot the reader answered itself last (answerNow), kept for its next
	// request; the reader's own, nil whenever it is in free's count (quiesce)
	spare *slot
	// pageFree holds a token while no paged answer (LIST_SERIES, QUERY_RANGE) is in flight:
	// one at a time per connection bounds its memory (reads.go).
	pageFree chan struct{}
	out      []byte
	arrived  time.Time                                  // when the read that brought the requests being read returned
	batchBuf [batchChunk * protocol.BatchPointSize]byte // APPEND_BATCH's head, then its points piece by piece
	failed   bool                                       // a write failed: keep draining, write nothing
	// moreInput is set by the reader when another request is already buffered whole: the
	// writer then holds its answers for the same write instead of flushing each.
	moreInput atomic.Bool
	// wmu is held by whoever writes answers: the writer goroutine, or the reader when it
	// answers a request itself (the fast path). It guards bw, out and failed.
	wmu sync.Mutex
	// queued counts the slots handed to the writer and not yet answered. The reader answers
	// itself only while it is 0, so answers keep the order of requests (R1).
	queued atomic.Int32
	fast   bool // the fast path is on (not Options.Queued)
	// accepted is when the connection was accepted: the idle clock of its first request
	// (and of its TLS handshake) runs from there (R10).
	accepted time.Time
	rep      replicated // cluster mode only (cluster.go)
}

// newConn is a connection just accepted: its buffers and window come with setup, once a TLS
// handshake (if any) is done, so a connection that never completes one costs little.
func newConn(s *Server, nc net.Conn, accepted time.Time) *conn {
	return &conn{srv: s, nc: nc, accepted: accepted, fast: !s.queued,
		log: s.log.With(zap.Stringer("remote", nc.RemoteAddr()))}
}

// setup allocates what serving requests needs.
func (c *conn) setup() {
	s := c.srv
	window := min(maxWindow, s.cfg.MailboxCapacity)
	var in io.Reader = c.nc
	if s.replica != nil {
		in = countingReader{c}
	}
	c.r = protocol.NewReader(bufio.NewReaderSize(in, 32<<10), uint32(s.cfg.MaxPayloadBytes))
	c.bw = bufio.NewWriterSize(c.nc, 32<<10)
	c.session = newSession(s.keeper)
	c.free = make(chan *slot, window)
	c.pending = make(chan *slot, window)
	c.held = make([]*slot, 0, window)
	c.pageFree = make(chan struct{}, 1)
	c.out = make([]byte, 0, protocol.HeaderSize+protocol.SeriesInfoAnswerSize)
	c.done = make([]answered, 0, window)
	for i := 0; i < window; i++ {
		c.free <- &slot{res: engine.NewResult()}
	}
	c.pageFree <- struct{}{}
}

// serve runs the connection until it closes; the writer owns closing the socket.
func (c *conn) serve() {
	if tc, ok := c.nc.(*tls.Conn); ok && !c.handshake(tc) {
		return
	}
	c.setup()
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
		r := c.spare
		if r == nil {
			r = <-c.free
		}
		c.spare = nil
		// The idle clock runs from the last complete request (or the accept), and a frame
		// trickled in too slowly counts as idle: one deadline for the whole next frame (R10).
		// A frame already buffered whole needs no socket read, so the deadline is armed only
		// when the reader is about to wait for the client: once per pipelined batch.
		fresh := !c.r.NextFrameBuffered()
		if fresh {
			_ = c.nc.SetReadDeadline(c.idleFrom().Add(c.srv.cfg.ConnectionTimeout))
		}
		// Checked after arming the deadline: Shutdown sets draining, then a deadline of now,
		// so one of the two always stops this reader.
		if c.srv.draining.Load() {
			c.refuseForShutdown(r)
			return
		}
		if !c.readRequest(r, fresh) {
			return
		}
	}
}

// idleFrom is when the idle clock of the next request starts: the accept for the first
// request, so a TLS handshake and a first frame trickled after it share one timeout; else now,
// since the reader only waits for the client once the previous request is complete.
func (c *conn) idleFrom() time.Time {
	if !c.accepted.IsZero() {
		t := c.accepted
		c.accepted = time.Time{}
		return t
	}
	return time.Now()
}

// readRequest reads one request into r and queues r for the writer; false ends the reader.
// fresh says the request was not already buffered whole: reading it waited for the socket.
func (c *conn) readRequest(r *slot, fresh bool) bool {
	h, err := c.r.ReadHeader()
	if err != nil {
		return c.frameError(r, h, err)
	}
	// Requests that came in one read arrived together: their latency runs from one clock
	// reading, taken once the read that brought them returned. (A clock reading per request
	// was 8% of the server's CPU answering pipelined PINGs.)
	if fresh || c.arrived.IsZero() {
		c.arrived = time.Now()
	}
	r.reset(h.Opcode, c.arrived)
	switch {
	case !c.session.Allowed(h.Opcode): // R0, R5: before the opcode and length checks
		c.badInput(r, protocol.StatusNotAuthenticated, reasonAuth)
		return false
	case h.Opcode == protocol.OpAppendBatch: // R4 and the rest in batch.go
		return c.readBatch(h, r)
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
	if !closeAfter && c.answerNow(r) {
		return true
	}
	c.queue(r, closeAfter)
	return !closeAfter
}

// queue hands r to the writer. Every answer the reader does not write itself goes through
// here, so moreInput always tells the truth about the request after r: a stale "more is
// coming" would hold an answer back while the reader waits for a client that waits for it.
func (c *conn) queue(r *slot, closeAfter bool) {
	c.moreInput.Store(!closeAfter && c.r.NextFrameBuffered())
	c.queued.Add(1)
	c.pending <- r
}

// answerNow is the fast path: when the writer has nothing left to answer and r's answer is
// ready (the front end answered it, or the engine ran it inline), the reader writes it itself,
// saving the hand-off to the writer goroutine. An answer still waiting for the disk goes to
// the writer: measured, a reader that waits for the fsync itself makes group commits smaller
// (7,500 fsyncs for 117,000 appends against 6,400 for 133,000, TAU_FSYNC=always, 50
// connections, one append in flight each). It reports whether r was answered.
func (c *conn) answerNow(r *slot) bool {
	if !c.fast || c.queued.Load() != 0 {
		return false
	}
	if !r.local {
		if !r.res.Ready() {
			return false
		}
		r.res.Wait() // returns at once; a receive, so the result's fields are ours to read
		r.waited = true
		if r.res.Pending() {
			return false
		}
	}
	c.settle(r)
	c.wmu.Lock()
	c.answer(r)
	if !c.r.NextFrameBuffered() {
		c.flush()
	}
	c.wmu.Unlock()
	c.spare = r // the reader's next request reuses it: no round trip through free
	return true
}

// frameError answers bad magic, bad version and oversized payloads and ends the connection
// without reading the payload (R2); read errors just end it.
func (c *conn) frameError(r *slot, h protocol.Header, err error) bool {
	r.reset(h.Opcode, time.Now())
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
func (c *conn) incomplete(r *slot, err error) bool {
	c.readEnded(err)
	c.free <- r
	return false
}

// badInput answers a request the server refuses before any operation; a non-empty reason means
// the status closes the connection and names why in the metrics.
func (c *conn) badInput(r *slot, s protocol.Status, reason string) {
	c.log.Debug("bad input", zap.Stringer("status", s), zap.Uint8("opcode", uint8(r.op)))
	if reason != "" {
		r.close = true
		c.srv.metrics.connsRejected.WithLabelValues(reason).Inc()
	}
	r.answer(s)
	c.queue(r, r.close)
}

// refuseForShutdown answers a request already waiting in the buffer with busy, then closes.
func (c *conn) refuseForShutdown(r *slot) {
	if c.r.Buffered() < protocol.HeaderSize {
		c.free <- r
		return
	}
	r.reset(0, time.Now())
	c.badInput(r, protocol.StatusBusy, reasonShutdown)
}

// dispatch starts the operation; the answer completes r now or later (from the engine). It
// reports whether the connection closes after this answer.
func (c *conn) dispatch(op protocol.Opcode, p []byte, r *slot) bool {
	if c.srv.replica != nil {
		if handled, closeAfter := c.dispatchReplicated(op, p, r); handled {
			return closeAfter
		}
	}
	eng := c.srv.engine
	switch op {
	case protocol.OpConnect:
		pos, ok := c.session.Connect(p)
		c.srv.metrics.connected(pos, ok)
		if !ok {
			c.log.Debug("bad input", zap.Stringer("status", protocol.StatusAuthFailed))
			r.close = true
			r.answer(protocol.StatusAuthFailed)
			return true
		}
		r.answer(0)
	case protocol.OpDisconnect:
		r.close = true
		r.answer(0)
		return true
	case protocol.OpPing:
		r.answer(0)
	case protocol.OpCreateSeries:
		eng.Create(series.Label(protocol.SeriesRequest(p)), r.res)
	case protocol.OpDropSeries:
		eng.Drop(series.Label(protocol.SeriesRequest(p)), r.res)
	case protocol.OpAppend:
		l, ts, bits := protocol.AppendRequest(p)
		eng.Append(series.Label(l), ts, bits, r.res)
	case protocol.OpQueryPoint:
		l, ts := protocol.QueryRequest(p)
		eng.QueryPoint(series.Label(l), ts, r.res)
	case protocol.OpListSeries, protocol.OpSeriesInfo, protocol.OpQueryRange:
		return c.dispatchRead(op, p, r)
	case protocol.OpCreateLens, protocol.OpDropLens, protocol.OpQueryLens, protocol.OpComposeLens, protocol.OpListLenses:
		return c.dispatchLens(op, p, r)
	}
	return false
}

// writeLoop answers in request order (R1). It flushes when no further answer is queued, so a
// pipelined batch goes out in one write, and before waiting on the disk, so earlier answers do
// not wait for a later fsync.
func (c *conn) writeLoop() {
	defer func() { _ = c.nc.Close() }()
	for r := range c.pending {
		c.settle(r)
		c.wmu.Lock()
		c.answer(r)
		closeAfter := r.close
		if closeAfter {
			c.flush()
			c.failed = true // answer nothing more; the reader has stopped
		} else if len(c.pending) == 0 && !c.moreInput.Load() {
			c.flush()
		}
		c.queued.Add(-1)
		c.wmu.Unlock()
		c.free <- r
	}
	c.sendWritten()
}

// answer writes r's answer and accounts for it; the caller holds wmu.
func (c *conn) answer(r *slot) {
	c.write(r)
	c.releasePage(r)
	if len(c.done) == cap(c.done) { // a long stream of answers between flushes
		c.countAnswers()
	}
	c.done = append(c.done, answered{op: r.op, status: r.status, start: r.start})
}

// answered is an answer written to the buffer, counted in the metrics at the next flush.
type answered struct {
	op     protocol.Opcode
	status protocol.Status
	start  time.Time
}

// countAnswers records the answers written since the last flush: their latency runs to the flush
// that sends them, one clock reading for them all. (A reading per answer was 3% of the
// server's CPU answering pipelined PINGs; this machine's clock is slow to read.) Answers of one
// opcode and status that came in one read have one latency, so each run of them is counted
// at once. The caller holds wmu.
func (c *conn) countAnswers() {
	if len(c.done) == 0 {
		return
	}
	now := time.Now()
	for done := c.done; len(done) > 0; {
		n := sameAnswers(done)
		c.srv.metrics.answered(done[0].op, done[0].status, now.Sub(done[0].start), n)
		done = done[n:]
	}
	c.done = c.done[:0]
}

// sameAnswers is the length of the run of answers at the start of done that share opcode,
// status and read.
func sameAnswers(done []answered) int {
	n := 1
	for n < len(done) && done[n] == done[0] {
		n++
	}
	return n
}

// settle waits for the engine's answer to r and then for its durability (R11), flushing the
// answers before it first so they do not wait for a later fsync, and sets r's status.
func (c *conn) settle(r *slot) {
	if r.local {
		return
	}
	if !r.waited {
		r.res.Wait()
	}
	c.releaseBatch(r)
	if r.res.Pending() {
		c.sendWritten()
	}
	err := r.res.Durable()
	switch {
	case errors.Is(err, engine.ErrBusy):
		c.srv.metrics.busy.Inc()
	case errors.Is(err, engine.ErrStorageFailed):
		c.srv.metrics.storageErrors.Inc()
	}
	r.status = status.Of(err)
}

func (c *conn) write(r *slot) {
	if c.failed {
		return
	}
	c.out = c.out[:0]
	switch {
	case r.status != 0:
		c.out = protocol.AppendErr(c.out, r.status)
	case r.op == protocol.OpPing:
		c.out = protocol.AppendHeader(c.out, protocol.OpPong, 0)
	case r.op == protocol.OpQueryPoint, r.op == protocol.OpQueryLens:
		c.out = protocol.AppendQueryAnswer(c.out, r.res.Found(), r.res.Value())
	case r.op == protocol.OpSeriesInfo:
		info := r.res.Info()
		c.out = protocol.AppendSeriesInfoAnswer(c.out, info.Points, info.First, info.Last)
	case r.op == protocol.OpQueryRange:
		c.writeRange(&r.page.rng)
		return
	case r.op == protocol.OpListSeries:
		c.writeList(&r.page.list)
		return
	case r.op == protocol.OpListLenses:
		c.writeLensList(&r.page.list)
		return
	default:
		c.out = protocol.AppendHeader(c.out, protocol.OpOK, 0)
	}
	c.writeOut()
}

// writeOut writes c.out, arming the write deadline when the write may block.
func (c *conn) writeOut() {
	if c.bw.Available() < len(c.out) {
		c.armWriteDeadline()
	}
	if _, err := c.bw.Write(c.out); err != nil {
		c.writeFailed(err)
	}
}

func (c *conn) flush() {
	c.countAnswers() // before the bytes leave: a client that has its answer finds it counted
	if c.failed || c.bw.Buffered() == 0 {
		return
	}
	c.armWriteDeadline()
	if err := c.bw.Flush(); err != nil {
		c.writeFailed(err)
	}
}

// sendWritten flushes the answers written so far, taking the writer's lock: before a wait, so
// they do not wait with it (the writer before a durability wait; the reader before a budget
// wait, where answers it wrote itself, or the writer held back because the next request was
// already buffered, would otherwise stay in the buffer), and when the writer stops.
func (c *conn) sendWritten() {
	c.wmu.Lock()
	c.flush()
	c.wmu.Unlock()
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
