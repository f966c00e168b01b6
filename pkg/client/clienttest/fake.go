// Package clienttest has a small in-memory TAU server for testing clients: it keeps the
// protocol's answers and order (docs/protocol.md, R1 and R4–R9) and lets a test step in before
// any request is answered, to make it busy, slow, or misbehave. It stores nothing durably and has
// none of the real server's limits; test against internal/server/servertest for those.
//
// Besides v1 it answers the extensions the real server implements: E1 LIST_SERIES, E2
// SERIES_INFO and E4 QUERY_RANGE with the server's own range code (internal/query) over the
// same point store (storage.Series), so its pages, aggregations and paging agree with the server's;
// E3 APPEND_BATCH, atomic, with the server's length and order rules and its status table; and
// the E5 lenses with the server's own registry and chains (internal/lens, kept in memory) and
// the same lookback of a series' points. Options.V1Only makes it answer them bad_opcode
// instead, as the original 1.3.0 server does, for testing a client's probe for an extension.
package clienttest

import (
	"bufio"
	"crypto/subtle"
	"errors"
	"net"
	"slices"
	"sync"
	"testing"

	"github.com/taudb/tau/internal/engine"
	"github.com/taudb/tau/internal/lens"
	"github.com/taudb/tau/internal/query"
	"github.com/taudb/tau/internal/server/status"
	"github.com/taudb/tau/internal/storage"
	"github.com/taudb/tau/pkg/protocol"
)

// Request is what a Hook sees: the request and how many requests the connection sent before.
type Request struct {
	Op      protocol.Opcode
	Payload []byte
	Seq     int
}

// Reply replaces the server's own answer.
type Reply struct {
	Frame []byte // written as is; may be empty
	Close bool   // close the connection after writing Frame
}

// Hook is called for every request before the server answers it; a nil Reply lets the server
// answer normally. It runs on the connection's goroutine: sleeping in it delays this answer
// and all later ones of the connection, as a slow server would.
type Hook func(r Request) *Reply

// Server is a fake TAU server on a loopback port.
type Server struct {
	Addr string
	Cert protocol.Certificate

	ln     net.Listener
	hook   Hook
	v1Only bool

	mu     sync.Mutex
	series map[protocol.Label]*series
	lenses *lens.Registry // in memory: the fake stores nothing durably

	wg    sync.WaitGroup
	cmu   sync.Mutex
	conns map[net.Conn]struct{}
}

type series struct {
	points *storage.Series
}

// Options change what the fake speaks.
type Options struct {
	// V1Only answers the extensions bad_opcode once authenticated, as the original 1.3.0 does.
	V1Only bool
	// LensCapacity is the most lenses (0: the server's default, 1000).
	LensCapacity int
}

