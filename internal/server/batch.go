package server

import (
	"sync"
	"time"

	"github.com/taudb/tau/internal/engine"
	"github.com/taudb/tau/internal/replica"
	"github.com/taudb/tau/internal/series"
	"github.com/taudb/tau/pkg/protocol"
)

// APPEND_BATCH (docs/protocol.md, E3) is the first request whose payload the server must hold
// whole: up to TAU_MAX_PAYLOAD_BYTES, 1 MiB by default. Every other payload is a few dozen
// bytes in the connection's fixed buffer, or streamed and discarded. So that a thousand
// connections each sending a maximum-size batch cannot take a thousand times that, the points
// of all batches being read or run are held within one server-wide payload budget:
//
//   - The reader checks the frame's length (R4: 36 + 16n, n ≥ 1) and reads its 36-byte head
//     into the connection's fixed buffer, checking n against the length. Then, before reading
//     a byte of the points, it reserves 16n bytes of the budget, waiting (first come, first
//     served) while the budget is spent. A waiting connection reads nothing, so TCP pushes back
//     on its client. A trickling client holds its reservation while its bytes arrive.
//   - The points are decoded straight from the socket's buffer into a slice from a pool
//     (16 bytes a point, as on the wire), which is handed to the engine (engine.AppendBatch:
//     the series' actor reads it in place). The writer gives the slice back and releases the
//     reservation as soon as the engine has run the batch (Result.Wait), before its fsync: by
//     then the log has encoded the points and the actor has applied them. A read that fails
//     part way releases at once.
//   - The budget is max(64 MiB, 2 × TAU_MAX_PAYLOAD_BYTES), so the largest batch always fits.
//     Metrics: tau_server_payload_budget_bytes, tau_server_payload_held_bytes and
//     tau_server_payload_budget_waits_total.
//   - Time spent waiting for the budget is not charged to the idle timeout: once the
//     reservation is granted, the read deadline is armed afresh for the points. A client that
//     then trickles them in slower than the idle timeout is closed as idle (R10), and its
//     reservation released.
//   - Shutdown stops a waiting reader at once.

// defaultPayloadBudget is the budget's floor; it is max(this, 2 × TAU_MAX_PAYLOAD_BYTES).
const defaultPayloadBudget = 64 << 20

var payloadMetrics = budgetMetricsFor("payload", "APPEND_BATCH points", "APPEND_BATCH payloads")

// batchPool holds point slices for APPEND_BATCH; the GC reclaims them when batches stop.
var batchPool = sync.Pool{New: func() any { return new([]engine.BatchPoint) }}

// batchChunk is how many points are decoded per read from the socket's buffer.
const batchChunk = 256

// readBatch reads an APPEND_BATCH after the R0 checks up to the opcode: the length (R4), the
// head, the budget, the points; then hands the batch to the engine. False ends the reader.
func (c *conn) readBatch(h protocol.Header, r *slot) bool {
	n, ok := protocol.BatchCount(h.Length)
	if !ok || n > engine.MaxBatchPoints {
		return c.refusePayload(h, r, 0)
	}
	head := c.batchBuf[:protocol.BatchHeaderSize]
	if err := c.r.ReadFull(head); err != nil {
		return c.incomplete(r, err)
	}
	l, count := protocol.BatchHeader(head)
	if int64(count) != int64(n) {
		return c.refusePayload(h, r, protocol.BatchHeaderSize)
	}
	need := int64(n) * protocol.BatchPointSize
	waited, ok := c.srv.budget.acquire(need, c.srv.stop, c.sendWritten)
	if !ok {
		c.free <- r
		return false
	}
	if waited { // the wait is not the client's idleness (R10)
		_ = c.nc.SetReadDeadline(time.Now().Add(c.srv.cfg.ConnectionTimeout))
	}
	buf := batchPool.Get().(*[]engine.BatchPoint)
	if cap(*buf) < n {
		*buf = make([]engine.BatchPoint, 0, n)
	}
	pts := (*buf)[:0]
	chunk := c.batchBuf[:]
	for len(pts) < n {
		k := min(n-len(pts), batchChunk)
		b := chunk[:k*protocol.BatchPointSize]
		if err := c.r.ReadFull(b); err != nil {
			*buf = pts[:0]
			batchPool.Put(buf)
			c.srv.budget.release(need)
			return c.incomplete(r, err)
		}
		for i := 0; i < k; i++ {
			ts, bits := protocol.BatchPoint(b[i*protocol.BatchPointSize:])
			pts = append(pts, engine.BatchPoint{TS: ts, Value: bits})
		}
	}
	*buf = pts
	r.batch, r.held = buf, need
	if c.srv.replica != nil {
		c.submitWrite(&replica.Write{Op: replica.OpBatch, Label: series.Label(l), Points: pts}, r)
	} else {
		c.srv.engine.AppendBatch(series.Label(l), pts, r.res)
	}
	c.queue(r, false)
	return true
}

// refusePayload answers invalid_payload, discarding the payload's rest after read bytes (R4).
func (c *conn) refusePayload(h protocol.Header, r *slot, read int) bool {
	if err := c.r.DiscardN(int(h.Length) - read); err != nil {
		return c.incomplete(r, err)
	}
	c.badInput(r, protocol.StatusInvalidPayload, "")
	return true
}

// releaseBatch gives r's points back once the engine has run the batch: the actor reads them
// in place until then (engine.AppendBatch).
func (c *conn) releaseBatch(r *slot) {
	if r.batch == nil {
		return
	}
	*r.batch = (*r.batch)[:0]
	batchPool.Put(r.batch)
	c.srv.budget.release(r.held)
	r.batch, r.held = nil, 0
}
