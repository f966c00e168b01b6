package protocol

import (
	"encoding/binary"
	"errors"
)

// The read-side extensions (docs/protocol.md, "Extensions"): E1 LIST_SERIES, E2 SERIES_INFO
// and E4 QUERY_RANGE. Their requests have fixed lengths (R4); their answers are OK frames:
//
//	LIST_SERIES  u8 more, u32 n, n labels (32 bytes each)
//	SERIES_INFO  u64 points, i64 first timestamp, i64 last timestamp (24 bytes)
//	QUERY_RANGE  u8 more, u32 n, n × (i64 timestamp, f64 value bits)

// Answer sizes of the extensions.
const (
	SeriesInfoAnswerSize = 8 + 8 + 8 // E2: u64 points, i64 first, i64 last
	PageHeaderSize       = 1 + 4     // E1, E4: u8 more, u32 n
	RangePointSize       = 8 + 8     // E4: i64 timestamp, f64 value bits
)

// Page limits: a request's limit of 0, or above the maximum, means the maximum (E1, E4).
const (
	MaxListLimit  = 4096
	MaxRangeLimit = 65536
)

// ListLimit is the number of labels a LIST_SERIES limit asks for (E1).
func ListLimit(limit uint32) int { return pageLimit(limit, MaxListLimit) }

// RangeLimit is the number of points or buckets a QUERY_RANGE limit asks for (E4).
func RangeLimit(limit uint32) int { return pageLimit(limit, MaxRangeLimit) }

func pageLimit(limit uint32, most int) int {
	if limit == 0 || limit > uint32(most) {
		return most
	}
	return int(limit)
}

// Aggregation is QUERY_RANGE's aggregation byte (E4).
type Aggregation uint8

// Aggregations of E4; any other byte is invalid_payload.
const (
	AggRaw   Aggregation = 0 // the points themselves; bucket must be 0
	AggAvg   Aggregation = 1
	AggSum   Aggregation = 2
	AggMin   Aggregation = 3
	AggMax   Aggregation = 4
	AggCount Aggregation = 5
	AggFirst Aggregation = 6
	AggLast  Aggregation = 7
)

var aggregationNames = [...]string{"raw", "avg", "sum", "min", "max", "count", "first", "last"}

// String names the aggregation ("raw", "avg", …); unknown ones read "unknown".
func (a Aggregation) String() string {
	if int(a) < len(aggregationNames) {
		return aggregationNames[a]
	}
	return "unknown"
}

// QueryRange is a decoded QUERY_RANGE request, its fields as they travel.
type QueryRange struct {
	Label       Label
	Start, End  int64 // the points with Start <= ts < End
	Limit       uint32
	Aggregation Aggregation
	Bucket      int64
}

// Valid reports whether the fields keep E4's rules: aggregation 0 (raw) with bucket 0, or
// aggregations 1–7 with bucket > 0. Anything else is answered invalid_payload. End <= Start is
// valid (an empty answer).
func (q *QueryRange) Valid() bool {
	switch {
	case q.Aggregation == AggRaw:
		return q.Bucket == 0
	case q.Aggregation <= AggLast:
		return q.Bucket > 0
	}
	return false
}

// QueryRangeRequest decodes a QUERY_RANGE payload; the caller has checked its length (R4) and
// checks Valid.
func QueryRangeRequest(p []byte) (q QueryRange) {
	copy(q.Label[:], p[:LabelSize])
	p = p[LabelSize:]
	q.Start = int64(binary.BigEndian.Uint64(p))
	q.End = int64(binary.BigEndian.Uint64(p[8:]))
	q.Limit = binary.BigEndian.Uint32(p[16:])
	q.Aggregation = Aggregation(p[20])
	q.Bucket = int64(binary.BigEndian.Uint64(p[21:]))
	return q
}

// EncodeQueryRange builds a QUERY_RANGE payload.
func EncodeQueryRange(dst []byte, q *QueryRange) []byte {
	dst = append(dst, q.Label[:]...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(q.Start))
	dst = binary.BigEndian.AppendUint64(dst, uint64(q.End))
	dst = binary.BigEndian.AppendUint32(dst, q.Limit)
	dst = append(dst, byte(q.Aggregation))
	return binary.BigEndian.AppendUint64(dst, uint64(q.Bucket))
}

// ListSeriesRequest decodes a LIST_SERIES payload; the caller has checked its length (R4).
// Every start label and every limit is valid.
func ListSeriesRequest(p []byte) (start Label, limit uint32) {
	copy(start[:], p[:LabelSize])
	return start, binary.BigEndian.Uint32(p[LabelSize:])
}

