package server

import (
	"context"
	"net/http"
	"sync"

	"github.com/oklog/run"

	"github.com/taudb/tau/internal/engine"
	"github.com/taudb/tau/internal/replica"
	"github.com/taudb/tau/internal/series"
	"github.com/taudb/tau/internal/tlsconfig"
	"github.com/taudb/tau/pkg/protocol"
)

// Cluster is cluster mode as the front end sees it (internal/member): the engine replicated
// through Raft, the node's readiness, its actors and its membership API.
type Cluster interface {
	// Bind replicates e, an engine that keeps nothing itself (the Raft log is the log); with
	// tls (nil: none) the peer port speaks TLS with the same pair.
	Bind(e *engine.Engine, tls *tlsconfig.Source) (*replica.Replica, error)
	// Ready is the cluster's part of /readyz.
	Ready() bool
	// AddHandOff adds the actor whose interrupt hands leadership over (before the drain);
	// AddTo the node, the transport and the rest (stopped after the drain, before the
	// engine).
	AddHandOff(g *run.Group)
	AddTo(g *run.Group, engineRecovered <-chan struct{})
	// Handler serves the membership API (`tau cluster`) under /cluster/.
	Handler() http.Handler
}

// replicated is a connection's state in cluster mode: its writes in flight, and whether a
// ReadIndex round covers the requests read since the last read from the socket.
type replicated struct {
	writes sync.WaitGroup // the connection's writes not yet answered
	reads  uint64         // socket reads so far (countingReader)
	fence  uint64         // the socket reads counted when the last round began; 0: none yet
}

// countingReader counts the reads that reach the socket, so a connection knows which of its
// requests arrived before a ReadIndex round began.
type countingReader struct {
	c *conn
}

func (r countingReader) Read(p []byte) (int, error) {
	r.c.rep.reads++
	return r.c.nc.Read(p)
}

// submitWrite sends a write through the log (C1, C3, C4): the reader submits it in request
// order, and the answer comes when it is applied here, or busy / internal_error (C5).
func (c *conn) submitWrite(w *replica.Write, r *slot) {
	r.res.Prepare()
	c.rep.writes.Add(1)
	res := r.res
	c.srv.replica.Submit(w, c.srv.cfg.RequestTimeout, func(err error) {
		c.rep.writes.Done()
		res.Finish(err)
	})
}

// linearize makes the read r about to run locally linearizable (C2): the connection's own
// writes before it are applied here, and a ReadIndex round that began after r arrived has
// been applied. Requests that arrived in the same socket read share a round. False when no
// round completed in time: r is answered busy, nothing read.
func (c *conn) linearize(r *slot) bool {
	c.rep.writes.Wait()
	if c.rep.fence != 0 && c.rep.fence == c.rep.reads {
		return true
	}
	fence := c.rep.reads
	ctx, cancel := context.WithTimeout(context.Background(), c.srv.cfg.RequestTimeout)
	err := c.srv.replica.Read(ctx)
	cancel()
	if err != nil { // busy: counted as every busy answer is (settle)
		r.res.Prepare()
		r.res.Finish(err)
		return false
	}
	c.rep.fence = fence
	return true
}

// dispatchReplicated starts op in cluster mode: a write goes through the log; a read is
// linearized, then read locally as on one node. handled is false for what the single-node
// dispatch serves as it is (CONNECT, PING, …).
func (c *conn) dispatchReplicated(op protocol.Opcode, p []byte, r *slot) (handled, closeAfter bool) {
	var w replica.Write
	switch op {
	case protocol.OpCreateSeries:
		w = replica.Write{Op: replica.OpCreate, Label: series.Label(protocol.SeriesRequest(p))}
	case protocol.OpDropSeries:
		w = replica.Write{Op: replica.OpDrop, Label: series.Label(protocol.SeriesRequest(p))}
	case protocol.OpAppend:
		l, ts, bits := protocol.AppendRequest(p)
		w = replica.Write{Op: replica.OpAppend, Label: series.Label(l), TS: ts, Bits: bits}
	case protocol.OpCreateLens:
		l, source, transform := protocol.CreateLensRequest(p)
		w = replica.Write{Op: replica.OpCreateLens, Label: series.Label(l), Other: series.Label(source), Transform: transform}
	case protocol.OpDropLens:
		w = replica.Write{Op: replica.OpDropLens, Label: series.Label(protocol.SeriesRequest(p))}
	case protocol.OpComposeLens:
		l, first, second := protocol.ComposeLensRequest(p)
		w = replica.Write{Op: replica.OpComposeLens, Label: series.Label(l), Other: series.Label(first), Second: series.Label(second)}
	case protocol.OpQueryPoint, protocol.OpSeriesInfo, protocol.OpQueryRange, protocol.OpListSeries,
		protocol.OpQueryLens, protocol.OpListLenses:
		return !c.linearize(r), false
	default:
		return false, false
	}
	c.submitWrite(&w, r)
	return true, false
}
