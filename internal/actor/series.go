// Package actor runs series: each series is an actor with a bounded mailbox, and a fixed pool
// of workers runs the actors that have mail. A series' data is touched only by its actor, so
// operations on different series never wait on each other.
package actor

import (
	"github.com/taudb/tau/internal/series"
	"github.com/taudb/tau/internal/storage"
)

// Series is the actor of one series. Everything below the mailbox is touched only by the worker
// running the actor, one at a time.
type Series struct {
	label series.Label
	box   mailbox
	pool  *Pool

	data    *storage.Series
	lastLSN uint64
	dropped bool
	rec     storage.Record // reused for every log append: no allocation per request
	// last is the ticket of the newest record logged for the series (its create, an append,
	// its drop). Every answer that rests on the series' state, a read or a refusal, waits for
	// it: no answer may show an effect that a crash can still take back (R11).
	last storage.Ticket
	// created is the create's ticket, set before the series is published and never changed:
	// what a series_already_exists waits for.
	created storage.Ticket
	// pending are the series' writes not yet known durable, oldest first (from head on): if
	// the log refuses one, the series takes back its points and those of every later write
	// (the log refuses every later one too), so a refused write is never read.
	pending []pendingWrite
	head    int
	born    bool // the create is known durable (or the series was recovered)
}

// pendingWrite is a logged write and the series as it was before it.
type pendingWrite struct {
	t       storage.Ticket
	points  int
	lastLSN uint64
}

// Created is the ticket of the series' create record (resolved for a recovered series).
func (s *Series) Created() storage.Ticket { return s.created }

// LastTicket is the ticket of the newest record the series logged. Only its actor may call it,
// or its owner once the actor has finished (a drop).
func (s *Series) LastTicket() storage.Ticket { return s.last }

// Send queues m; false means the mailbox is full and nothing was done (the caller answers busy).
func (s *Series) Send(m Message) bool {
	ok, schedule, depth := s.box.push(m, false)
	s.pool.enqueued(depth)
	if schedule {
		s.pool.schedule(s)
	}
	return ok
}

// Do runs m at once on the caller's goroutine when the actor is idle, and otherwise queues it
// as Send does; false means the mailbox is full and nothing was done. The caller takes the
// actor exactly as a worker would (mailbox.claim), so one runner at a time and the series'
// order hold; it saves the hand-off to a worker and back, two goroutine wake-ups, on a series
// that is not busy. m must be quick to run: it runs on the caller's goroutine.
func (s *Series) Do(m Message) bool {
	if !s.box.claim() {
		return s.Send(m)
	}
	s.pool.enqueued(0)
	s.pool.runInline(s, &m)
	return true
}

// Snapshot copies the series into dst for a checkpoint, after everything queued before it. It
// returns false if the series was dropped. It skips the mailbox bound: a checkpoint must not
// fail because a series is busy. The pool must be running until it returns.
func (s *Series) Snapshot(dst *storage.SeriesSnapshot) bool {
	return s.control(KindSnapshot, dst)
}

// Install hands the series what a committed checkpoint says it holds on disk (see
// storage.Series.Install), after everything queued before it; false if it was dropped.
func (s *Series) Install(snap *storage.SeriesSnapshot) bool {
	return s.control(KindInstall, snap)
}

// control runs a checkpoint's message past the mailbox bound and waits for it.
func (s *Series) control(k Kind, snap *storage.SeriesSnapshot) bool {
	r := NewResult()
	if _, schedule, _ := s.box.push(Message{Kind: k, Result: r, Snap: snap}, true); schedule {
		s.pool.schedule(s)
	}
	r.Wait()
	return r.Err == nil
}

// Label is the series' label.
func (s *Series) Label() series.Label { return s.label }

// Depth is the mailbox backlog.
func (s *Series) Depth() int { return s.box.depth() }

// run processes one batch; it reports whether the actor has more mail.
func (s *Series) run() bool {
	batch := s.box.take()
	for i := range batch {
		s.handle(&batch[i])
	}
	return s.box.finish(batch)
}

func (s *Series) handle(m *Message) {
	r := m.Result
	s.settle()
	if s.dropped {
		r.Ticket = s.last // the drop's: not found rests on it
		r.Fail(ErrSeriesNotFound)
		return
	}
	switch m.Kind {
	case KindAppend:
		s.append(m.TS, m.Value, r)
	case KindBatch:
		s.appendBatch(m.Points, r)
	case KindQuery:
		r.Value, r.Found = s.data.Lookup(m.TS)
		s.completeRead(r)
	case KindInfo:
		r.Info = s.info()
		s.completeRead(r)
	case KindRange:
		if p := r.Page; p != nil {
			// reads the chunks in place: nothing else touches them meanwhile
			p.Run(s.data.Range(p.Range.Start, p.Range.End))
		}
		s.completeRead(r)
	case KindLookback:
		r.Points, r.Found = s.data.Lookback(m.TS, r.Back, r.Points)
		s.completeRead(r)
	case KindDrop:
		s.drop(r)
	case KindSnapshot:
		s.snapshot(m.Snap, r)
	case KindInstall:
		s.data.Install(m.Snap)
		r.Complete()
	}
}

