package client

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/taudb/tau/pkg/protocol"
)

// Conn is one authenticated connection, safe for concurrent use; see the package comment.
type Conn struct {
	addr string
	nc   net.Conn
	opts Options

	sem     chan struct{} // a token per request in flight; the reader gives it back on the answer
	pending chan *call    // written and unanswered, in the order written (R1)

	writers  atomic.Int32 // callers waiting for or holding wmu: the last one out flushes
	wmu      sync.Mutex
	bw       *bufio.Writer
	scratch  [scratchSize]byte
	deadline time.Time // the write deadline set on nc
	err      error     // why nothing more may be sent; guarded by wmu

	closing    atomic.Bool
	closeOnce  sync.Once
	readerDone chan struct{}
}

// Dial connects to addr ("host:port") and authenticates with cert. A connection refused with
// busy (the server's connection limit) is dialled again with backoff, like a busy request.
func Dial(ctx context.Context, addr string, cert protocol.Certificate, opts *Options) (*Conn, error) {
	o := opts.withDefaults()
	for attempt := 0; ; attempt++ {
		c, err := dialOnce(ctx, addr, cert, &o)
		if err == nil || !errors.Is(err, ErrBusy) || attempt >= o.retries() {
			return c, err
		}
		if err := sleep(ctx, o.backoff(attempt)); err != nil {
			return nil, &ConnError{Addr: addr, Err: err, Dial: true}
		}
	}
}

func dialOnce(ctx context.Context, addr string, cert protocol.Certificate, o *Options) (*Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, o.DialTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, &ConnError{Addr: addr, Err: err, Dial: true}
	}
	if o.TLS != nil {
		if nc, err = handshake(ctx, nc, addr, o.TLS); err != nil {
			return nil, &ConnError{Addr: addr, Err: err, Dial: true}
		}
	}
	c := newConn(addr, nc, o)
	req := request{op: protocol.OpConnect, key: cert}
	res := c.once(ctx, &req)
	if err := res.error(protocol.OpConnect); err != nil {
		c.abort()
		var ce *ConnError
		if errors.As(err, &ce) || errors.As(err, new(*StatusError)) {
			return nil, err
		}
		return nil, &ConnError{Addr: addr, Err: err, Dial: true}
	}
	return c, nil
}

// handshake runs the client side of a TLS handshake on nc; it closes nc when it fails.
func handshake(ctx context.Context, nc net.Conn, addr string, cfg *tls.Config) (net.Conn, error) {
	if cfg.ServerName == "" {
		cfg = cfg.Clone()
		if host, _, err := net.SplitHostPort(addr); err == nil {
			cfg.ServerName = host
		}
	}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
	return tc, nil
}

func newConn(addr string, nc net.Conn, o *Options) *Conn {
	c := &Conn{
		addr:       addr,
		nc:         nc,
		opts:       *o,
		sem:        make(chan struct{}, o.MaxInFlight),
		pending:    make(chan *call, o.MaxInFlight),
		bw:         bufio.NewWriterSize(nc, o.BufferSize),
		readerDone: make(chan struct{}),
	}
	go c.readLoop(bufio.NewReaderSize(nc, o.BufferSize))
	return c
}

// Addr is the address the connection was dialled to.
func (c *Conn) Addr() string { return c.addr }

// Err is nil while the connection is usable, and otherwise why it is not (ErrClosed after
// Close, a *ConnError after a failure).
func (c *Conn) Err() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.err
}

// Ping sends PING and waits for PONG.
func (c *Conn) Ping(ctx context.Context) error {
	return c.do(ctx, request{op: protocol.OpPing})
}

// Create creates the series named l (ErrSeriesAlreadyExists if it exists).
func (c *Conn) Create(ctx context.Context, l protocol.Label) error {
	return c.do(ctx, request{op: protocol.OpCreateSeries, key: l})
}

// Drop removes the series named l and all its points (ErrSeriesNotFound if there is none).
func (c *Conn) Drop(ctx context.Context, l protocol.Label) error {
	return c.do(ctx, request{op: protocol.OpDropSeries, key: l})
}

// Append adds the point (ts, v) to series l. ts is nanoseconds since the Unix epoch and must be
// after the series' last point (ErrOutOfOrder otherwise).
func (c *Conn) Append(ctx context.Context, l protocol.Label, ts int64, v float64) error {
	return c.AppendBits(ctx, l, ts, math.Float64bits(v))
}

// AppendBits is Append with the value given as its IEEE-754 bits.
func (c *Conn) AppendBits(ctx context.Context, l protocol.Label, ts int64, bits uint64) error {
	return c.do(ctx, request{op: protocol.OpAppend, key: l, ts: ts, bits: bits})
}

