package client

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"math"
	"time"

	"github.com/taudb/tau/pkg/protocol"
)

// The read extensions of docs/protocol.md ("Extensions"): E1 LIST_SERIES (ListSeries), E2
// SERIES_INFO (SeriesInfo) and E4 QUERY_RANGE (Range). A server without them, such as the
// original 1.3.0, answers bad_opcode: the error is then a *StatusError that matches both
// ErrBadOpcode and ErrUnsupported, so a client can probe with any of these calls.

// ErrUnsupported matches (errors.Is) a bad_opcode answer to one of the extensions: the server
// does not implement it. The original 1.3.0 server answers every extension so.
var ErrUnsupported = errors.New("tau: the server does not support this request")

// ErrInvalidRange is returned, before anything is sent, for RangeOptions that E4 forbids: an
// aggregation other than Raw without a bucket > 0, Raw with a bucket, or an unknown aggregation.
var ErrInvalidRange = errors.New("tau: invalid range options")

// Aggregation says what Range answers for each bucket (E4). Raw answers the points themselves.
type Aggregation uint8

// Aggregations, numbered as on the wire (E4).
const (
	Raw   Aggregation = Aggregation(protocol.AggRaw)   // the points themselves, exact bits
	Avg   Aggregation = Aggregation(protocol.AggAvg)   // sum / count
	Sum   Aggregation = Aggregation(protocol.AggSum)   // float64 sum in time order
	Min   Aggregation = Aggregation(protocol.AggMin)   // smallest non-NaN point, exact bits
	Max   Aggregation = Aggregation(protocol.AggMax)   // largest non-NaN point, exact bits
	Count Aggregation = Aggregation(protocol.AggCount) // number of points, as a float64
	First Aggregation = Aggregation(protocol.AggFirst) // the bucket's oldest point, exact bits
	Last  Aggregation = Aggregation(protocol.AggLast)  // the bucket's newest point, exact bits
)

// String names the aggregation: raw, avg, sum, min, max, count, first or last.
func (a Aggregation) String() string { return protocol.Aggregation(a).String() }

// ParseAggregation reads an aggregation's name as String writes it.
func ParseAggregation(s string) (Aggregation, error) {
	for a := Raw; a <= Last; a++ {
		if a.String() == s {
			return a, nil
		}
	}
	return 0, fmt.Errorf("aggregation %q: want raw, avg, sum, min, max, count, first or last", s)
}

// RangeOptions choose what Range and QueryRange answer. The zero value (or nil) reads the raw
// points, as many a page as the server allows.
type RangeOptions struct {
	// Agg is the aggregation; Raw (the zero value) answers the points themselves.
	Agg Aggregation
	// Bucket is the width of the buckets, in nanoseconds (a time.Duration is one): 0 for Raw,
	// > 0 for every other aggregation. A point at ts belongs to the bucket starting at
	// floor(ts / Bucket) × Bucket.
	Bucket time.Duration
	// PageSize is the most points (or buckets) one request asks for; 0, or anything above
	// 65,536, means 65,536 (the server's maximum).
	PageSize int
}

func (o *RangeOptions) check() error {
	switch {
	case o.Agg > Last:
		return fmt.Errorf("%w: unknown aggregation %d", ErrInvalidRange, o.Agg)
	case o.Agg == Raw && o.Bucket != 0:
		return fmt.Errorf("%w: raw points take no bucket (got %v)", ErrInvalidRange, o.Bucket)
	case o.Agg != Raw && o.Bucket <= 0:
		return fmt.Errorf("%w: %s needs a bucket > 0", ErrInvalidRange, o.Agg)
	case o.PageSize < 0:
		return fmt.Errorf("%w: negative page size", ErrInvalidRange)
	}
	return nil
}

func (o *RangeOptions) limit() uint32 {
	if o.PageSize > protocol.MaxRangeLimit {
		return 0
	}
	return uint32(o.PageSize)
}

// Point is one answer of a range read: a point, or a bucket timestamped with its start.
// Value is math.Float64frombits(Bits); Bits are exactly the server's (NaN payloads, -0).
type Point struct {
	TS    int64
	Value float64
	Bits  uint64
}

