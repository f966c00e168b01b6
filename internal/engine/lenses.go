package engine

import (
	"errors"

	"github.com/taudb/tau/internal/actor"
	"github.com/taudb/tau/internal/lens"
	"github.com/taudb/tau/internal/series"
)

// Lenses (docs/protocol.md, E5) are named, read-only views of a series through a chain of
// transforms, in a namespace of their own (package lens). Their changes are rare: each runs on
// the caller's goroutine, one at a time, and completes its Result only once the new state is
// durable (R11), so a request pipelined after it on the same connection already sees it. A
// lens query reads its source on the series' actor (the point and the points before it that
// the chain's returns need) and applies the chain in Wait.

// MaxLensChain is the most transforms a lens' chain holds (ComposeLens: ErrLensChainTooLong).
const MaxLensChain = lens.MaxChain

// LensTransforms are the transform names CreateLens takes.
func LensTransforms() []string { return lens.Names() }

// CreateLens makes lens l: source read through the transform named transform (matched
// exactly). Checks, in E5's order: the name (ErrInvalidTransform), the capacity
// (ErrLensCapacity), the label (ErrLensExists). The source series need not exist.
func (e *Engine) CreateLens(l, source series.Label, transform string, res *Result) {
	res.reset()
	res.fail(lensErr(e.lenses.Create(l, source, transform)))
}

// DropLens removes lens l (ErrLensNotFound when there is none). Lenses composed from it stay.
func (e *Engine) DropLens(l series.Label, res *Result) {
	res.reset()
	res.fail(lensErr(e.lenses.Drop(l)))
}

// ComposeLens makes lens l: first's source read through first's chain, then second's. Checks,
// in E5's order: first, second (ErrLensNotFound), the capacity, the label (ErrLensExists), then
// the chain bound (ErrLensChainTooLong). It is a copy: dropping first or second leaves it.
func (e *Engine) ComposeLens(l, first, second series.Label, res *Result) {
	res.reset()
	res.fail(lensErr(e.lenses.Compose(l, first, second)))
}

// QueryLens answers lens l at ts: ErrLensNotFound for an unknown lens; otherwise as
// QueryPoint answers the source at ts (ErrSeriesNotFound, ErrBusy, or not found), then the
// chain applied to the point and the points before it that its returns need (not found when
// the source has fewer). Found and Value after Wait.
func (e *Engine) QueryLens(l series.Label, ts int64, res *Result) {
	res.reset()
	ln, ok := e.lenses.Get(l)
	if !ok {
		res.fail(ErrLensNotFound)
		return
	}
	res.chain = ln.Chain
	res.r.Back = ln.Chain.Lookback()
	e.route(ln.Source, actor.Message{Kind: actor.KindLookback, TS: ts}, res)
}

// ListLenses lists every lens label into page, ascending byte-wise (More is always false:
// there is one page, as E5 has no paging).
func (e *Engine) ListLenses(page *ListPage, res *Result) {
	res.reset()
	page.Labels, page.More = e.lenses.List(page.Labels[:0]), false
	res.fail(nil) // answered at once, without an error
}

// LensDefinition is one lens as it is defined: its source and its chain's transforms by name.
type LensDefinition struct {
	Label, Source series.Label
	Transforms    []string
}

// LensDefinitions lists every lens, by label.
func (e *Engine) LensDefinitions() []LensDefinition {
	labels := e.lenses.List(nil)
	out := make([]LensDefinition, 0, len(labels))
	for _, l := range labels {
		ln, ok := e.lenses.Get(l)
		if !ok {
			continue
		}
		d := LensDefinition{Label: l, Source: ln.Source}
		for _, t := range ln.Chain {
			d.Transforms = append(d.Transforms, t.String())
		}
		out = append(out, d)
	}
	return out
}

// RestoreLens makes lens l with a whole chain, as LensDefinitions lists another server's
// (cluster mode seeding its log from a single node): ErrInvalidTransform for an unknown name,
// ErrLensChainTooLong, ErrLensCapacity, ErrLensExists.
func (e *Engine) RestoreLens(l, source series.Label, transforms []string, res *Result) {
	res.reset()
	res.fail(lensErr(e.lenses.Restore(l, source, transforms)))
}

// Lenses is the number of lenses.
func (e *Engine) Lenses() int { return e.lenses.Len() }

// lensErr makes a failure of the lens state's disk an ErrStorageFailed, as the log's are.
func lensErr(err error) error {
	if errors.Is(err, lens.ErrStore) {
		return actor.StorageFailed(err)
	}
	return err
}