// Start starts a fake server with the development certificate; it is stopped by t.Cleanup.
// hook may be nil.
func Start(t testing.TB, hook Hook) *Server {
	t.Helper()
	s, err := Listen(hook)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// StartWith is Start with options.
func StartWith(t testing.TB, hook Hook, o Options) *Server {
	t.Helper()
	s, err := ListenWith(hook, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Listen starts a fake server outside a test (for examples).
func Listen(hook Hook) (*Server, error) { return ListenWith(hook, Options{}) }

// ListenWith is Listen with options.
func ListenWith(hook Hook, o Options) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	lenses, err := lens.Open(lens.Options{Capacity: o.LensCapacity})
	if err == nil {
		_, err = lenses.Load()
	}
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	s := &Server{
		Addr: ln.Addr().String(), Cert: protocol.DevCertificate, ln: ln, hook: hook, v1Only: o.V1Only,
		series: map[protocol.Label]*series{}, lenses: lenses, conns: map[net.Conn]struct{}{},
	}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Close stops the server and closes every connection.
func (s *Server) Close() {
	_ = s.ln.Close()
	s.cmu.Lock()
	for c := range s.conns {
		_ = c.Close()
	}
	s.cmu.Unlock()
	s.wg.Wait()
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.cmu.Lock()
		s.conns[nc] = struct{}{}
		s.cmu.Unlock()
		s.wg.Add(1)
		go s.serve(nc)
	}
}

func (s *Server) serve(nc net.Conn) {
	defer s.wg.Done()
	defer func() {
		_ = nc.Close()
		s.cmu.Lock()
		delete(s.conns, nc)
		s.cmu.Unlock()
	}()
	br := bufio.NewReader(nc)
	bw := bufio.NewWriter(nc)
	r := protocol.NewReader(br, 1<<20)
	authed := false
	var out, batch []byte
	for seq := 0; ; seq++ {
		h, err := r.ReadHeader()
		if err != nil {
			writeFatal(bw, err)
			return
		}
		p, err := s.payload(r, h, &batch)
		if err != nil {
			return
		}
		var closeAfter bool
		out, closeAfter = s.answer(out[:0], Request{Op: h.Opcode, Payload: p, Seq: seq}, &authed)
		bw.Write(out)
		// Flush only when no further request is waiting, like the real server: answers to a
		// pipelined burst go out together.
		if closeAfter || br.Buffered() == 0 {
			if bw.Flush() != nil || closeAfter {
				return
			}
		}
	}
}

// writeFatal answers a framing error (R2) before the connection is closed.
func writeFatal(bw *bufio.Writer, err error) {
	switch {
	case errors.Is(err, protocol.ErrBadMagic):
		bw.Write(protocol.AppendErr(nil, protocol.StatusBadMagic))
	case errors.Is(err, protocol.ErrBadVersion):
		bw.Write(protocol.AppendErr(nil, protocol.StatusBadVersion))
	case errors.Is(err, protocol.ErrPayloadTooLarge):
		bw.Write(protocol.AppendErr(nil, protocol.StatusPayloadTooLarge))
	}
	_ = bw.Flush() // the connection is closed next either way
}

// payload reads what the request carries; unknown and oversized ones are read whole, since
// the fake answers them by opcode and length alone. An APPEND_BATCH is read into buf (the
// reader's limit, 1 MiB, bounds it).
func (s *Server) payload(r *protocol.Reader, h protocol.Header, buf *[]byte) ([]byte, error) {
	if h.Opcode == protocol.OpAppendBatch && h.Length > protocol.MaxRequestPayload {
		*buf = slices.Grow((*buf)[:0], int(h.Length))[:h.Length]
		return *buf, r.ReadFull(*buf)
	}
	if h.Length <= protocol.MaxRequestPayload {
		return r.ReadPayload(h)
	}
	return nil, r.Discard(h)
}

// answer handles one request; the order of checks is R0's.
func (s *Server) answer(dst []byte, req Request, authed *bool) ([]byte, bool) {
	if s.hook != nil {
		if rep := s.hook(req); rep != nil {
			return append(dst, rep.Frame...), rep.Close
		}
	}
	op, p := req.Op, req.Payload
	switch {
	case op == protocol.OpDisconnect:
		return protocol.AppendFrame(dst, protocol.OpOK, nil), true
	case !*authed && op != protocol.OpConnect:
		return protocol.AppendErr(dst, protocol.StatusNotAuthenticated), true
	case !op.IsRequest() || (s.v1Only && !v1(op)):
		return protocol.AppendErr(dst, protocol.StatusBadOpcode), false
	case op.PayloadSize() >= 0 && len(p) != op.PayloadSize():
		return protocol.AppendErr(dst, protocol.StatusInvalidPayload), false
	case op == protocol.OpConnect:
		*authed = subtle.ConstantTimeCompare(p, s.Cert[:]) == 1
		if !*authed {
			return protocol.AppendErr(dst, protocol.StatusAuthFailed), true
		}
		return protocol.AppendFrame(dst, protocol.OpOK, nil), false
	case op == protocol.OpPing:
		return protocol.AppendFrame(dst, protocol.OpPong, nil), false
	}
	return s.operate(dst, op, p), false
}

// v1 reports whether op is one of the original's opcodes (the others are extensions).
func v1(op protocol.Opcode) bool {
	switch op {
	case protocol.OpListSeries, protocol.OpSeriesInfo, protocol.OpQueryRange, protocol.OpAppendBatch,
		protocol.OpCreateLens, protocol.OpDropLens, protocol.OpQueryLens, protocol.OpComposeLens, protocol.OpListLenses:
		return false
	}
	return true
}

// operate carries out the series operations. Failures are the engine's errors, turned into
// status codes by the real server's table, so the fake and the server cannot disagree.
func (s *Server) operate(dst []byte, op protocol.Opcode, p []byte) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch op {
	case protocol.OpListSeries:
		return s.list(dst, p)
	case protocol.OpCreateLens, protocol.OpDropLens, protocol.OpQueryLens, protocol.OpComposeLens, protocol.OpListLenses:
		return s.lens(dst, op, p)
	case protocol.OpQueryRange:
		// E4's fields are checked before the series is looked up (R0).
		if q := protocol.QueryRangeRequest(p); !q.Valid() {
			return protocol.AppendErr(dst, protocol.StatusInvalidPayload)
		}
	case protocol.OpAppendBatch:
		// E3's length and count, as the server's reader checks them, before the series (R0).
		if !validBatch(p) {
			return protocol.AppendErr(dst, protocol.StatusInvalidPayload)
		}
	}
	sr, err := s.apply(op, p)
	switch {
	case err != nil:
		return protocol.AppendErr(dst, status.Of(err))
	case op == protocol.OpQueryPoint:
		_, ts := protocol.QueryRequest(p)
		bits, found := sr.points.Lookup(ts)
		return protocol.AppendQueryAnswer(dst, found, bits)
	case op == protocol.OpSeriesInfo:
		points, first, last := sr.points.Info()
		return protocol.AppendSeriesInfoAnswer(dst, points, first, last)
	case op == protocol.OpQueryRange:
		return queryRange(dst, sr, p)
	}
	return protocol.AppendFrame(dst, protocol.OpOK, nil)
}

// apply runs one series operation on the in-memory model and returns the series it named.
func (s *Server) apply(op protocol.Opcode, p []byte) (*series, error) {
	l := protocol.SeriesRequest(p)
	sr := s.series[l]
	switch {
	case op == protocol.OpCreateSeries && sr != nil:
		return nil, engine.ErrSeriesExists
	case op == protocol.OpCreateSeries:
		s.series[l] = &series{points: storage.NewSeries()}
		return nil, nil
	case sr == nil:
		return nil, engine.ErrSeriesNotFound
	case op == protocol.OpDropSeries:
		delete(s.series, l)
		return nil, nil
	case op == protocol.OpAppend:
		_, ts, v := protocol.AppendRequest(p)
		if last, ok := sr.points.LastTimestamp(); ok && ts <= last {
			return nil, engine.ErrOutOfOrder
		}
		sr.points.Append(ts, v)
	case op == protocol.OpAppendBatch:
		return sr, appendBatch(sr, p)
	}
	return sr, nil
}

// validBatch reports whether p is a well-formed APPEND_BATCH payload: 36 + 16n bytes, n ≥ 1
// and at most the engine's MaxBatchPoints, and n the count it carries.
func validBatch(p []byte) bool {
	n, ok := protocol.BatchCount(uint32(len(p)))
	if !ok || n > engine.MaxBatchPoints {
		return false
	}
	_, count := protocol.BatchHeader(p)
	return int64(count) == int64(n)
}

// appendBatch stores a valid batch atomically (E3): every timestamp after the one before and
// the first after the series' last, or ErrOutOfOrder and nothing stored.
func appendBatch(sr *series, p []byte) error {
	pts := p[protocol.BatchHeaderSize:]
	last, ok := sr.points.LastTimestamp()
	for b := pts; len(b) > 0; b = b[protocol.BatchPointSize:] {
		ts, _ := protocol.BatchPoint(b)
		if ok && ts <= last {
			return engine.ErrOutOfOrder
		}
		last, ok = ts, true
	}
	for b := pts; len(b) > 0; b = b[protocol.BatchPointSize:] {
		sr.points.Append(protocol.BatchPoint(b))
	}
	return nil
}

// list answers LIST_SERIES (E1) from the labels in ascending byte order.
func (s *Server) list(dst []byte, p []byte) []byte {
	start, limit := protocol.ListSeriesRequest(p)
	labels := make([]protocol.Label, 0, len(s.series))
	for l := range s.series {
		if bytesCompare(l, start) >= 0 {
			labels = append(labels, l)
		}
	}
	slices.SortFunc(labels, bytesCompare)
	n := min(len(labels), protocol.ListLimit(limit))
	dst = protocol.AppendListHeader(dst, n < len(labels), n)
	for _, l := range labels[:n] {
		dst = append(dst, l[:]...)
	}
	return dst
}

func bytesCompare(a, b protocol.Label) int { return slices.Compare(a[:], b[:]) }

// aggregations maps E4's aggregation bytes to internal/query's (Valid has checked the byte).
var aggregations = [...]query.Aggregation{
	protocol.AggRaw: query.Raw, protocol.AggAvg: query.Avg, protocol.AggSum: query.Sum,
	protocol.AggMin: query.Min, protocol.AggMax: query.Max, protocol.AggCount: query.Count,
	protocol.AggFirst: query.First, protocol.AggLast: query.Last,
}

// queryRange answers QUERY_RANGE (E4) with the server's own range code.
func queryRange(dst []byte, sr *series, p []byte) []byte {
	q := protocol.QueryRangeRequest(p)
	pg := query.Page{Range: query.Range{Start: q.Start, End: q.End, Limit: protocol.RangeLimit(q.Limit),
		Agg: aggregations[q.Aggregation], Bucket: q.Bucket}}
	pg.Run(sr.points.Range(q.Start, q.End))
	dst = protocol.AppendRangeHeader(dst, pg.More, len(pg.Points))
	for _, pt := range pg.Points {
		dst = protocol.AppendRangePoint(dst, pt.TS, pt.Value)
	}
	return dst
}

// Busy is a Reply answering ERR busy.
func Busy() *Reply { return &Reply{Frame: protocol.AppendErr(nil, status.Of(engine.ErrBusy))} }
