package engine

import (
	"github.com/taudb/tau/internal/actor"
	"github.com/taudb/tau/internal/series"
)

// Each request below completes res exactly once: at once when it is refused before it reaches
// its series, or later from the series' actor. Requests on one series run in the order they
// were made; requests on different series never wait on each other.

// Create makes an empty series. ErrSeriesExists wins over ErrCatalogFull.
func (e *Engine) Create(l series.Label, res *Result) {
	res.reset()
	t, err := e.catalog.Create(l)
	res.r.Ticket = t
	res.fail(err)
}

// Drop removes a series and all its points, after every request queued before it.
func (e *Engine) Drop(l series.Label, res *Result) {
	e.send(l, actor.Message{Kind: actor.KindDrop}, res)
}

// Append adds a point (timestamp in nanoseconds, value as IEEE-754 bits, kept exactly). The
// timestamp must be after the series' last point (ErrOutOfOrder). The point is visible to later
// requests on the series at once; Durable tells when it is durable.
func (e *Engine) Append(l series.Label, ts int64, bits uint64, res *Result) {
	e.send(l, actor.Message{Kind: actor.KindAppend, TS: ts, Value: bits}, res)
}

// QueryPoint looks up the point at exactly ts: Found and Value after Wait.
func (e *Engine) QueryPoint(l series.Label, ts int64, res *Result) {
	e.send(l, actor.Message{Kind: actor.KindQuery, TS: ts}, res)
}

// send routes a request to its series' actor: ErrSeriesNotFound for an unknown label, ErrBusy
// when its mailbox is full.
func (e *Engine) send(l series.Label, m actor.Message, res *Result) {
	res.reset()
	e.route(l, m, res)
}

// route is send for a result already reset (and given what the request needs).
func (e *Engine) route(l series.Label, m actor.Message, res *Result) {
	s, ok := e.catalog.Lookup(l)
	if !ok {
		res.fail(ErrSeriesNotFound)
		return
	}
	m.Result = &res.r
	if !s.Send(m) {
		res.fail(ErrBusy)
	}
}
