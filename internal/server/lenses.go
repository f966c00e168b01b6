package server

import (
	"github.com/taudb/tau/internal/engine"
	"github.com/taudb/tau/internal/series"
	"github.com/taudb/tau/pkg/protocol"
)

// The lens family (docs/protocol.md, E5). The reader has checked each request's length (R4);
// the payload's one field the contract can refuse, CREATE_LENS' transform name, is the
// engine's first check (ErrInvalidTransform: invalid_payload), before anything else is looked
// at, as R0 wants. Lens changes complete on this goroutine, once durable: a QUERY_LENS
// pipelined behind a CREATE_LENS sees the lens. A QUERY_LENS goes to its source series' actor
// like a QUERY_POINT and is answered in the same form. LIST_LENSES answers every label in one
// frame from a page, one page in flight per connection, as LIST_SERIES (reads.go).

// dispatchLens starts one lens request; true when the connection closes after it (as
// dispatchRead).
func (c *conn) dispatchLens(op protocol.Opcode, p []byte, r *slot) (closeAfter bool) {
	eng := c.srv.engine
	switch op {
	case protocol.OpCreateLens:
		l, source, transform := protocol.CreateLensRequest(p)
		eng.CreateLens(series.Label(l), series.Label(source), transform, r.res)
	case protocol.OpDropLens:
		eng.DropLens(series.Label(protocol.SeriesRequest(p)), r.res)
	case protocol.OpQueryLens:
		l, ts := protocol.QueryRequest(p)
		eng.QueryLens(series.Label(l), ts, r.res)
	case protocol.OpComposeLens:
		l, first, second := protocol.ComposeLensRequest(p)
		eng.ComposeLens(series.Label(l), series.Label(first), series.Label(second), r.res)
	case protocol.OpListLenses:
		if !c.takePage(r, lensPageBytes(c.srv.cfg)) {
			return true
		}
		eng.ListLenses(&r.page.list, r.res)
	}
	return false
}

// writeLensList writes a LIST_LENSES answer from its page: the labels, with no count.
func (c *conn) writeLensList(p *engine.ListPage) {
	c.out = protocol.AppendLensListHeader(c.out[:0], len(p.Labels))
	c.writeOut()
	c.writeLabels(p.Labels)
}
