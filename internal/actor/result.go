package actor

import (
	"errors"
	"fmt"

	"github.com/taudb/tau/internal/query"
	"github.com/taudb/tau/internal/storage"
)

// Errors an actor answers with. The engine re-exports them; front ends map them to their own
// codes (the TAU server in one table).
var (
	// ErrSeriesNotFound: the series was dropped before the request reached it.
	ErrSeriesNotFound = errors.New("series not found")
	// ErrOutOfOrder: the timestamp is not after the series' last point.
	ErrOutOfOrder = errors.New("timestamp not after the series' last point")
	// ErrInvalidBatch: a batch of no points, or of more than storage.MaxBatchPoints.
	ErrInvalidBatch = errors.New("batch of no points or too many")
	// ErrStorageFailed: the log refused the write or could not make it durable; it wraps the
	// storage error.
	ErrStorageFailed = errors.New("storage failed")
)

// storageFailed wraps a storage error so that errors.Is finds both ErrStorageFailed and the
// cause. It allocates, but only on a path where the disk has already failed.
func storageFailed(err error) error { return fmt.Errorf("%w: %w", ErrStorageFailed, err) }

// StorageFailed is storageFailed for the other engine packages.
func StorageFailed(err error) error { return storageFailed(err) }

// Result is where an operation's outcome lands: whoever carries the operation out fills it and
// signals it once; the caller waits for it, then for its durability. Results are reused, so
// they allocate nothing in steady state.
type Result struct {
	Err    error          // nil, or one of the errors above (or the caller's own)
	Found  bool           // point query: a point exists at the timestamp
	Value  uint64         // point query: the value's IEEE-754 bits
	Info   Info           // series info
	Page   *query.Page    // range read: the read, and where its answer lands (the caller's)
	Ticket storage.Ticket // resolves once the effect is durable
	// Back is how many points before the queried one a lookback reads, and Points receives
	// them with the queried one last, oldest first. Points' array is kept across requests, so
	// a result that serves lookbacks allocates only when a longer one first comes.
	Back   int
	Points []storage.Point
	done   chan struct{}
}

// NewResult makes a reusable result.
func NewResult() *Result { return &Result{done: make(chan struct{}, 1)} }

// Reset prepares the result for a new operation.
func (r *Result) Reset() {
	r.Err, r.Found, r.Value, r.Info, r.Page, r.Ticket = nil, false, 0, Info{}, nil, storage.Ticket{}
	r.Back, r.Points = 0, r.Points[:0]
}

// Info is what a series holds now: its points, and the timestamps of its first and last
// (both 0 when it has none).
type Info struct {
	Points      uint64
	First, Last int64
}

// Complete publishes the outcome to the waiting caller.
func (r *Result) Complete() { r.done <- struct{}{} }

// Fail completes the result with err.
func (r *Result) Fail(err error) {
	r.Err = err
	r.Complete()
}

// Ready reports whether the result is completed, without waiting: Wait would return at once.
func (r *Result) Ready() bool { return len(r.done) > 0 }

// Wait blocks until the result is completed.
func (r *Result) Wait() { <-r.done }

// Durable waits for the effect the answer rests on to reach the log's durability and returns
// the outcome: Err, or ErrStorageFailed when the write it waited for failed. That holds for
// a refusal or a read too: one that rested on a write the log then refused is no answer the
// store can stand by, so it becomes ErrStorageFailed as well.
func (r *Result) Durable() error {
	if err := r.Ticket.Wait(); err != nil && !errors.Is(r.Err, ErrStorageFailed) {
		r.Err = storageFailed(err)
	}
	return r.Err
}