// settle forgets the writes now durable and takes back those the log refused. A series whose
// create the log refused never existed: it leaves the catalog, and requests find no series.
func (s *Series) settle() {
	if !s.born && s.created.Ready() && !s.dropped {
		s.born = true
		if s.created.Wait() != nil {
			s.unborn()
			return
		}
	}
	for s.head < len(s.pending) && s.pending[s.head].t.Ready() {
		p := s.pending[s.head]
		s.head++
		if p.t.Wait() != nil {
			s.data.TakeBack(p.points)
			s.lastLSN = p.lastLSN
			s.last = storage.Ticket{} // what is left was durable before the refused write
			s.head = len(s.pending)
		}
	}
	if s.head == len(s.pending) {
		s.pending, s.head = s.pending[:0], 0
	}
}

// unborn takes out a series whose create the log refused: nothing of it is in the log, so
// its absence rests on nothing.
func (s *Series) unborn() {
	s.dropped = true
	s.last = storage.Ticket{}
	s.pending, s.head = s.pending[:0], 0
	s.data.Release()
	s.data = nil
	s.pool.dropped(s)
}

// logged records a write just logged with ticket t, before its points are applied.
func (s *Series) logged(t storage.Ticket) {
	s.pending = append(s.pending, pendingWrite{t: t, points: s.data.Len(), lastLSN: s.lastLSN})
	s.last = t
}

// completeRead answers a read, or fails it when a chunk file did not verify: a damaged file
// is never answered from as if the points were absent.
func (s *Series) completeRead(r *Result) {
	r.Ticket = s.last
	if err := s.data.TakeErr(); err != nil {
		s.pool.storageFailed(err)
		r.Fail(storageFailed(err))
		return
	}
	r.Complete()
}

func (s *Series) info() Info {
	points, first, last := s.data.Info()
	return Info{Points: points, First: first, Last: last}
}

// append checks order, logs the point, then applies it. The caller's answer waits for the
// log's ticket; later requests may already see the point, as they follow it in the series' order.
func (s *Series) append(ts int64, bits uint64, r *Result) {
	if last, ok := s.data.LastTimestamp(); ok && ts <= last {
		s.refuse(r, ErrOutOfOrder)
		return
	}
	s.rec = storage.Record{Type: storage.RecordAppend, Label: s.label, TS: ts, Value: bits}
	t, err := s.pool.log.Append(&s.rec)
	if err != nil {
		s.pool.storageFailed(err)
		r.Fail(storageFailed(err))
		return
	}
	s.logged(t)
	s.data.Append(ts, bits)
	s.lastLSN = s.rec.LSN
	r.Ticket = t
	r.Complete()
}

// refuse fails r with a refusal the series' state decided: it waits for that state to be
// durable, as a read does.
func (s *Series) refuse(r *Result, err error) {
	r.Ticket = s.last
	r.Fail(err)
}

// appendBatch checks the order of the whole batch first, logs it as one record, then applies
// every point (docs/protocol.md, E3): out of order anywhere means nothing is logged or stored.
// One record, one ticket: the answer waits for that one ticket.
func (s *Series) appendBatch(pts []storage.Point, r *Result) {
	if len(pts) == 0 || len(pts) > storage.MaxBatchPoints {
		r.Fail(ErrInvalidBatch)
		return
	}
	if last, ok := s.data.LastTimestamp(); ok && pts[0].TS <= last {
		s.refuse(r, ErrOutOfOrder)
		return
	}
	for i := 1; i < len(pts); i++ {
		if pts[i].TS <= pts[i-1].TS {
			r.Fail(ErrOutOfOrder)
			return
		}
	}
	s.rec = storage.Record{Type: storage.RecordBatch, Label: s.label, Points: pts}
	t, err := s.pool.log.Append(&s.rec)
	s.rec.Points = nil // the log has encoded them; the caller owns them
	if err != nil {
		s.pool.storageFailed(err)
		r.Fail(storageFailed(err))
		return
	}
	s.logged(t)
	for _, p := range pts {
		s.data.Append(p.TS, p.Value)
	}
	s.lastLSN = s.rec.LSN
	r.Ticket = t
	r.Complete()
}

// drop logs the drop after every request queued before it, so the log never holds a point of
// this series after its drop record.
func (s *Series) drop(r *Result) {
	s.rec = storage.Record{Type: storage.RecordDrop, Label: s.label}
	t, err := s.pool.log.Append(&s.rec)
	if err != nil {
		s.pool.storageFailed(err)
		r.Fail(storageFailed(err))
		return
	}
	s.dropped = true
	s.last = t
	s.data.Release()
	s.data = nil
	s.pool.dropped(s)
	r.Ticket = t
	r.Complete()
}

// snapshot copies the series for a checkpoint.
func (s *Series) snapshot(snap *storage.SeriesSnapshot, r *Result) {
	snap.Label = s.label
	snap.LastLSN = s.lastLSN
	s.data.Snapshot(snap)
	r.Complete()
}