// Info is what SeriesInfo answers (E2).
type Info struct {
	// Points is the number of points the series holds.
	Points uint64
	// First and Last are the timestamps of its oldest and newest points; both 0 when it has none.
	First, Last int64
}

// SeriesInfo reads how many points series l holds and its first and last timestamps (E2);
// ErrSeriesNotFound when there is no such series.
func (c *Conn) SeriesInfo(ctx context.Context, l protocol.Label) (Info, error) {
	res := c.roundTrip(ctx, request{op: protocol.OpSeriesInfo, key: l})
	if err := res.error(protocol.OpSeriesInfo); err != nil {
		return Info{}, err
	}
	return Info{Points: res.bits, First: res.first, Last: res.last}, nil
}

// ListSeriesPage reads one page of LIST_SERIES (E1): the labels >= start in ascending byte
// order, at most limit of them (0, or above 4096, means 4096), appended to dst. more says
// further labels follow; the next page starts at the last label's Successor. ListSeries pages
// on its own.
func (c *Conn) ListSeriesPage(ctx context.Context, start protocol.Label, limit int, dst []protocol.Label) (labels []protocol.Label, more bool, err error) {
	lim := uint32(0)
	if limit > 0 && limit <= protocol.MaxListLimit {
		lim = uint32(limit)
	}
	res := c.roundTrip(ctx, request{op: protocol.OpListSeries, key: start, limit: lim})
	if err := res.error(protocol.OpListSeries); err != nil {
		return dst, false, err
	}
	more, labels, err = protocol.DecodeListAnswer(res.page, dst)
	if err != nil {
		return dst, false, fmt.Errorf("%w: %w", ErrUnexpectedAnswer, err)
	}
	return labels, more, nil
}

// ListSeries iterates over the labels of the series >= start, in ascending byte order, asking
// for further pages as it goes (E1: each starts at the successor of the previous page's last
// label). A series that exists for the whole listing is seen exactly once. An error ends the
// iteration, yielded with a zero label.
func (c *Conn) ListSeries(ctx context.Context, start protocol.Label) iter.Seq2[protocol.Label, error] {
	return listSeq(ctx, start, c.ListSeriesPage)
}

// ListSeriesPrefix iterates over the labels that begin with prefix (at most 32 bytes), in
// ascending byte order: it starts at the prefix padded with zero bytes and stops at the first
// label without the prefix.
func (c *Conn) ListSeriesPrefix(ctx context.Context, prefix []byte) iter.Seq2[protocol.Label, error] {
	return prefixSeq(prefix, func(start protocol.Label) iter.Seq2[protocol.Label, error] {
		return c.ListSeries(ctx, start)
	})
}

type listFunc func(ctx context.Context, start protocol.Label, limit int, dst []protocol.Label) ([]protocol.Label, bool, error)

func listSeq(ctx context.Context, start protocol.Label, page listFunc) iter.Seq2[protocol.Label, error] {
	return func(yield func(protocol.Label, error) bool) {
		var buf []protocol.Label
		for {
			labels, more, err := page(ctx, start, 0, buf[:0])
			if err != nil {
				yield(protocol.Label{}, err)
				return
			}
			for _, l := range labels {
				if !yield(l, nil) {
					return
				}
			}
			if !more {
				return
			}
			if len(labels) == 0 {
				yield(protocol.Label{}, fmt.Errorf("%w: an empty LIST_SERIES page with more", ErrUnexpectedAnswer))
				return
			}
			next, ok := labels[len(labels)-1].Successor()
			if !ok {
				return // the all-0xFF label was the last one there can be
			}
			start, buf = next, labels
		}
	}
}

func prefixSeq(prefix []byte, list func(start protocol.Label) iter.Seq2[protocol.Label, error]) iter.Seq2[protocol.Label, error] {
	return func(yield func(protocol.Label, error) bool) {
		if len(prefix) > protocol.LabelSize {
			yield(protocol.Label{}, fmt.Errorf("tau: a label prefix has at most %d bytes, got %d", protocol.LabelSize, len(prefix)))
			return
		}
		var start protocol.Label
		copy(start[:], prefix)
		for l, err := range list(start) {
			if err == nil && !bytes.HasPrefix(l[:], prefix) {
				return
			}
			if !yield(l, err) || err != nil {
				return
			}
		}
	}
}