// EncodeListSeries builds a LIST_SERIES payload.
func EncodeListSeries(dst []byte, start Label, limit uint32) []byte {
	dst = append(dst, start[:]...)
	return binary.BigEndian.AppendUint32(dst, limit)
}

// Successor is the label a listing's next page starts at: l read as a 256-bit big-endian
// number, plus one. The all-0xFF label has none (ok is false).
func (l Label) Successor() (next Label, ok bool) {
	next = l
	for i := LabelSize - 1; i >= 0; i-- {
		next[i]++
		if next[i] != 0 {
			return next, true
		}
	}
	return Label{}, false
}

// AppendSeriesInfoAnswer appends the OK frame for SERIES_INFO (E2).
func AppendSeriesInfoAnswer(dst []byte, points uint64, first, last int64) []byte {
	dst = AppendHeader(dst, OpOK, SeriesInfoAnswerSize)
	dst = binary.BigEndian.AppendUint64(dst, points)
	dst = binary.BigEndian.AppendUint64(dst, uint64(first))
	return binary.BigEndian.AppendUint64(dst, uint64(last))
}

// DecodeSeriesInfoAnswer decodes the payload of a SERIES_INFO OK.
func DecodeSeriesInfoAnswer(p []byte) (points uint64, first, last int64, err error) {
	if len(p) != SeriesInfoAnswerSize {
		return 0, 0, 0, errors.New("protocol: malformed SERIES_INFO answer")
	}
	return binary.BigEndian.Uint64(p), int64(binary.BigEndian.Uint64(p[8:])),
		int64(binary.BigEndian.Uint64(p[16:])), nil
}

// AppendListHeader appends the header of a LIST_SERIES OK frame holding n labels, and its
// more flag and count; the n labels follow, 32 bytes each.
func AppendListHeader(dst []byte, more bool, n int) []byte {
	return appendPageHeader(dst, more, n, LabelSize)
}

// AppendRangeHeader appends the header of a QUERY_RANGE OK frame holding n points, and its
// more flag and count; the n points follow, each written by AppendRangePoint.
func AppendRangeHeader(dst []byte, more bool, n int) []byte {
	return appendPageHeader(dst, more, n, RangePointSize)
}

func appendPageHeader(dst []byte, more bool, n, size int) []byte {
	dst = AppendHeader(dst, OpOK, uint32(PageHeaderSize+n*size))
	m := byte(0)
	if more {
		m = 1
	}
	dst = append(dst, m)
	return binary.BigEndian.AppendUint32(dst, uint32(n))
}

// AppendRangePoint appends one point of a QUERY_RANGE answer: its timestamp and its value's
// exact bits.
func AppendRangePoint(dst []byte, ts int64, bits uint64) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(ts))
	return binary.BigEndian.AppendUint64(dst, bits)
}

// RangePoint is one point of a QUERY_RANGE answer: a timestamp (a bucket's start when
// aggregated) and a value's IEEE-754 bits.
type RangePoint struct {
	TS   int64
	Bits uint64
}

// DecodeListAnswer decodes the payload of a LIST_SERIES OK, appending the labels to dst.
func DecodeListAnswer(p []byte, dst []Label) (more bool, labels []Label, err error) {
	more, body, err := decodePage(p, LabelSize)
	if err != nil {
		return false, dst, err
	}
	for ; len(body) > 0; body = body[LabelSize:] {
		dst = append(dst, Label(body[:LabelSize]))
	}
	return more, dst, nil
}

// DecodeRangeAnswer decodes the payload of a QUERY_RANGE OK, appending the points to dst.
func DecodeRangeAnswer(p []byte, dst []RangePoint) (more bool, points []RangePoint, err error) {
	more, body, err := decodePage(p, RangePointSize)
	if err != nil {
		return false, dst, err
	}
	for ; len(body) > 0; body = body[RangePointSize:] {
		dst = append(dst, RangePoint{int64(binary.BigEndian.Uint64(body)), binary.BigEndian.Uint64(body[8:])})
	}
	return more, dst, nil
}

// decodePage checks a paged answer's more flag and count against its length.
func decodePage(p []byte, size int) (more bool, body []byte, err error) {
	if len(p) < PageHeaderSize || p[0] > 1 {
		return false, nil, errors.New("protocol: malformed page answer")
	}
	n := binary.BigEndian.Uint32(p[1:])
	body = p[PageHeaderSize:]
	if uint64(len(body)) != uint64(n)*uint64(size) {
		return false, nil, errors.New("protocol: page answer length disagrees with its count")
	}
	return p[0] == 1, body, nil
}
