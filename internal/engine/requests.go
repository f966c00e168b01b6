package engine

import (
	"errors"

	"github.com/taudb/tau/internal/actor"
	"github.com/taudb/tau/internal/series"
	"github.com/taudb/tau/internal/storage"
)

// Each request below completes res exactly once: at once when it is refused before it reaches
// its series, or later from the series' actor. Requests on one series run in the order they
// were made; requests on different series never wait on each other.

// Create makes an empty series. ErrSeriesExists wins over ErrCatalogFull.
func (e *Engine) Create(l series.Label, res *Result) {
	res.reset()
	t, err := e.catalog.Create(l)
	if errors.Is(err, ErrCatalogFull) {
		e.catalogFull()
	}
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

// BatchPoint is one point of AppendBatch: a timestamp and its value's exact IEEE-754 bits.
type BatchPoint = storage.Point

// MaxBatchPoints is the most points one AppendBatch takes (ErrInvalidBatch beyond).
const MaxBatchPoints = storage.MaxBatchPoints

// AppendBatch adds points atomically (docs/protocol.md, E3): their timestamps must be strictly
// increasing and the first after the series' last point, else ErrOutOfOrder and nothing is
// stored. 1 to MaxBatchPoints points, else ErrInvalidBatch. The batch is one log record, so
// after a crash it is there whole or not at all; Durable tells when it is durable.
//
// Ownership: points stay the caller's, but the caller must not change or reuse them until Wait
// has returned; the series' actor reads them in place and keeps no reference afterwards.
func (e *Engine) AppendBatch(l series.Label, points []BatchPoint, res *Result) {
	e.send(l, actor.Message{Kind: actor.KindBatch, Points: points}, res)
}

// QueryPoint looks up the point at exactly ts: Found and Value after Wait.
func (e *Engine) QueryPoint(l series.Label, ts int64, res *Result) {
	e.send(l, actor.Message{Kind: actor.KindQuery, TS: ts}, res)
}

// dispatch runs m on its actor: inline on the caller's goroutine when the actor is idle (a
// request on a series nobody else is using needs no hand-off to a worker and back), else
// through the mailbox.
func (e *Engine) dispatch(s *actor.Series, m actor.Message) bool {
	if e.inline {
		return s.Do(m)
	}
	return s.Send(m)
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
		res.r.Ticket = e.catalog.NotFound(l) // a drop a moment ago decided it: wait for it
		res.fail(ErrSeriesNotFound)
		return
	}
	m.Result = &res.r
	if !e.dispatch(s, m) {
		res.fail(ErrBusy)
	}
}
