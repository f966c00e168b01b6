package server

import (
	"sync"
	"time"
	"unsafe"

	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/internal/engine"
	"github.com/taudb/tau/internal/series"
	"github.com/taudb/tau/pkg/protocol"
)

// The read-side extensions (docs/protocol.md, "Extensions"): E1 LIST_SERIES, E2 SERIES_INFO
// and E4 QUERY_RANGE. SERIES_INFO answers 24 bytes, like any fixed answer. LIST_SERIES and
// QUERY_RANGE answer pages of up to 4096 labels (128 KiB) or 65,536 points (1 MiB).
//
// Memory bound. A connection may have 256 requests in flight (the window, R1); if each could
// hold a page, one connection could pin 256 MiB. So a connection holds at most one page in
// flight: before dispatching a LIST_SERIES or QUERY_RANGE, the reader waits until the writer
// has written the previous one's answer. That wait stops the reader, not the client's other
// answers: every request before it is still answered in order, and TCP pushes back on the
// client as it does for a full window (R1). It is not charged to the idle timeout, since the
// frame was already read whole. A paging client waits for each page anyway (the next page
// starts after the last one), so the bound costs it nothing; a client pipelining range reads
// of different series gets them answered one after another. The page itself is the engine's
// answer buffer (16 bytes a point, as on the wire); the writer encodes it into the
// connection's 32 KiB write buffer piece by piece, so no answer is ever built whole as bytes.
// Pages come from a pool shared by all connections: the GC reclaims them when reads stop, so
// an idle connection keeps none.
//
// One page a connection still lets a thousand connections pin a thousand pages: 1 GiB of
// QUERY_RANGE pages against a chart's 512Mi. So every page in flight also holds its largest
// size (1 MiB for QUERY_RANGE, 128 KiB for LIST_SERIES, TAU_LENS_CAPACITY labels for
// LIST_LENSES) of one server-wide page budget, max(64 MiB, the largest page), taken after the
// connection's own turn and given back with it, as APPEND_BATCH's payload budget (batch.go):
// first come, first served, the wait not charged to the idle timeout, and a wait cut short by
// shutdown answered busy (closed), as shutdown answers any new request. Metrics:
// tau_server_page_budget_bytes, tau_server_page_held_bytes, tau_server_page_budget_waits_total.

// defaultPageBudget is the page budget's floor.
const defaultPageBudget = 64 << 20

var pageMetrics = budgetMetricsFor("page",
	"paged answers (QUERY_RANGE, LIST_SERIES, LIST_LENSES), each at its largest size,", "Paged requests")

// Largest pages, as the engine fills them: a QUERY_RANGE point and a label.
const (
	rangePageBytes = engine.MaxRangeLimit * int64(unsafe.Sizeof(engine.Point{}))
	listPageBytes  = engine.MaxListLimit * series.LabelSize
)

// lensPageBytes is LIST_LENSES' page: every lens's label.
func lensPageBytes(cfg config.Config) int64 { return int64(cfg.LensCapacity) * series.LabelSize }

// largestPage is the largest page any request may hold.
func largestPage(cfg config.Config) int64 {
	return max(rangePageBytes, listPageBytes, lensPageBytes(cfg))
}

// page is a connection's one buffer for a paged answer.
type page struct {
	rng  engine.RangePage
	list engine.ListPage
}

var pagePool = sync.Pool{New: func() any { return new(page) }}

// takePage waits until the connection's previous paged answer is written and size bytes of
// the page budget are free, then lends r a page. False when shutdown cut the wait short: r is
// then answered busy and the connection closes after it.
func (c *conn) takePage(r *slot, size int64) bool {
	<-c.pageFree
	waited, ok := c.srv.pages.acquire(size, c.srv.stop, c.sendWritten)
	if !ok {
		c.pageFree <- struct{}{}
		r.close = true
		r.answer(protocol.StatusBusy)
		return false
	}
	if waited { // the wait is not the client's idleness (R10)
		_ = c.nc.SetReadDeadline(time.Now().Add(c.srv.cfg.ConnectionTimeout))
	}
	r.page, r.paged = pagePool.Get().(*page), size
	return true
}

// releasePage returns r's page once its answer is written, letting the reader dispatch the
// next paged request.
func (c *conn) releasePage(r *slot) {
	if r.page == nil {
		return
	}
	pagePool.Put(r.page)
	c.srv.pages.release(r.paged)
	r.page, r.paged = nil, 0
	c.pageFree <- struct{}{}
}

