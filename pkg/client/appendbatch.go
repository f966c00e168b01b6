package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/taudb/tau/pkg/protocol"
)

// APPEND_BATCH, extension E3 of docs/protocol.md: many points of one series in one request,
// stored atomically. A server without it (the original 1.3.0) answers bad_opcode, which
// matches ErrUnsupported.

// ErrBatchSize is returned, before anything is sent, for an AppendBatch of no points or of a
// payload over Options.MaxPayload. The client never splits a batch: a batch is atomic, and
// splitting it would give up that guarantee; split it yourself if you need to.
var ErrBatchSize = errors.New("tau: batch size out of range")

// AppendBatch adds points to series l in one APPEND_BATCH request (E3), atomically: their
// timestamps must be strictly increasing and the first after the series' last point, or the
// answer is ErrOutOfOrder and none is stored. It returns once the server has made them all
// durable. Each point's Value is sent (its Bits are ignored); see AppendBatchBits.
//
// points stay the caller's and are only read during the call. A batch answered busy is sent
// again, like any request (nothing was stored). ErrBatchSize for an empty batch or one over
// Options.MaxPayload (65,533 points by default); ErrUnsupported from a server without E3.
func (c *Conn) AppendBatch(ctx context.Context, l protocol.Label, points []Point) error {
	return c.appendBatch(ctx, l, points, false)
}

// AppendBatchBits is AppendBatch sending each point's Bits as its value's exact IEEE-754 bits
// (its Value is ignored), as AppendBits does: points read with Range go back unchanged.
func (c *Conn) AppendBatchBits(ctx context.Context, l protocol.Label, points []Point) error {
	return c.appendBatch(ctx, l, points, true)
}

func (c *Conn) appendBatch(ctx context.Context, l protocol.Label, points []Point, asBits bool) error {
	if err := c.opts.checkBatch(len(points)); err != nil {
		return err
	}
	return c.do(ctx, request{op: protocol.OpAppendBatch, key: l, points: points, asBits: asBits})
}

// checkBatch refuses a batch of n points that E3 or the payload limit forbids.
func (o *Options) checkBatch(n int) error {
	switch {
	case n == 0:
		return fmt.Errorf("%w: an APPEND_BATCH needs at least one point", ErrBatchSize)
	case o.MaxPayload > 0 && n > (o.MaxPayload-protocol.BatchHeaderSize)/protocol.BatchPointSize:
		return fmt.Errorf("%w: %d points make a payload of %d bytes, over the limit of %d (Options.MaxPayload)",
			ErrBatchSize, n, protocol.BatchPayloadSize(n), o.MaxPayload)
	case uint64(protocol.BatchPayloadSize(n)) > 1<<32-1:
		return fmt.Errorf("%w: %d points do not fit a frame", ErrBatchSize, n)
	}
	return nil
}

// AppendBatch adds an APPEND_BATCH of points (their Values) to the Batch: several of them in
// one Do are pipelined, in order, so consecutive batches of one series keep their order. The
// Batch reads points during Do; do not change them before it returns. Do sends nothing when
// one of them is refused with ErrBatchSize, and returns that error.
func (b *Batch) AppendBatch(l protocol.Label, points []Point) {
	b.add(request{op: protocol.OpAppendBatch, key: l, points: points})
}

// AppendBatchBits adds an APPEND_BATCH sending the points' Bits, as Conn.AppendBatchBits.
func (b *Batch) AppendBatchBits(l protocol.Label, points []Point) {
	b.add(request{op: protocol.OpAppendBatch, key: l, points: points, asBits: true})
}

// AppendBatch is Conn.AppendBatch on one of the pool's connections.
func (p *Pool) AppendBatch(ctx context.Context, l protocol.Label, points []Point) error {
	c, err := p.Get(ctx)
	if err != nil {
		return err
	}
	return c.AppendBatch(ctx, l, points)
}

// AppendBatchBits is Conn.AppendBatchBits on one of the pool's connections.
func (p *Pool) AppendBatchBits(ctx context.Context, l protocol.Label, points []Point) error {
	c, err := p.Get(ctx)
	if err != nil {
		return err
	}
	return c.AppendBatchBits(ctx, l, points)
}
