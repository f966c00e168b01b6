package clienttest

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"

	"github.com/taudb/tau/pkg/protocol"
)

// TestExtensionsAreBadOpcode: with V1Only the fake speaks only v1, as 1.3.0 does. Once
// authenticated it answers the read extensions bad_opcode, whatever their length, and stays
// open; before CONNECT they are not_authenticated and close, as R0 orders for every opcode.
func TestExtensionsAreBadOpcode(t *testing.T) {
	s := StartWith(t, nil, Options{V1Only: true})
	ops := []protocol.Opcode{protocol.OpListSeries, protocol.OpSeriesInfo, protocol.OpQueryRange,
		protocol.OpCreateLens, protocol.OpDropLens, protocol.OpQueryLens, protocol.OpComposeLens, protocol.OpListLenses}
	for _, op := range ops {
		nc, br := dialFake(t, s)
		if got := call(t, nc, br, op, make([]byte, max(op.PayloadSize(), 0))); got != protocol.StatusNotAuthenticated {
			t.Fatalf("%v before CONNECT: status %v", op, got)
		}
	}
	nc, br := dialFake(t, s)
	if got := call(t, nc, br, protocol.OpConnect, s.Cert[:]); got != 0 {
		t.Fatalf("CONNECT: %v", got)
	}
	for _, op := range ops {
		for _, n := range []int{max(op.PayloadSize(), 0), 0, op.PayloadSize() + 1} {
			if got := call(t, nc, br, op, make([]byte, n)); got != protocol.StatusBadOpcode {
				t.Fatalf("%v with %d bytes: status %v, want bad_opcode", op, n, got)
			}
		}
	}
	if got := call(t, nc, br, protocol.OpPing, nil); got != 0 {
		t.Fatalf("PING after the probes: %v", got)
	}
}

// TestExtensionsKeepR0: by default the fake answers the read extensions. Their checks come in
// R0's order: authentication, then the payload's length, then E4's fields, then the series.
func TestExtensionsKeepR0(t *testing.T) {
	s := Start(t, nil)
	nc, br := dialFake(t, s)
	if got := call(t, nc, br, protocol.OpSeriesInfo, make([]byte, 32)); got != protocol.StatusNotAuthenticated {
		t.Fatalf("SERIES_INFO before CONNECT: %v", got)
	}
	nc, br = dialFake(t, s)
	if got := call(t, nc, br, protocol.OpConnect, s.Cert[:]); got != 0 {
		t.Fatalf("CONNECT: %v", got)
	}
	unknown := protocol.LabelFromString("nope")
	bad := protocol.QueryRange{Label: unknown, Start: 0, End: 10, Aggregation: protocol.AggAvg} // bucket 0
	good := protocol.QueryRange{Label: unknown, Start: 0, End: 10}
	cases := []struct {
		op      protocol.Opcode
		payload []byte
		want    protocol.Status
	}{
		{protocol.OpListSeries, make([]byte, 35), protocol.StatusInvalidPayload},
		{protocol.OpSeriesInfo, make([]byte, 33), protocol.StatusInvalidPayload},
		{protocol.OpQueryRange, make([]byte, 60), protocol.StatusInvalidPayload},
		{protocol.OpQueryRange, protocol.EncodeQueryRange(nil, &bad), protocol.StatusInvalidPayload},
		{protocol.OpQueryRange, protocol.EncodeQueryRange(nil, &good), protocol.StatusSeriesNotFound},
		{protocol.OpSeriesInfo, unknown[:], protocol.StatusSeriesNotFound},
		{protocol.OpListSeries, make([]byte, 36), 0},
		// The lenses (E5): the length, then the transform's name, then the lens.
		{protocol.OpCreateLens, make([]byte, 95), protocol.StatusInvalidPayload},
		{protocol.OpCreateLens, make([]byte, 96), protocol.StatusInvalidPayload}, // no transform is named ""
		{protocol.OpQueryLens, make([]byte, 41), protocol.StatusInvalidPayload},
		{protocol.OpQueryLens, make([]byte, 40), protocol.StatusLensNotFound},
		{protocol.OpComposeLens, make([]byte, 96), protocol.StatusLensNotFound},
		{protocol.OpDropLens, unknown[:], protocol.StatusLensNotFound},
		{protocol.OpListLenses, make([]byte, 200), 0},
	}
	for _, c := range cases {
		if got := call(t, nc, br, c.op, c.payload); got != c.want {
			t.Errorf("%v with %d bytes: status %v, want %v", c.op, len(c.payload), got, c.want)
		}
	}
}

func dialFake(t *testing.T, s *Server) (net.Conn, *bufio.Reader) {
	t.Helper()
	nc, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(30 * time.Second))
	return nc, bufio.NewReader(nc)
}

