package client

import (
	"math"
	"sync"
	"sync/atomic"

	"github.com/taudb/tau/pkg/protocol"
)

// request is everything needed to encode one frame; kept by value so building one allocates
// nothing.
type request struct {
	op   protocol.Opcode
	key  [32]byte // the label, or the certificate for CONNECT, or LIST_SERIES's start
	ts   int64    // APPEND, QUERY_POINT; QUERY_RANGE's start
	bits uint64
	// CREATE_LENS' source and zero-padded transform name; COMPOSE_LENS' first and second lens.
	key2, key3 [32]byte
	// QUERY_RANGE's further fields; limit is LIST_SERIES's too.
	end    int64
	bucket int64
	limit  uint32
	agg    protocol.Aggregation
	// APPEND_BATCH's points, the caller's own slice (AppendBatch waits for the answer, so it is
	// read only while the caller is blocked); asBits sends their Bits rather than their Value.
	points []Point
	asBits bool
}

// maxFrame is the largest request frame the client encodes in one piece (CREATE_LENS and
// COMPOSE_LENS); APPEND_BATCH is written as a head and then its points (writeBatch).
const maxFrame = protocol.HeaderSize + protocol.CreateLensPayloadSize

// scratchSize is the connection's encoding buffer: any frame but APPEND_BATCH, or a batch's
// head and points about 30 at a time.
const scratchSize = 512

var _ [scratchSize - maxFrame]byte // scratchSize ≥ maxFrame

// appendFrame appends the encoded frame to dst using the protocol package's encoders.
func (r *request) appendFrame(dst []byte) []byte {
	switch r.op {
	case protocol.OpConnect, protocol.OpCreateSeries, protocol.OpDropSeries, protocol.OpSeriesInfo:
		return protocol.AppendFrame(dst, r.op, r.key[:])
	case protocol.OpListSeries:
		dst = protocol.AppendHeader(dst, r.op, protocol.ListSeriesPayloadSize)
		return protocol.EncodeListSeries(dst, r.key, r.limit)
	case protocol.OpQueryRange:
		dst = protocol.AppendHeader(dst, r.op, protocol.QueryRangePayloadSize)
		q := protocol.QueryRange{Label: r.key, Start: r.ts, End: r.end, Limit: r.limit, Aggregation: r.agg, Bucket: r.bucket}
		return protocol.EncodeQueryRange(dst, &q)
	case protocol.OpAppend:
		dst = protocol.AppendHeader(dst, r.op, protocol.AppendPayloadSize)
		return protocol.EncodeAppend(dst, r.key, r.ts, math.Float64frombits(r.bits))
	case protocol.OpQueryPoint, protocol.OpQueryLens:
		dst = protocol.AppendHeader(dst, r.op, protocol.QueryPayloadSize)
		return protocol.EncodeQuery(dst, r.key, r.ts)
	case protocol.OpDropLens:
		return protocol.AppendFrame(dst, r.op, r.key[:])
	case protocol.OpCreateLens, protocol.OpComposeLens: // the name is already padded in key3
		dst = protocol.AppendHeader(dst, r.op, protocol.ComposeLensPayloadSize)
		return protocol.EncodeComposeLens(dst, r.key, r.key2, r.key3)
	}
	return protocol.AppendHeader(dst, r.op, 0) // PING, DISCONNECT, LIST_LENSES
}

// result is the decoded answer to one request.
type result struct {
	status protocol.Status // non-zero for an ERR answer
	found  bool
	bits   uint64 // QUERY_POINT's value; SERIES_INFO's number of points
	// SERIES_INFO's first and last timestamps.
	first, last int64
	// page is the OK payload of LIST_SERIES or QUERY_RANGE, a copy the caller owns and decodes.
	page []byte
	err  error // the connection's or the context's error; the answer is missing
}

// error turns the result into the error a caller sees.
func (r *result) error(op protocol.Opcode) error {
	switch {
	case r.err != nil:
		return r.err
	case r.status != 0:
		return &StatusError{Op: op, Status: r.status}
	}
	return nil
}

// decodeAnswer checks that an answer fits the request it is matched with.
func decodeAnswer(req protocol.Opcode, h protocol.Header, p []byte) result {
	switch {
	case h.Opcode == protocol.OpErr && len(p) == 1:
		return result{status: protocol.Status(p[0])}
	case h.Opcode == protocol.OpPong && req == protocol.OpPing:
		return result{}
	case h.Opcode == protocol.OpOK && (req == protocol.OpQueryPoint || req == protocol.OpQueryLens):
		found, bits, err := protocol.DecodeQueryAnswer(p)
		if err != nil {
			return result{err: ErrUnexpectedAnswer}
		}
		return result{found: found, bits: bits}
	case h.Opcode == protocol.OpOK && req == protocol.OpSeriesInfo:
		points, first, last, err := protocol.DecodeSeriesInfoAnswer(p)
		if err != nil {
			return result{err: ErrUnexpectedAnswer}
		}
		return result{bits: points, first: first, last: last}
	case h.Opcode == protocol.OpOK && isPaged(req):
		return result{page: p} // the reader read it into a buffer of its own
	case h.Opcode == protocol.OpOK && req != protocol.OpPing:
		return result{}
	}
	return result{err: ErrUnexpectedAnswer}
}

// isPaged reports whether op's answer is a page (E1, E4) or a listing (E5's LIST_LENSES),
// longer than any v1 answer.
func isPaged(op protocol.Opcode) bool {
	return op == protocol.OpListSeries || op == protocol.OpQueryRange || op == protocol.OpListLenses
}

// maxAnswer is the longest answer payload the client reads for a request of op: a full page
// for LIST_SERIES and QUERY_RANGE, else smallAnswer. A longer answer breaks the connection.
func maxAnswer(op protocol.Opcode) uint32 {
	switch op {
	case protocol.OpListSeries:
		return protocol.PageHeaderSize + protocol.MaxListLimit*protocol.LabelSize
	case protocol.OpQueryRange:
		return protocol.PageHeaderSize + protocol.MaxRangeLimit*protocol.RangePointSize
	case protocol.OpListLenses:
		return maxLensList
	}
	return smallAnswer
}

// smallAnswer bounds every answer that is not a page (SERIES_INFO's 24 bytes are the longest).
const smallAnswer = 64

// Call states: the waiter and the reader race to move a call out of callWaiting; whoever loses
// knows the other side owns it (abandoned calls are recycled by the reader).
const (
	callWaiting uint32 = iota
	callAnswered
	callAbandoned
)

// call is one request in flight. Calls are recycled through callPool, so the steady state
// allocates none.
type call struct {
	req   request
	res   result
	state atomic.Uint32
	done  chan struct{} // capacity 1: signalled once, when answered and not abandoned
}

var callPool = sync.Pool{New: func() any { return &call{done: make(chan struct{}, 1)} }}

func getCall(r *request) *call {
	c := callPool.Get().(*call)
	c.req = *r
	return c
}

func putCall(c *call) {
	c.res = result{}
	c.req.points = nil // do not keep the caller's points alive
	c.state.Store(callWaiting)
	callPool.Put(c)
}
