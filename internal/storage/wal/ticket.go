package wal

import (
	"math"
	"sync"
	"sync/atomic"
)

// Ticket resolves when the records it covers are durable. The zero Ticket is resolved with no
// error.
//
// A ticket names one group commit (a batch) by its sequence number in its log's group. The
// group keeps only a watermark, not one object per batch: a caller may keep a ticket for as
// long as it likes, so per-batch objects could never be pooled, and the watermark costs no
// allocation at all.
type Ticket struct {
	g   *group
	seq uint64
}

// group is the commit state of one log: batches are numbered 1, 2, … in the order they are
// written, and every batch up to done has resolved. Once a batch fails, it and every later one
// fail: the log writes nothing after a failure. A refusal is narrower: the batches of one
// range fail (a full disk refused their write) and the log goes on with the next.
type group struct {
	done     atomic.Uint64 // every batch with seq <= done has resolved
	failSeq  atomic.Uint64 // first failed batch, 0 while healthy
	refusals atomic.Int64  // refused ranges: outcome looks them up only when there are some

	mu      sync.Mutex
	cond    sync.Cond
	failErr error // the error of batch failSeq; later batches get ErrLogFailed
	refused []refusal
}

// refusal is a range of batches whose write was refused, and why.
type refusal struct {
	lo, hi uint64
	err    error
}

func newGroup() *group {
	g := &group{}
	g.cond.L = &g.mu
	return g
}

// resolve publishes that batch seq (and so every earlier one) is durable.
func (g *group) resolve(seq uint64) {
	g.mu.Lock()
	g.done.Store(seq)
	g.mu.Unlock()
	g.cond.Broadcast()
}

// fail resolves batch seq with err and every later batch with ErrLogFailed. Only the first
// failure counts.
func (g *group) fail(seq uint64, err error) {
	g.mu.Lock()
	if g.failSeq.Load() == 0 {
		g.failErr = err
		g.failSeq.Store(seq)
	}
	g.done.Store(math.MaxUint64)
	g.mu.Unlock()
	g.cond.Broadcast()
}

// refuse resolves batches lo to hi with err, and the log goes on: later batches resolve as
// usual. Consecutive refusals (a disk that stays full) are kept as one range.
func (g *group) refuse(lo, hi uint64, err error) {
	g.mu.Lock()
	if k := len(g.refused); k > 0 && g.refused[k-1].hi+1 >= lo {
		g.refused[k-1].hi = max(g.refused[k-1].hi, hi)
	} else {
		g.refused = append(g.refused, refusal{lo: lo, hi: hi, err: err})
		g.refusals.Add(1)
	}
	g.done.Store(max(g.done.Load(), hi))
	g.mu.Unlock()
	g.cond.Broadcast()
}

// refusedErr is the error of a refused batch seq, nil for one not refused.
func (g *group) refusedErr(seq uint64) error {
	if g.refusals.Load() == 0 {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, r := range g.refused {
		if r.lo <= seq && seq <= r.hi {
			return r.err
		}
	}
	return nil
}

// outcome is batch seq's result once it has resolved.
func (g *group) outcome(seq uint64) error {
	f := g.failSeq.Load()
	switch {
	case f == 0 || seq < f:
		return g.refusedErr(seq)
	case seq == f:
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.failErr
	default:
		return ErrLogFailed
	}
}

func (g *group) wait(seq uint64) error {
	if g.done.Load() < seq {
		g.mu.Lock()
		for g.done.Load() < seq {
			g.cond.Wait()
		}
		g.mu.Unlock()
	}
	return g.outcome(seq)
}

// Wait blocks until the ticket resolves and returns the write's outcome.
func (t Ticket) Wait() error {
	if t.g == nil {
		return nil
	}
	return t.g.wait(t.seq)
}

// Ready reports whether Wait would return at once.
func (t Ticket) Ready() bool {
	return t.g == nil || t.g.done.Load() >= t.seq
}