// call sends one request and returns the answer's status: 0 for OK or PONG.
func call(t *testing.T, nc net.Conn, br *bufio.Reader, op protocol.Opcode, payload []byte) protocol.Status {
	t.Helper()
	if _, err := nc.Write(protocol.AppendFrame(nil, op, payload)); err != nil {
		t.Fatal(err)
	}
	var h [protocol.HeaderSize]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		t.Fatal(err)
	}
	hdr, err := protocol.DecodeHeader(&h)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, hdr.Length)
	if _, err := io.ReadFull(br, p); err != nil {
		t.Fatal(err)
	}
	if hdr.Opcode == protocol.OpErr {
		return protocol.Status(p[0])
	}
	return 0
}

// TestAppendBatchLikeTheServer: the fake checks APPEND_BATCH as the server does (E3, R0): the
// length 36 + 16n with n ≥ 1 and the count agreeing, then the series, then the order; a
// refused batch stores nothing and the connection stays open. V1Only answers it bad_opcode.
func TestAppendBatchLikeTheServer(t *testing.T) {
	s := Start(t, nil)
	nc, br := dialFake(t, s)
	if got := call(t, nc, br, protocol.OpAppendBatch, batch(protocol.Label{}, 2, 1, 2)); got != protocol.StatusNotAuthenticated {
		t.Fatalf("APPEND_BATCH before CONNECT: %v", got)
	}
	nc, br = dialFake(t, s)
	if got := call(t, nc, br, protocol.OpConnect, s.Cert[:]); got != 0 {
		t.Fatalf("CONNECT: %v", got)
	}
	l, unknown := protocol.LabelFromString("b"), protocol.LabelFromString("nope")
	if got := call(t, nc, br, protocol.OpCreateSeries, l[:]); got != 0 {
		t.Fatalf("CREATE: %v", got)
	}
	cases := []struct {
		name    string
		payload []byte
		want    protocol.Status
	}{
		{"n = 0", batch(l, 0), protocol.StatusInvalidPayload},
		{"no count", l[:], protocol.StatusInvalidPayload},
		{"count says 3, 2 points", withCount(batch(l, 1, 1, 2), 3), protocol.StatusInvalidPayload},
		{"count says 1, 2 points", withCount(batch(l, 1, 1, 2), 1), protocol.StatusInvalidPayload},
		{"half a point", batch(l, 1, 1)[:protocol.BatchPayloadSize(1)-8], protocol.StatusInvalidPayload},
		{"huge count", withCount(batch(l, 1, 1), 1<<31), protocol.StatusInvalidPayload},
		{"malformed, unknown series", batch(unknown, 0), protocol.StatusInvalidPayload},
		{"unknown series", batch(unknown, 1, 1), protocol.StatusSeriesNotFound},
		{"ok", batch(l, 1, 10, 20), 0},
		{"not after the last", batch(l, 1, 20, 30), protocol.StatusOutOfOrder},
		{"decreasing inside", batch(l, 1, 30, 40, 35), protocol.StatusOutOfOrder},
		{"next", batch(l, 1, 21, 22), 0},
	}
	for _, c := range cases {
		if got := call(t, nc, br, protocol.OpAppendBatch, c.payload); got != c.want {
			t.Errorf("%s: status %v, want %v", c.name, got, c.want)
		}
	}
	s.mu.Lock()
	n := s.series[l].points.Len()
	last, _ := s.series[l].points.LastTimestamp()
	s.mu.Unlock()
	if n != 4 || last != 22 {
		t.Fatalf("the series holds %d points up to %d, want 4 up to 22", n, last)
	}

	v1 := StartWith(t, nil, Options{V1Only: true})
	nc, br = dialFake(t, v1)
	if got := call(t, nc, br, protocol.OpConnect, v1.Cert[:]); got != 0 {
		t.Fatalf("CONNECT: %v", got)
	}
	for _, p := range [][]byte{batch(l, 1, 1), batch(l, 0), batch(l, 1, make([]int64, 100)...)} {
		if got := call(t, nc, br, protocol.OpAppendBatch, p); got != protocol.StatusBadOpcode {
			t.Fatalf("V1Only APPEND_BATCH of %d bytes: %v, want bad_opcode", len(p), got)
		}
	}
}

// batch encodes an APPEND_BATCH payload with the given timestamps, each valued ts × v.
func batch(l protocol.Label, v float64, ts ...int64) []byte {
	p := protocol.AppendBatchHeader(nil, l, len(ts))
	for _, t := range ts {
		p = protocol.AppendBatchPoint(p, t, float64(t)*v)
	}
	return p
}

// withCount replaces the count a payload carries.
func withCount(p []byte, n uint32) []byte {
	p[protocol.LabelSize], p[protocol.LabelSize+1], p[protocol.LabelSize+2], p[protocol.LabelSize+3] =
		byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	return p
}