// Query looks up the point of series l at exactly ts; found is false when there is none.
func (c *Conn) Query(ctx context.Context, l protocol.Label, ts int64) (v float64, found bool, err error) {
	bits, found, err := c.QueryBits(ctx, l, ts)
	return math.Float64frombits(bits), found, err
}

// QueryBits is Query returning the value's IEEE-754 bits.
func (c *Conn) QueryBits(ctx context.Context, l protocol.Label, ts int64) (bits uint64, found bool, err error) {
	res := c.roundTrip(ctx, request{op: protocol.OpQueryPoint, key: l, ts: ts})
	return res.bits, res.found, res.error(protocol.OpQueryPoint)
}

func (c *Conn) do(ctx context.Context, r request) error {
	res := c.roundTrip(ctx, r)
	return res.error(r.op)
}

// roundTrip sends r until it is answered with something other than busy, or retries run out.
// Busy means nothing was done (docs/protocol.md, "Status codes"), so sending again is always safe.
func (c *Conn) roundTrip(ctx context.Context, r request) result {
	for attempt := 0; ; attempt++ {
		res := c.once(ctx, &r)
		if res.status != protocol.StatusBusy || attempt >= c.opts.retries() {
			return res
		}
		if err := sleep(ctx, c.opts.backoff(attempt)); err != nil {
			return result{err: err}
		}
	}
}

// once sends one request and waits for its answer.
func (c *Conn) once(ctx context.Context, r *request) result {
	if err := ctx.Err(); err != nil {
		return result{err: err}
	}
	if err := c.acquire(ctx); err != nil {
		return result{err: err}
	}
	cl := getCall(r)
	calls := [1]*call{cl}
	if err := c.write(calls[:], false); err != nil {
		c.release()
		putCall(cl)
		return result{err: err}
	}
	return c.wait(ctx, cl)
}

// tryAcquire takes a place for one request in flight if one is free.
func (c *Conn) tryAcquire() bool {
	select {
	case c.sem <- struct{}{}:
		return true
	default:
		return false
	}
}

// acquire waits for a place for one request in flight.
func (c *Conn) acquire(ctx context.Context) error {
	if c.tryAcquire() {
		return nil
	}
	select {
	case c.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.readerDone:
		return c.Err()
	}
}

func (c *Conn) release() { <-c.sem }

// write queues calls as consecutive requests and puts them on the wire. It fails, queuing
// nothing, only when the connection is already unusable; a failure while writing breaks the
// connection, and the reader then hands the error to every queued call. closing marks the
// connection closed for later callers (Close's DISCONNECT).
func (c *Conn) write(calls []*call, closing bool) error {
	c.writers.Add(1)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	// Whoever comes after us will flush our bytes with theirs: one system call for many
	// concurrent requests.
	last := c.writers.Add(-1) == 0
	if c.err != nil {
		return c.err
	}
	if closing {
		c.err = ErrClosed
	}
	c.refreshDeadline()
	var err error
	for _, cl := range calls {
		c.pending <- cl // never blocks: each queued call holds a token of sem
		switch {
		case err != nil:
		case cl.req.op == protocol.OpAppendBatch:
			err = c.writeBatch(&cl.req)
		default:
			_, err = c.bw.Write(cl.req.appendFrame(c.scratch[:0]))
		}
	}
	if err == nil && (last || closing) {
		err = c.bw.Flush()
	}
	if err != nil {
		if c.err == nil {
			c.err = &ConnError{Addr: c.addr, Err: err}
		}
		_ = c.nc.Close() // the reader fails the queued calls
	}
	return nil
}

// writeBatch writes an APPEND_BATCH frame: the head, then the points a few at a time through
// the scratch buffer, so that a batch of any size is written without allocating.
func (c *Conn) writeBatch(r *request) error {
	n := len(r.points)
	b := protocol.AppendHeader(c.scratch[:0], protocol.OpAppendBatch, uint32(protocol.BatchPayloadSize(n)))
	b = protocol.AppendBatchHeader(b, r.key, n)
	for i := range r.points {
		if len(b)+protocol.BatchPointSize > len(c.scratch) {
			if _, err := c.bw.Write(b); err != nil {
				return err
			}
			b = c.scratch[:0]
		}
		p := &r.points[i]
		bits := p.Bits
		if !r.asBits {
			bits = math.Float64bits(p.Value)
		}
		b = protocol.AppendBatchPointBits(b, p.TS, bits)
	}
	_, err := c.bw.Write(b)
	return err
}