// quiesce waits until every request before the current one is answered. LIST_SERIES reads the
// catalog at once, while a DROP_SERIES pipelined just before it takes effect only when its
// series' actor runs it; waiting makes a listing see the effect of every earlier request of
// its connection, as the answers' order suggests. It holds the window's other slots as the
// writer returns them, then gives them back.
func (c *conn) quiesce() {
	for len(c.held) < cap(c.free)-1 {
		c.held = append(c.held, <-c.free)
	}
	for _, r := range c.held {
		c.free <- r
	}
	clear(c.held)
	c.held = c.held[:0]
}

// dispatchRead starts LIST_SERIES, SERIES_INFO or QUERY_RANGE. QUERY_RANGE's fields are
// checked first (R0: the payload before the operation), so a malformed request for an unknown
// series is invalid_payload. It returns true when the connection closes after r (shutdown cut
// a wait for the page budget short).
func (c *conn) dispatchRead(op protocol.Opcode, p []byte, r *slot) (closeAfter bool) {
	eng := c.srv.engine
	switch op {
	case protocol.OpSeriesInfo:
		eng.SeriesInfo(series.Label(protocol.SeriesRequest(p)), r.res)
	case protocol.OpQueryRange:
		q := protocol.QueryRangeRequest(p)
		if !q.Valid() {
			r.answer(protocol.StatusInvalidPayload)
			return false
		}
		if !c.takePage(r, rangePageBytes) {
			return true
		}
		eng.QueryRange(series.Label(q.Label), rangeQuery(&q), &r.page.rng, r.res)
	case protocol.OpListSeries:
		start, limit := protocol.ListSeriesRequest(p)
		c.quiesce()
		if !c.takePage(r, listPageBytes) {
			return true
		}
		eng.ListSeries(series.Label(start), protocol.ListLimit(limit), &r.page.list, r.res)
	}
	return false
}

// aggregations maps E4's aggregation bytes to the engine's (Valid has checked the byte).
var aggregations = [...]engine.Aggregation{
	protocol.AggRaw:   engine.AggRaw,
	protocol.AggAvg:   engine.AggAvg,
	protocol.AggSum:   engine.AggSum,
	protocol.AggMin:   engine.AggMin,
	protocol.AggMax:   engine.AggMax,
	protocol.AggCount: engine.AggCount,
	protocol.AggFirst: engine.AggFirst,
	protocol.AggLast:  engine.AggLast,
}

func rangeQuery(q *protocol.QueryRange) engine.RangeQuery {
	return engine.RangeQuery{Start: q.Start, End: q.End, Limit: protocol.RangeLimit(q.Limit),
		Agg: aggregations[q.Aggregation], Bucket: q.Bucket}
}

// writeRange writes a QUERY_RANGE answer from its page.
func (c *conn) writeRange(p *engine.RangePage) {
	c.out = protocol.AppendRangeHeader(c.out[:0], p.More, len(p.Points))
	c.writeOut()
	pts := p.Points
	for len(pts) > 0 && !c.failed {
		b := c.room(protocol.RangePointSize)
		k := min(len(pts), cap(b)/protocol.RangePointSize)
		for _, pt := range pts[:k] {
			b = protocol.AppendRangePoint(b, pt.TS, pt.Value)
		}
		c.bw.Write(b)
		pts = pts[k:]
	}
}

// writeList writes a LIST_SERIES answer from its page.
func (c *conn) writeList(p *engine.ListPage) {
	c.out = protocol.AppendListHeader(c.out[:0], p.More, len(p.Labels))
	c.writeOut()
	c.writeLabels(p.Labels)
}

// writeLabels writes the labels of a listing, piece by piece through the write buffer.
func (c *conn) writeLabels(labels []series.Label) {
	for len(labels) > 0 && !c.failed {
		b := c.room(protocol.LabelSize)
		k := min(len(labels), cap(b)/protocol.LabelSize)
		for i := range labels[:k] {
			b = append(b, labels[i][:]...)
		}
		c.bw.Write(b)
		labels = labels[k:]
	}
}

// room returns the write buffer's free space to append into (bufio.Writer.AvailableBuffer),
// flushing first if fewer than n bytes are free. After a failed write it may be short: the
// caller checks c.failed.
func (c *conn) room(n int) []byte {
	if c.bw.Available() < n {
		c.flush()
	}
	return c.bw.AvailableBuffer()
}
