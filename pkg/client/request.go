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
	key  [32]byte // the label, or the certificate for CONNECT
	ts   int64
	bits uint64
}

// maxFrame is the largest request frame the client sends (APPEND).
const maxFrame = protocol.HeaderSize + protocol.AppendPayloadSize

// appendFrame appends the encoded frame to dst using the protocol package's encoders.
func (r *request) appendFrame(dst []byte) []byte {
	switch r.op {
	case protocol.OpConnect, protocol.OpCreateSeries, protocol.OpDropSeries:
		return protocol.AppendFrame(dst, r.op, r.key[:])
	case protocol.OpAppend:
		dst = protocol.AppendHeader(dst, r.op, protocol.AppendPayloadSize)
		return protocol.EncodeAppend(dst, r.key, r.ts, math.Float64frombits(r.bits))
	case protocol.OpQueryPoint:
		dst = protocol.AppendHeader(dst, r.op, protocol.QueryPayloadSize)
		return protocol.EncodeQuery(dst, r.key, r.ts)
	}
	return protocol.AppendHeader(dst, r.op, 0) // PING, DISCONNECT
}

// result is the decoded answer to one request.
type result struct {
	status protocol.Status // non-zero for an ERR answer
	found  bool
	bits   uint64
	err    error // the connection's or the context's error; the answer is missing
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
	case h.Opcode == protocol.OpOK && req == protocol.OpQueryPoint:
		found, bits, err := protocol.DecodeQueryAnswer(p)
		if err != nil {
			return result{err: ErrUnexpectedAnswer}
		}
		return result{found: found, bits: bits}
	case h.Opcode == protocol.OpOK && req != protocol.OpPing:
		return result{}
	}
	return result{err: ErrUnexpectedAnswer}
}

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
	c.state.Store(callWaiting)
	callPool.Put(c)
}
