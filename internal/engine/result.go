package engine

import (
	"math"

	"github.com/taudb/tau/internal/actor"
	"github.com/taudb/tau/internal/lens"
)

// Result receives the outcome of one request. A front end keeps a few and reuses them: a
// request fills one, Wait returns once the engine has run it, and Durable once its effect is as
// durable as the store promises. A Result serves one request at a time.
type Result struct {
	r actor.Result
	// chain is a lens query's chain (QueryLens): Wait applies it, on the caller's goroutine
	// rather than the series' actor, to the points the actor read.
	chain lens.Chain
	vals  []float64 // the chain's values, reused from query to query
}

// NewResult makes a reusable result.
func NewResult() *Result {
	res := &Result{}
	res.r = *actor.NewResult()
	return res
}

// Wait blocks until the engine has run the request.
func (res *Result) Wait() {
	res.r.Wait()
	if res.chain != nil {
		res.evalLens()
	}
}

// evalLens turns a lens query's points into its answer: found only when the point at the
// timestamp and as many points before it as the chain's returns need are there (E5).
func (res *Result) evalLens() {
	chain := res.chain
	res.chain = nil // evaluated once, however often Wait is called
	pts := res.r.Points
	if res.r.Err != nil || !res.r.Found || len(pts) != chain.Lookback()+1 {
		res.r.Found = false
		return
	}
	res.vals = res.vals[:0]
	for _, p := range pts {
		res.vals = append(res.vals, math.Float64frombits(p.Value))
	}
	res.r.Value = math.Float64bits(chain.Eval(res.vals))
}

// Ready reports, without waiting, whether the engine has run the request (it ran inline, on
// the caller's goroutine, or failed at once): Wait would return at once.
func (res *Result) Ready() bool { return res.r.Ready() }

// Pending reports, after Wait, whether Durable would still block on the disk: a front end
// flushes earlier answers before it waits.
func (res *Result) Pending() bool { return !res.r.Ticket.Ready() }

// Durable blocks, after Wait, until the effect is durable and returns the request's error: nil,
// or one of the package's errors.
func (res *Result) Durable() error { return res.r.Durable() }

// Found reports, after Wait, whether a point query found a point (a lens query: whether the
// lens has a value at the timestamp).
func (res *Result) Found() bool { return res.r.Found }

// Value is, after Wait, the found point's value as IEEE-754 bits, exactly as appended.
func (res *Result) Value() uint64 { return res.r.Value }

// Info is, after Wait, what SeriesInfo read.
func (res *Result) Info() SeriesInfo { return res.r.Info }

// reset prepares the result for the next request.
func (res *Result) reset() {
	res.r.Reset()
	res.chain = nil
}

// fail answers the request with err at once.
func (res *Result) fail(err error) { res.r.Fail(err) }

// Prepare readies res for a request that another component carries out (cluster mode: the
// request goes through Raft), which then completes it with Finish.
func (res *Result) Prepare() { res.reset() }

// Finish completes a request prepared with Prepare: with err (nil for OK), durable as it is.
func (res *Result) Finish(err error) { res.fail(err) }
