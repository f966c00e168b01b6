package client

import (
	"context"
	"math"

	"github.com/taudb/tau/pkg/protocol"
)

// Batch is a list of requests that Conn.Do sends together, in order, with as few writes as
// possible. Requests of one batch reach the server in the order they were added, so a batch of
// APPENDs to one series keeps its timestamps in order. A Batch is reusable (Reset) and is not
// safe for concurrent use.
type Batch struct {
	reqs    []request
	results []Result
	calls   []*call
}

// Result is the answer to one request of a Batch.
type Result struct {
	// Err is nil for OK/PONG, a *StatusError for an ERR answer, or the connection's or context's
	// error when no answer came.
	Err error
	// Found and Bits are QUERY_POINT's answer.
	Found bool
	Bits  uint64
}

// Value is the queried value.
func (r *Result) Value() float64 { return math.Float64frombits(r.Bits) }

// Ping adds a PING.
func (b *Batch) Ping() { b.add(request{op: protocol.OpPing}) }

// Create adds a CREATE_SERIES.
func (b *Batch) Create(l protocol.Label) { b.add(request{op: protocol.OpCreateSeries, key: l}) }

// Drop adds a DROP_SERIES.
func (b *Batch) Drop(l protocol.Label) { b.add(request{op: protocol.OpDropSeries, key: l}) }

// Append adds an APPEND.
func (b *Batch) Append(l protocol.Label, ts int64, v float64) {
	b.AppendBits(l, ts, math.Float64bits(v))
}

// AppendBits adds an APPEND of the value with these IEEE-754 bits.
func (b *Batch) AppendBits(l protocol.Label, ts int64, bits uint64) {
	b.add(request{op: protocol.OpAppend, key: l, ts: ts, bits: bits})
}

// Query adds a QUERY_POINT.
func (b *Batch) Query(l protocol.Label, ts int64) {
	b.add(request{op: protocol.OpQueryPoint, key: l, ts: ts})
}

func (b *Batch) add(r request) { b.reqs = append(b.reqs, r) }

// Len is the number of requests added.
func (b *Batch) Len() int { return len(b.reqs) }

// Results are the answers of the last Do, one per request in the order added.
func (b *Batch) Results() []Result { return b.results }

// Reset empties the batch, keeping its memory for reuse.
func (b *Batch) Reset() {
	clear(b.reqs) // drop the references to APPEND_BATCH points
	b.reqs = b.reqs[:0]
	b.results = b.results[:0]
}

// Do sends every request of b and waits for all the answers, which it puts in b.Results().
// Unlike single requests, busy answers are not retried: sending one again after the rest of the
// batch would change the order. Do returns the first error that is not a status (the
// connection's or ctx's); statuses are only in the results.
func (c *Conn) Do(ctx context.Context, b *Batch) error {
	b.results = resize(b.results, len(b.reqs))
	sent, err := 0, c.checkBatches(b)
	if err == nil {
		sent, err = c.sendBatch(ctx, b)
	}
	for i, cl := range b.calls[:sent] {
		res := c.wait(ctx, cl)
		if res.err != nil && err == nil {
			err = res.err
		}
		b.results[i] = Result{Err: res.error(b.reqs[i].op), Found: res.found, Bits: res.bits}
	}
	for i := sent; i < len(b.reqs); i++ {
		b.results[i] = Result{Err: err}
	}
	clear(b.calls)
	b.calls = b.calls[:0]
	return err
}

// checkBatches refuses b when one of its APPEND_BATCH requests has a size that may not be sent.
func (c *Conn) checkBatches(b *Batch) error {
	for i := range b.reqs {
		if b.reqs[i].op == protocol.OpAppendBatch {
			if err := c.opts.checkBatch(len(b.reqs[i].points)); err != nil {
				return err
			}
		}
	}
	return nil
}

// sendBatch writes b's requests, as many at a time as there are free places in flight. It
// returns how many were written; on error the rest were not.
func (c *Conn) sendBatch(ctx context.Context, b *Batch) (sent int, err error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	b.calls = b.calls[:0]
	for i := range b.reqs {
		if !c.tryAcquire() {
			// Write what we hold before waiting: its answers are what frees places.
			if err := c.writeGroup(b, &sent); err != nil {
				return sent, err
			}
			if err := c.acquire(ctx); err != nil {
				return sent, err
			}
		}
		b.calls = append(b.calls, getCall(&b.reqs[i]))
	}
	err = c.writeGroup(b, &sent)
	return sent, err
}

// writeGroup writes the calls of b not yet written.
func (c *Conn) writeGroup(b *Batch, sent *int) error {
	group := b.calls[*sent:]
	if len(group) == 0 {
		return nil
	}
	if err := c.write(group, false); err != nil {
		for _, cl := range group {
			c.release()
			putCall(cl)
		}
		b.calls = b.calls[:*sent]
		return err
	}
	*sent = len(b.calls)
	return nil
}

// resize returns r with length n, reusing its memory when it is large enough.
func resize(r []Result, n int) []Result {
	if cap(r) < n {
		return make([]Result, n)
	}
	return r[:n]
}