// refreshDeadline keeps a write deadline about WriteTimeout ahead, moving it only when half of
// it has passed so that most writes need no extra call into the runtime.
func (c *Conn) refreshDeadline() {
	now := time.Now()
	if c.deadline.Sub(now) > c.opts.WriteTimeout/2 {
		return
	}
	c.deadline = now.Add(c.opts.WriteTimeout)
	_ = c.nc.SetWriteDeadline(c.deadline) // fails only on a closed socket, which the write reports
}

// wait returns the answer to cl, or ctx.Err() if ctx ends first; the reader then discards the
// answer when it comes and recycles cl.
func (c *Conn) wait(ctx context.Context, cl *call) result {
	select {
	case <-cl.done:
	case <-ctx.Done():
		if cl.state.CompareAndSwap(callWaiting, callAbandoned) {
			return result{err: ctx.Err()}
		}
		<-cl.done // answered meanwhile: use the answer
	}
	res := cl.res
	putCall(cl)
	return res
}

// finish hands an answered call to its waiter, or recycles it if the waiter gave up.
func (c *Conn) finish(cl *call) {
	if cl.state.CompareAndSwap(callWaiting, callAnswered) {
		cl.done <- struct{}{}
		return
	}
	putCall(cl)
}

// readLoop is the one reader: it matches each answer to the oldest unanswered request. Answers
// of v1 requests are read into a fixed buffer; a page (LIST_SERIES, QUERY_RANGE) is read into
// a buffer of its own, which its caller then owns.
func (c *Conn) readLoop(br *bufio.Reader) {
	defer close(c.readerDone)
	var hdr [protocol.HeaderSize]byte
	var small [smallAnswer]byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			c.fail(err, nil)
			return
		}
		h, err := protocol.DecodeHeader(&hdr)
		if err != nil {
			c.fail(err, nil)
			return
		}
		var cl *call
		select {
		case cl = <-c.pending:
		default:
		}
		op := protocol.OpPing // no request waiting: only a short ERR is expected
		if cl != nil {
			op = cl.req.op
		}
		if h.Length > maxAnswer(op) {
			c.fail(fmt.Errorf("%w: %s frame of %d bytes to %s", ErrUnexpectedAnswer, h.Opcode, h.Length, op), cl)
			return
		}
		var p []byte
		switch {
		case h.Opcode == protocol.OpOK && isPaged(op):
			p = make([]byte, h.Length)
		case h.Length <= smallAnswer:
			p = small[:h.Length]
		default:
			c.fail(fmt.Errorf("%w: %s frame of %d bytes to %s", ErrUnexpectedAnswer, h.Opcode, h.Length, op), cl)
			return
		}
		if _, err := io.ReadFull(br, p); err != nil {
			c.fail(err, cl)
			return
		}
		if cl == nil {
			c.fail(unsolicited(h, p), nil)
			return
		}
		c.release()
		cl.res = decodeAnswer(cl.req.op, h, p)
		c.finish(cl)
	}
}

// fail breaks the connection and hands the error to cl, if the reader holds one, and to every
// request still waiting.
func (c *Conn) fail(cause error, cl *call) {
	_ = c.nc.Close()
	var err error = &ConnError{Addr: c.addr, Err: cause}
	if c.closing.Load() {
		err = ErrClosed
	}
	c.wmu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.wmu.Unlock()
	if cl != nil {
		c.release()
		cl.res = result{err: err}
		c.finish(cl)
	}
	// No call is queued after c.err is set, so this drains them all.
	for {
		select {
		case cl := <-c.pending:
			c.release()
			cl.res = result{err: err}
			c.finish(cl)
		default:
			return
		}
	}
}

// Close sends DISCONNECT after the requests already in flight, waits up to
// Options.CloseTimeout for its answer (and so for theirs), and closes the socket. Requests made
// after Close get ErrClosed.
func (c *Conn) Close() error {
	c.closeOnce.Do(c.close)
	return nil
}

func (c *Conn) close() {
	c.closing.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.CloseTimeout)
	defer cancel()
	if c.acquire(ctx) == nil {
		cl := getCall(&request{op: protocol.OpDisconnect})
		calls := [1]*call{cl}
		if c.write(calls[:], true) != nil {
			c.release()
			putCall(cl)
		} else {
			c.wait(ctx, cl)
		}
	}
	c.abort()
}

// abort closes the socket at once and waits for the reader to finish.
func (c *Conn) abort() {
	c.closing.Store(true)
	_ = c.nc.Close()
	<-c.readerDone
}
