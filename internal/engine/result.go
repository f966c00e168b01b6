package engine

import "github.com/taudb/tau/internal/actor"

// Result receives the outcome of one request. A front end keeps a few and reuses them: a
// request fills one, Wait returns once the engine has run it, and Durable once its effect is as
// durable as the store promises. A Result serves one request at a time.
type Result struct{ r actor.Result }

// NewResult makes a reusable result.
func NewResult() *Result {
	res := &Result{}
	res.r = *actor.NewResult()
	return res
}

// Wait blocks until the engine has run the request.
func (res *Result) Wait() { res.r.Wait() }

// Ready reports, without waiting, whether the engine has run the request (it ran inline, on
// the caller's goroutine, or failed at once): Wait would return at once.
func (res *Result) Ready() bool { return res.r.Ready() }

// Pending reports, after Wait, whether Durable would still block on the disk: a front end
// flushes earlier answers before it waits.
func (res *Result) Pending() bool { return !res.r.Ticket.Ready() }

// Durable blocks, after Wait, until the effect is durable and returns the request's error: nil,
// or one of the package's errors.
func (res *Result) Durable() error { return res.r.Durable() }

// Found reports, after Wait, whether a point query found a point.
func (res *Result) Found() bool { return res.r.Found }

// Value is, after Wait, the found point's value as IEEE-754 bits, exactly as appended.
func (res *Result) Value() uint64 { return res.r.Value }

// Info is, after Wait, what SeriesInfo read.
func (res *Result) Info() SeriesInfo { return res.r.Info }

// reset prepares the result for the next request.
func (res *Result) reset() { res.r.Reset() }

// fail answers the request with err at once.
func (res *Result) fail(err error) { res.r.Fail(err) }
