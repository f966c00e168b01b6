// Package actor runs series: each series is an actor with a bounded mailbox, and a fixed pool
// of workers runs the actors that have mail. A series' data is touched only by its actor, so
// operations on different series never wait on each other.
package actor

import (
	"time"

	"github.com/taudb/tau/pkg/protocol"
	"github.com/taudb/tau/pkg/storage"
)

// Reply is a response slot: whoever handles a request fills it and signals it once; the
// connection writes the answers in request order. Slots are reused, so they allocate nothing
// in steady state.
type Reply struct {
	Op     protocol.Opcode
	Status protocol.Status // 0 means OK
	Found  bool            // QUERY_POINT
	Value  uint64          // QUERY_POINT: the value's IEEE-754 bits
	Close  bool            // close the connection after this answer
	Ticket storage.Ticket  // the answer waits until this is durable (R11)
	Start  time.Time       // when the request was read, for the latency histogram
	done   chan struct{}
}

// NewReply makes a reusable slot.
func NewReply() *Reply { return &Reply{done: make(chan struct{}, 1)} }

// Reset prepares the slot for a new request.
func (r *Reply) Reset(op protocol.Opcode, start time.Time) {
	r.Op, r.Status, r.Found, r.Value, r.Close = op, 0, false, 0, false
	r.Ticket, r.Start = storage.Ticket{}, start
}

// Complete publishes the answer to the waiting connection.
func (r *Reply) Complete() { r.done <- struct{}{} }

// Fail completes the slot with an error status.
func (r *Reply) Fail(s protocol.Status) {
	r.Status = s
	r.Complete()
}

// Wait blocks until the slot is completed.
func (r *Reply) Wait() { <-r.done }