// QueryRange reads one page of QUERY_RANGE (E4): the points of series l with from <= ts < to,
// oldest first, or their aggregation into buckets, appended to dst. more says the range holds
// further points or buckets; NextStart gives where the next page starts. Range pages on its
// own.
func (c *Conn) QueryRange(ctx context.Context, l protocol.Label, from, to int64, opts *RangeOptions, dst []Point) (points []Point, more bool, err error) {
	var o RangeOptions
	if opts != nil {
		o = *opts
	}
	if err := o.check(); err != nil {
		return dst, false, err
	}
	res := c.roundTrip(ctx, request{op: protocol.OpQueryRange, key: l, ts: from, end: to,
		limit: o.limit(), agg: protocol.Aggregation(o.Agg), bucket: int64(o.Bucket)})
	if err := res.error(protocol.OpQueryRange); err != nil {
		return dst, false, err
	}
	return decodeRange(res.page, dst)
}

// decodeRange decodes a QUERY_RANGE page, appending its points to dst.
func decodeRange(p []byte, dst []Point) ([]Point, bool, error) {
	if len(p) < protocol.PageHeaderSize || p[0] > 1 ||
		uint64(len(p)-protocol.PageHeaderSize) != uint64(binary.BigEndian.Uint32(p[1:]))*protocol.RangePointSize {
		return dst, false, fmt.Errorf("%w: malformed QUERY_RANGE page", ErrUnexpectedAnswer)
	}
	more := p[0] == 1
	for b := p[protocol.PageHeaderSize:]; len(b) > 0; b = b[protocol.RangePointSize:] {
		bits := binary.BigEndian.Uint64(b[8:])
		dst = append(dst, Point{TS: int64(binary.BigEndian.Uint64(b)), Value: math.Float64frombits(bits), Bits: bits})
	}
	return dst, more, nil
}

// NextStart is where the page after one ending with last starts (E4): last.TS + 1 for raw
// points, last.TS + bucket for buckets. ok is false when that would pass the largest i64, so
// no page can follow.
func NextStart(last Point, opts *RangeOptions) (next int64, ok bool) {
	step := int64(1)
	if opts != nil && opts.Agg != Raw {
		step = int64(opts.Bucket)
	}
	if step <= 0 || last.TS > math.MaxInt64-step {
		return 0, false
	}
	return last.TS + step, true
}

type rangeFunc func(ctx context.Context, l protocol.Label, from, to int64, opts *RangeOptions, dst []Point) ([]Point, bool, error)

// Range iterates over the points of series l with from <= ts < to, oldest first, or over their
// buckets when opts asks for an aggregation, asking for further pages as it goes (E4's paging:
// the next page starts at the last timestamp + 1, or at the last bucket's start + the bucket;
// it stops when the server says no more follow). An error ends the iteration, yielded with a
// zero Point: ErrSeriesNotFound, ErrInvalidRange, ErrUnsupported from a server without
// QUERY_RANGE, or the connection's or context's error.
func (c *Conn) Range(ctx context.Context, l protocol.Label, from, to int64, opts *RangeOptions) iter.Seq2[Point, error] {
	return rangeSeq(ctx, l, from, to, opts, c.QueryRange)
}

func rangeSeq(ctx context.Context, l protocol.Label, from, to int64, opts *RangeOptions, page rangeFunc) iter.Seq2[Point, error] {
	return func(yield func(Point, error) bool) {
		var buf []Point
		for {
			pts, more, err := page(ctx, l, from, to, opts, buf[:0])
			if err != nil {
				yield(Point{}, err)
				return
			}
			for _, p := range pts {
				if !yield(p, nil) {
					return
				}
			}
			if !more {
				return
			}
			if len(pts) == 0 {
				yield(Point{}, fmt.Errorf("%w: an empty QUERY_RANGE page with more", ErrUnexpectedAnswer))
				return
			}
			next, ok := NextStart(pts[len(pts)-1], opts)
			if !ok {
				return
			}
			if next <= from {
				yield(Point{}, fmt.Errorf("%w: a QUERY_RANGE page that does not advance", ErrUnexpectedAnswer))
				return
			}
			from, buf = next, pts
		}
	}
}
