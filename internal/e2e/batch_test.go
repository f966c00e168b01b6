package e2e

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/taudb/tau/internal/auth"
	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/pkg/protocol"
)

// bpt is one APPEND_BATCH point with exact value bits.
type bpt struct {
	ts   int64
	bits uint64
}

// batchP builds an APPEND_BATCH payload.
func batchP(l protocol.Label, pts ...bpt) []byte {
	p := protocol.AppendBatchHeader(nil, l, len(pts))
	for _, pt := range pts {
		p = binary.BigEndian.AppendUint64(p, uint64(pt.ts))
		p = binary.BigEndian.AppendUint64(p, pt.bits)
	}
	return p
}

func infoOf(c *rawConn, l protocol.Label) (points uint64, first, last int64) {
	c.t.Helper()
	a := c.call(protocol.OpSeriesInfo, l[:])
	if a.op != protocol.OpOK || len(a.payload) != protocol.SeriesInfoAnswerSize {
		c.t.Fatalf("SERIES_INFO: %v", a)
	}
	return binary.BigEndian.Uint64(a.payload), int64(binary.BigEndian.Uint64(a.payload[8:])), int64(binary.BigEndian.Uint64(a.payload[16:]))
}

// TestE3_AppendBatch: a batch is stored whole with its exact bits, or (out of order anywhere)
// not at all; lengths are exact; the payload checks come before the operation.
func TestE3_AppendBatch(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	l := label("batch")
	c.expect(c.call(protocol.OpCreateSeries, series(l)), okAnswer)
	pts := []bpt{
		{math.MinInt64, 0x7ff8deadbeef0001}, // NaN with a payload
		{-1, 1 << 63},                       // -0.0
		{0, 0x7ff0000000000001},             // signalling NaN
		{7, math.Float64bits(math.Inf(-1))},
	}
	c.expect(c.call(protocol.OpAppendBatch, batchP(l, pts...)), okAnswer)
	for _, p := range pts {
		c.expect(c.call(protocol.OpQueryPoint, queryP(l, p.ts)), answer{protocol.OpOK, binary.BigEndian.AppendUint64([]byte{1}, p.bits)})
	}
	outOfOrder := errAnswer(protocol.StatusOutOfOrder)
	for name, bad := range map[string][]bpt{
		"out of order in the middle": {{8, 1}, {9, 1}, {9, 1}, {10, 1}},
		"decreasing at the end":      {{8, 1}, {9, 1}, {3, 1}},
		"first equal to the last":    {{7, 1}, {8, 1}},
		"first before the last":      {{6, 1}, {100, 1}},
	} {
		c.expect(c.call(protocol.OpAppendBatch, batchP(l, bad...)), outOfOrder)
		if n, first, last := infoOf(c, l); n != 4 || first != math.MinInt64 || last != 7 {
			t.Fatalf("%s: stored something: %d points, %d..%d", name, n, first, last)
		}
		c.expect(c.call(protocol.OpQueryPoint, queryP(l, 8)), notFoundAnswer)
	}
	invalid := errAnswer(protocol.StatusInvalidPayload)
	good := batchP(l, bpt{8, 1}, bpt{9, 2})
	for name, p := range map[string][]byte{
		"n = 0":               protocol.AppendBatchHeader(nil, l, 0),
		"empty":               {},
		"label only":          l[:],
		"one byte short":      good[:len(good)-1],
		"one byte long":       append(append([]byte{}, good...), 0),
		"n says 3, length 2":  append(protocol.AppendBatchHeader(nil, l, 3), good[protocol.BatchHeaderSize:]...),
		"n says 1, length 2":  append(protocol.AppendBatchHeader(nil, l, 1), good[protocol.BatchHeaderSize:]...),
		"n huge":              append(protocol.AppendBatchHeader(nil, l, math.MaxUint32), good[protocol.BatchHeaderSize:]...),
		"unknown series, bad": append(protocol.AppendBatchHeader(nil, label("nosuch"), 0), 1),
	} {
		c.expect(c.call(protocol.OpAppendBatch, p), invalid)
		_ = name
	}
	c.expect(c.call(protocol.OpAppendBatch, batchP(label("nosuch"), bpt{1, 1})), errAnswer(protocol.StatusSeriesNotFound))
	// The connection stayed open and the good batch still applies.
	c.expect(c.call(protocol.OpAppendBatch, good), okAnswer)
	if n, _, last := infoOf(c, l); n != 6 || last != 9 {
		t.Fatalf("after the good batch: %d points, last %d", n, last)
	}
	// Pipelined with single appends, in order (R1).
	c.send(protocol.OpAppend, appendP(l, 10, 1))
	c.send(protocol.OpAppendBatch, batchP(l, bpt{11, 1}, bpt{12, 1}))
	c.send(protocol.OpAppend, appendP(l, 12, 1))
	c.expect(c.read(), okAnswer)
	c.expect(c.read(), okAnswer)
	c.expect(c.read(), outOfOrder)
}

// TestE3_R0Order: before CONNECT an APPEND_BATCH, even a malformed one, is not_authenticated
// and closes; an oversize one is payload_too_large and closes, without its payload read (R2).
func TestE3_R0Order(t *testing.T) {
	srv := start(t, func(c *config.Config) { c.MaxPayloadBytes = 1024 })
	c := dial(t, srv.Addr())
	c.expect(c.call(protocol.OpAppendBatch, []byte{1, 2, 3}), errAnswer(protocol.StatusNotAuthenticated))
	c.expectClosed()

	c = dial(t, srv.Addr())
	c.expect(c.call(protocol.OpConnect, auth.DevCertificate[:]), okAnswer)
	c.sendRaw(protocol.AppendHeader(nil, protocol.OpAppendBatch, uint32(protocol.BatchPayloadSize(64)))) // 1060 > 1024
	c.expect(c.read(), errAnswer(protocol.StatusPayloadTooLarge))
	c.expectClosed()

	// The largest batch that fits is taken.
	c = connect(t, srv.Addr())
	l := label("max")
	c.expect(c.call(protocol.OpCreateSeries, series(l)), okAnswer)
	n := (1024 - protocol.BatchHeaderSize) / protocol.BatchPointSize
	pts := make([]bpt, n)
	for i := range pts {
		pts[i] = bpt{int64(i), uint64(i)}
	}
	c.expect(c.call(protocol.OpAppendBatch, batchP(l, pts...)), okAnswer)
	if got, _, _ := infoOf(c, l); got != uint64(n) {
		t.Fatalf("%d points stored, want %d", got, n)
	}
}
