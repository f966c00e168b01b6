package actor

import (
	"sync"

	"github.com/taudb/tau/internal/storage"
)

// Kind is what a message asks of a series actor.
type Kind uint8

// Message kinds.
const (
	KindAppend Kind = iota + 1
	KindQuery
	KindDrop
	KindSnapshot
	KindInfo    // the series' point count and first and last timestamps, into Result.Info
	KindRange   // a range read: Result.Page holds it and receives its answer
	KindBatch   // an atomic batch of appends: Message.Points
	KindInstall // a committed checkpoint's spans: Message.Snap (storage.Series.Install)
	// KindLookback reads the point at TS and up to Result.Back points before it into
	// Result.Points (a lens' source, E5): Found tells whether a point sits at TS.
	KindLookback
)

// Message is one request for a series.
type Message struct {
	Kind   Kind
	TS     int64
	Value  uint64
	Result *Result
	Snap   *storage.SeriesSnapshot // KindSnapshot: filled by the actor; KindInstall: read by it
	// Points are KindBatch's points, owned by the caller, who must keep them unchanged until
	// the Result completes: the actor reads them in place (logs and applies them) and keeps no
	// reference after.
	Points []storage.Point
}

// mailbox is a bounded FIFO. The worker takes everything queued at once (one lock per batch,
// not per message). Capacity bounds the queue; the batch being processed is out of it, so a
// connection whose window is no larger than the capacity never finds its own requests filling
// the mailbox (R1), and memory stays bounded by twice the capacity.
type mailbox struct {
	mu        sync.Mutex
	queue     []Message
	spare     []Message
	capacity  int
	scheduled bool // the actor is on the run queue or running
}

// push queues m unless the mailbox is full (force skips the bound, for the server's own
// bookkeeping messages). schedule reports whether the caller must put the actor on the run
// queue; depth is the backlog m found.
func (b *mailbox) push(m Message, force bool) (ok, schedule bool, depth int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	depth = len(b.queue)
	if depth >= b.capacity && !force {
		return false, false, depth
	}
	b.queue = append(b.queue, m)
	schedule = !b.scheduled
	b.scheduled = true
	return true, schedule, depth
}

// claim makes the caller the actor's runner when the actor is idle (nothing queued, not on the
// run queue, not running): it is then marked scheduled exactly as push marks it for a worker,
// so no one else runs it until release.
func (b *mailbox) claim() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.scheduled || len(b.queue) > 0 {
		return false
	}
	b.scheduled = true
	return true
}

// release ends a claimed turn. more reports mail that arrived meanwhile: the actor stays
// scheduled and the caller must put it on the run queue.
func (b *mailbox) release() (more bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.queue) > 0 {
		return true
	}
	b.scheduled = false
	return false
}

// take hands the worker every queued message. The batch stays valid until finish.
func (b *mailbox) take() []Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	batch := b.queue
	b.queue = b.spare[:0]
	b.spare = nil
	return batch
}

// finish accounts for a processed batch and reports whether more mail arrived meanwhile (the
// actor stays scheduled) or the actor goes idle.
func (b *mailbox) finish(batch []Message) (more bool) {
	clear(batch) // drop Result pointers so finished slots are not kept alive
	b.mu.Lock()
	defer b.mu.Unlock()
	if cap(batch) <= maxSpare {
		b.spare = batch[:0]
	}
	if len(b.queue) > 0 {
		return true
	}
	b.scheduled = false
	return false
}

// maxSpare bounds the buffer an idle actor keeps: a burst may grow a mailbox to its capacity,
// but ten thousand quiet series must not each keep a full-size buffer.
const maxSpare = 128

// depth is the number of messages waiting.
func (b *mailbox) depth() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue)
}
