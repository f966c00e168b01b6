package engine

import (
	"github.com/taudb/tau/internal/actor"
	"github.com/taudb/tau/internal/catalog"
	"github.com/taudb/tau/internal/query"
	"github.com/taudb/tau/internal/series"
)

// The reads beyond a single point: a series' summary, a time range of its points (raw or
// aggregated into buckets), and a listing of the series. A front end keeps the pages these
// answer into and reuses them; each is bounded by the limit it asks for.

// SeriesInfo is what a series holds now: its points, and the timestamps of its first and last
// (both 0 when it has none).
type SeriesInfo = actor.Info

// Point is one answer of a range read: a point's timestamp and exact value bits, or a
// bucket's start and its aggregate's bits.
type Point = query.Point

// Aggregation says what a range read's buckets become.
type Aggregation = query.Aggregation

// Aggregations (package query documents each).
const (
	AggRaw   = query.Raw
	AggAvg   = query.Avg
	AggSum   = query.Sum
	AggMin   = query.Min
	AggMax   = query.Max
	AggCount = query.Count
	AggFirst = query.First
	AggLast  = query.Last
)

// RangeQuery is a range read: the points with Start <= ts < End, raw (Bucket 0) or aggregated
// into buckets of width Bucket > 0, at most Limit points or buckets.
type RangeQuery = query.Range

// RangePage receives a range read's answer: Points (oldest first) and More (further points or
// buckets in range follow the last one). Its buffer is reused from read to read.
type RangePage = query.Page

// Page limits; a limit outside 1..max means the max.
const (
	MaxRangeLimit = query.MaxLimit
	MaxListLimit  = catalog.MaxListLimit
)

// ListPage receives a listing's answer: Labels (ascending byte-wise) and More (further labels
// follow the last one). Its buffer is reused from listing to listing.
type ListPage struct {
	Labels []series.Label
	More   bool
}

// SeriesInfo reads a series' summary into res (Info after Wait). It runs on the series' actor,
// after every request made before it on the series.
func (e *Engine) SeriesInfo(l series.Label, res *Result) {
	e.send(l, actor.Message{Kind: actor.KindInfo}, res)
}

// QueryRange reads q from a series into page. It runs on the series' actor, after every
// request made before it on the series, and decodes the series in place: the page is the only
// buffer, and it holds at most q.Limit points. An invalid q (an unknown aggregation, or a
// bucket that does not fit it) is ErrInvalidQuery. page belongs to the engine until Wait
// returns.
func (e *Engine) QueryRange(l series.Label, q RangeQuery, page *RangePage, res *Result) {
	if !q.Valid() {
		res.reset()
		res.fail(ErrInvalidQuery)
		return
	}
	page.Range = q
	res.reset()
	res.r.Page = page
	e.route(l, actor.Message{Kind: actor.KindRange}, res)
}

// ListSeries lists into page the labels of live series >= start, ascending byte-wise, at most
// limit of them. It answers at once, from one instant of the catalog: a series that exists
// while a client pages through the listing (each page starting after the last label of the
// one before) appears in exactly one page.
func (e *Engine) ListSeries(start series.Label, limit int, page *ListPage, res *Result) {
	res.reset()
	page.Labels, page.More = e.catalog.List(start, limit, page.Labels[:0])
	res.fail(nil) // answered at once, without an error
}
