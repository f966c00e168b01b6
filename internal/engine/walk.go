package engine

import "github.com/taudb/tau/internal/series"

// EachSeries calls f with every series' label, in order, page by page (a whole-state walk:
// a snapshot, or seeding a cluster from a single node).
func (e *Engine) EachSeries(f func(series.Label) error) error {
	var start series.Label
	page := &ListPage{}
	res := NewResult()
	for first := true; ; first = false {
		e.ListSeries(start, MaxListLimit, page, res)
		res.Wait()
		if err := res.Durable(); err != nil {
			return err
		}
		labels := append([]series.Label(nil), page.Labels...)
		for _, l := range labels {
			if !first && l == start {
				continue
			}
			if err := f(l); err != nil {
				return err
			}
		}
		if !page.More || len(labels) == 0 {
			return nil
		}
		start = labels[len(labels)-1]
	}
}

// EachPoint calls f with every point of series l, oldest first, MaxInt64 included.
func (e *Engine) EachPoint(l series.Label, f func(BatchPoint)) error {
	from := int64(-1 << 63)
	page := &RangePage{}
	res := NewResult()
	for {
		e.QueryRange(l, RangeQuery{Start: from, End: 1<<63 - 1, Limit: MaxRangeLimit}, page, res)
		res.Wait()
		if err := res.Durable(); err != nil {
			return err
		}
		for _, p := range page.Points {
			f(BatchPoint{TS: p.TS, Value: p.Value})
		}
		if !page.More || len(page.Points) == 0 {
			break
		}
		from = page.Points[len(page.Points)-1].TS + 1
	}
	// A range ends before its end, so the one timestamp no range reaches is asked alone.
	e.QueryPoint(l, 1<<63-1, res)
	res.Wait()
	if err := res.Durable(); err != nil {
		return err
	}
	if res.Found() {
		f(BatchPoint{TS: 1<<63 - 1, Value: res.Value()})
	}
	return nil
}
