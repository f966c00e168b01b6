package e2e

import (
	"bytes"
	"math"
	"math/rand"
	"testing"

	"github.com/taudb/tau/internal/auth"
	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/pkg/protocol"
)

func TestR0_OrderOfChecks(t *testing.T) {
	srv := start(t, func(c *config.Config) { c.MaxPayloadBytes = config.MinPayloadBytes })
	hdr := func(magic string, version byte, op protocol.Opcode, n uint32) []byte {
		b := protocol.AppendHeader(nil, op, n)
		copy(b, magic)
		b[3] = version
		return b
	}
	cases := []struct {
		name   string
		authed bool
		frame  []byte
		want   answer
		closes bool
	}{
		{"magic before version", false, hdr("XAU", 9, 0x77, 1000), errAnswer(protocol.StatusBadMagic), true},
		{"version before length", false, hdr("TAU", 9, 0x77, 1000), errAnswer(protocol.StatusBadVersion), true},
		{"length limit before auth", false, hdr("TAU", 1, protocol.OpAppend, config.MinPayloadBytes+1), errAnswer(protocol.StatusPayloadTooLarge), true},
		{"auth before opcode", false, protocol.AppendFrame(nil, 0x77, nil), errAnswer(protocol.StatusNotAuthenticated), true},
		{"auth before length", false, protocol.AppendFrame(nil, protocol.OpAppend, []byte{1}), errAnswer(protocol.StatusNotAuthenticated), true},
		{"opcode before length", true, protocol.AppendFrame(nil, 0x77, make([]byte, 5)), errAnswer(protocol.StatusBadOpcode), false},
		{"length before operation", true, protocol.AppendFrame(nil, protocol.OpDropSeries, make([]byte, 31)), errAnswer(protocol.StatusInvalidPayload), false},
		{"operation last", true, protocol.AppendFrame(nil, protocol.OpDropSeries, make([]byte, 32)), errAnswer(protocol.StatusSeriesNotFound), false},
		{"server-only opcode after auth", true, protocol.AppendFrame(nil, protocol.OpOK, nil), errAnswer(protocol.StatusBadOpcode), false},
		// The extensions keep the same order (docs/protocol.md, "Extensions").
		{"extension: auth before length", false, protocol.AppendFrame(nil, protocol.OpQueryRange, make([]byte, 3)), errAnswer(protocol.StatusNotAuthenticated), true},
		{"extension: auth before operation", false, protocol.AppendFrame(nil, protocol.OpListSeries, make([]byte, 36)), errAnswer(protocol.StatusNotAuthenticated), true},
		{"extension: length before operation", true, protocol.AppendFrame(nil, protocol.OpSeriesInfo, make([]byte, 33)), errAnswer(protocol.StatusInvalidPayload), false},
		{"extension: fields before operation", true, protocol.AppendFrame(nil, protocol.OpQueryRange, rangeP(label("nope"), 0, 10, 0, 9, 1)), errAnswer(protocol.StatusInvalidPayload), false},
		{"extension: operation last", true, protocol.AppendFrame(nil, protocol.OpQueryRange, rangeP(label("nope"), 0, 10, 0, 0, 0)), errAnswer(protocol.StatusSeriesNotFound), false},
		{"lens: auth before length", false, protocol.AppendFrame(nil, protocol.OpCreateLens, make([]byte, 95)), errAnswer(protocol.StatusNotAuthenticated), true},
		{"lens: length before operation", true, protocol.AppendFrame(nil, protocol.OpQueryLens, queryP(label("nope"), 0)[:39]), errAnswer(protocol.StatusInvalidPayload), false},
		{"lens: fields before operation", true, protocol.AppendFrame(nil, protocol.OpCreateLens, createLensP(label("l"), label("s"), "nope")), errAnswer(protocol.StatusInvalidPayload), false},
		{"lens: operation last", true, protocol.AppendFrame(nil, protocol.OpQueryLens, queryP(label("nope"), 0)), errAnswer(protocol.StatusLensNotFound), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, srv.Addr())
			if tc.authed {
				c.expect(c.call(protocol.OpConnect, auth.DevCertificate[:]), okAnswer)
			}
			c.sendRaw(tc.frame)
			c.expect(c.read(), tc.want)
			if tc.closes {
				c.expectClosed()
			} else {
				c.expectOpen()
			}
		})
	}
}

func TestR1_PipelinedAnswersInOrder(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	l := label("pipeline")
	const n = 2000
	var batch []byte
	batch = protocol.AppendFrame(batch, protocol.OpCreateSeries, series(l))
	for i := 0; i < n; i++ {
		batch = protocol.AppendFrame(batch, protocol.OpAppend, appendP(l, int64(i), float64(i)))
		batch = protocol.AppendFrame(batch, protocol.OpQueryPoint, queryP(l, int64(i)))
		batch = protocol.AppendFrame(batch, protocol.OpPing, nil)
	}
	c.sendAsync(batch) // the server's window fills and TCP pushes back; read meanwhile
	c.expect(c.read(), okAnswer)
	for i := 0; i < n; i++ {
		c.expect(c.read(), okAnswer)
		c.expect(c.read(), foundAnswer(float64(i)))
		c.expect(c.read(), pongAnswer)
	}
}

func TestR1_OwnPipeliningNeverBusy(t *testing.T) {
	// A mailbox smaller than the window: the connection's window shrinks to it, so one client
	// pipelining to one series is slowed by TCP, never refused.
	srv := start(t, func(c *config.Config) { c.MailboxCapacity = 2; c.ActorPoolSize = 1 })
	c := connect(t, srv.Addr())
	l := label("hot")
	c.expect(c.call(protocol.OpCreateSeries, series(l)), okAnswer)
	const n = 5000
	var batch []byte
	for i := 0; i < n; i++ {
		batch = protocol.AppendFrame(batch, protocol.OpAppend, appendP(l, int64(i), 1))
	}
	c.sendAsync(batch)
	for i := 0; i < n; i++ {
		c.expect(c.read(), okAnswer)
	}
}

func TestR2_FramingErrorsCloseWithoutReadingPayload(t *testing.T) {
	srv := start(t, func(c *config.Config) { c.MaxPayloadBytes = 100 })
	cases := []struct {
		name  string
		frame []byte
		want  protocol.Status
	}{
		{"bad magic", []byte("GET / HTTP/1.1\r\n"), protocol.StatusBadMagic},
		{"bad version", []byte{'T', 'A', 'U', 2, 1, 0, 0, 0, 0, 32}, protocol.StatusBadVersion},
		// The header promises 4 GiB that never come: the answer must not wait for them.
		{"payload too large", protocol.AppendHeader(nil, protocol.OpPing, math.MaxUint32), protocol.StatusPayloadTooLarge},
		{"one over the limit", protocol.AppendHeader(nil, protocol.OpPing, 101), protocol.StatusPayloadTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, authed := range []bool{false, true} {
				c := dial(t, srv.Addr())
				if authed {
					c.expect(c.call(protocol.OpConnect, auth.DevCertificate[:]), okAnswer)
				}
				c.sendRaw(tc.frame)
				c.expect(c.read(), errAnswer(tc.want))
				c.expectClosed()
			}
		})
	}
	t.Run("at the limit is accepted", func(t *testing.T) {
		c := connect(t, srv.Addr())
		c.expect(c.call(protocol.OpPing, make([]byte, 100)), pongAnswer)
	})
}

func TestR3_UnknownOpcodesKeepConnection(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	var unknown []protocol.Opcode
	for op := 0; op < 256; op++ {
		if !protocol.Opcode(op).IsRequest() {
			unknown = append(unknown, protocol.Opcode(op))
		}
	}
	// The server-only opcodes are unknown to a client's request, and so are the families'
	// unassigned codes around the lenses.
	for _, reserved := range []protocol.Opcode{0x3F, 0x45, 0x4F, protocol.OpPong, protocol.OpOK, protocol.OpErr} {
		if reserved.IsRequest() {
			t.Fatalf("reserved opcode 0x%02x treated as known", byte(reserved))
		}
	}
	for _, op := range unknown {
		// The payload is read and discarded: a valid-looking PING hidden in it must not run.
		c.expect(c.call(op, protocol.AppendFrame(nil, protocol.OpPing, nil)), errAnswer(protocol.StatusBadOpcode))
	}
	c.expectOpen()
}

func TestR4_PayloadLengthsAreExact(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	sizes := map[protocol.Opcode]int{protocol.OpConnect: 32, protocol.OpCreateSeries: 32,
		protocol.OpDropSeries: 32, protocol.OpAppend: 48, protocol.OpQueryPoint: 40,
		protocol.OpListSeries: 36, protocol.OpSeriesInfo: 32, protocol.OpQueryRange: 61,
		protocol.OpCreateLens: 96, protocol.OpDropLens: 32, protocol.OpQueryLens: 40, protocol.OpComposeLens: 96}
	for op, size := range sizes {
		for _, n := range []int{0, 1, size - 1, size + 1, 2 * size, 1000} {
			c.expect(c.call(op, make([]byte, n)), errAnswer(protocol.StatusInvalidPayload))
		}
	}
	c.expectOpen()
	// PING, LIST_LENSES and DISCONNECT ignore any payload.
	c.expect(c.call(protocol.OpPing, []byte("ignored")), pongAnswer)
	c.expect(c.call(protocol.OpListLenses, make([]byte, 1000)), okAnswer)
	c.expect(c.call(protocol.OpDisconnect, []byte("ignored")), okAnswer)
	c.expectClosed()
}

func TestR5_Authentication(t *testing.T) {
	srv := start(t)
	wrong := bytes.Repeat([]byte{0xEE}, 32)
	t.Run("requests before CONNECT are refused and close", func(t *testing.T) {
		for _, op := range []protocol.Opcode{protocol.OpPing, protocol.OpCreateSeries, protocol.OpAppend, protocol.OpQueryPoint, protocol.OpDropSeries,
			protocol.OpListSeries, protocol.OpSeriesInfo, protocol.OpQueryRange} {
			c := dial(t, srv.Addr())
			c.expect(c.call(op, make([]byte, op.PayloadSize()+1)), errAnswer(protocol.StatusNotAuthenticated))
			c.expectClosed()
		}
	})
	t.Run("DISCONNECT before CONNECT", func(t *testing.T) {
		c := dial(t, srv.Addr())
		c.expect(c.call(protocol.OpDisconnect, nil), okAnswer)
		c.expectClosed()
	})
	t.Run("wrong certificate closes", func(t *testing.T) {
		c := dial(t, srv.Addr())
		c.expect(c.call(protocol.OpConnect, wrong), errAnswer(protocol.StatusAuthFailed))
		c.expectClosed()
	})
	t.Run("certificate differing in the last byte", func(t *testing.T) {
		near := append([]byte{}, auth.DevCertificate[:]...)
		near[31] ^= 1
		c := dial(t, srv.Addr())
		c.expect(c.call(protocol.OpConnect, near), errAnswer(protocol.StatusAuthFailed))
		c.expectClosed()
	})
	t.Run("re-CONNECT checks again", func(t *testing.T) {
		c := connect(t, srv.Addr())
		c.expect(c.call(protocol.OpConnect, auth.DevCertificate[:]), okAnswer)
		c.expectOpen()
		c.expect(c.call(protocol.OpConnect, wrong), errAnswer(protocol.StatusAuthFailed))
		c.expectClosed()
	})
}

func TestR6_LabelsAreOpaque(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	var zero, ones, slash, dots, lastByte protocol.Label
	for i := range ones {
		ones[i] = 0xFF
	}
	copy(slash[:], "/etc/passwd")
	copy(dots[:], "../../..")
	lastByte[31] = 1
	labels := []protocol.Label{zero, ones, slash, dots, lastByte, label("cpu"), label("cpu\x00x")}
	for i, l := range labels {
		c.expect(c.call(protocol.OpCreateSeries, series(l)), okAnswer)
		c.expect(c.call(protocol.OpAppend, appendP(l, 1, float64(i))), okAnswer)
	}
	for i, l := range labels {
		c.expect(c.call(protocol.OpQueryPoint, queryP(l, 1)), foundAnswer(float64(i)))
	}
}

func TestR7_TimestampsStrictlyIncreasing(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	l := label("r7")
	c.expect(c.call(protocol.OpCreateSeries, series(l)), okAnswer)
	steps := []struct {
		ts   int64
		want answer
	}{
		{math.MinInt64, okAnswer},
		{-5, okAnswer},
		{-5, errAnswer(protocol.StatusOutOfOrder)},
		{-6, errAnswer(protocol.StatusOutOfOrder)},
		{0, okAnswer},
		{math.MaxInt64 - 1, okAnswer},
		{7, errAnswer(protocol.StatusOutOfOrder)},
		{math.MaxInt64, okAnswer},
	}
	for i, s := range steps {
		c.expect(c.call(protocol.OpAppend, appendP(l, s.ts, float64(i))), s.want)
	}
	// Refused points were not stored: the first value at -5 stays.
	c.expect(c.call(protocol.OpQueryPoint, queryP(l, -5)), foundAnswer(1))
	c.expect(c.call(protocol.OpQueryPoint, queryP(l, -6)), notFoundAnswer)
	c.expect(c.call(protocol.OpQueryPoint, queryP(l, 7)), notFoundAnswer)
	c.expect(c.call(protocol.OpQueryPoint, queryP(l, math.MinInt64)), foundAnswer(0))
	c.expect(c.call(protocol.OpQueryPoint, queryP(l, math.MaxInt64)), foundAnswer(7))
}

func TestR8_QueryPointExactAndBitExact(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	l := label("r8")
	c.expect(c.call(protocol.OpCreateSeries, series(l)), okAnswer)
	values := []uint64{
		math.Float64bits(math.Copysign(0, -1)), math.Float64bits(math.Inf(1)), math.Float64bits(math.Inf(-1)),
		0x7FF8000000000001, 0xFFF4000000C0FFEE, 1, math.Float64bits(math.MaxFloat64), math.Float64bits(3.25),
	}
	for i, bits := range values {
		c.expect(c.call(protocol.OpAppend, appendBits(l, int64(10*i), bits)), okAnswer)
	}
	for i, bits := range values {
		got := c.call(protocol.OpQueryPoint, queryP(l, int64(10*i)))
		want := answer{protocol.OpOK, protocol.AppendQueryAnswer(nil, true, bits)[protocol.HeaderSize:]}
		c.expect(got, want)
		c.expect(c.call(protocol.OpQueryPoint, queryP(l, int64(10*i+1))), notFoundAnswer)
	}
	c.expect(c.call(protocol.OpQueryPoint, queryP(label("nope"), 0)), errAnswer(protocol.StatusSeriesNotFound))
}

func TestR9_CreateAndDrop(t *testing.T) {
	srv := start(t, func(c *config.Config) { c.CatalogCapacity = 2 })
	c := connect(t, srv.Addr())
	a, b, x := label("a"), label("b"), label("x")
	c.expect(c.call(protocol.OpCreateSeries, series(a)), okAnswer)
	c.expect(c.call(protocol.OpCreateSeries, series(a)), errAnswer(protocol.StatusSeriesAlreadyExists))
	c.expect(c.call(protocol.OpCreateSeries, series(b)), okAnswer)
	// Full: an existing label is still series_already_exists, a new one internal_error.
	c.expect(c.call(protocol.OpCreateSeries, series(a)), errAnswer(protocol.StatusSeriesAlreadyExists))
	c.expect(c.call(protocol.OpCreateSeries, series(x)), errAnswer(protocol.StatusInternalError))
	c.expect(c.call(protocol.OpAppend, appendP(a, 1, 1)), okAnswer)
	c.expect(c.call(protocol.OpDropSeries, series(a)), okAnswer)
	c.expect(c.call(protocol.OpDropSeries, series(a)), errAnswer(protocol.StatusSeriesNotFound))
	c.expect(c.call(protocol.OpAppend, appendP(a, 2, 1)), errAnswer(protocol.StatusSeriesNotFound))
	// The slot is free again, and the recreated series starts empty.
	c.expect(c.call(protocol.OpCreateSeries, series(x)), okAnswer)
	c.expect(c.call(protocol.OpDropSeries, series(x)), okAnswer)
	c.expect(c.call(protocol.OpCreateSeries, series(a)), okAnswer)
	c.expect(c.call(protocol.OpQueryPoint, queryP(a, 1)), notFoundAnswer)
	c.expect(c.call(protocol.OpAppend, appendP(a, 1, 2)), okAnswer)
	c.expect(c.call(protocol.OpQueryPoint, queryP(a, 1)), foundAnswer(2))
}

// TestR1_PipelinedErrorsAreFlushed pipelines valid requests with ones refused before any
// operation (unknown opcode, wrong length) in a single write: every answer arrives, the last
// ones too, without the client sending anything more.
func TestR1_PipelinedErrorsAreFlushed(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	var b []byte
	b = protocol.AppendFrame(b, protocol.OpPing, nil)
	b = protocol.AppendFrame(b, 0x77, nil)
	b = protocol.AppendFrame(b, protocol.OpPing, nil)
	b = protocol.AppendFrame(b, protocol.OpAppend, []byte{1})
	c.sendRaw(b)
	c.expect(c.read(), pongAnswer)
	c.expect(c.read(), errAnswer(protocol.StatusBadOpcode))
	c.expect(c.read(), pongAnswer)
	c.expect(c.read(), errAnswer(protocol.StatusInvalidPayload))
}

// TestR1_RandomPipelinedMix sends random batches mixing valid requests with ones refused
// before dispatch, each batch in one write, and checks every answer against a model, in order
// and without the client sending anything more (so no answer may be held back).
func TestR1_RandomPipelinedMix(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	l := label("mix")
	c.expect(c.call(protocol.OpCreateSeries, series(l)), okAnswer)
	rng := rand.New(rand.NewSource(1))
	unknown := []protocol.Opcode{0x00, 0x05, 0x14, 0x22, 0x32, 0x45, 0x4F, protocol.OpPong, protocol.OpOK, protocol.OpErr, 0xEE}
	ts := int64(0)
	for round := 0; round < 50; round++ {
		var b []byte
		var want []answer
		for i := 0; i < 1+rng.Intn(60); i++ {
			switch rng.Intn(5) {
			case 0:
				b = protocol.AppendFrame(b, protocol.OpPing, make([]byte, rng.Intn(8)))
				want = append(want, pongAnswer)
			case 1:
				b = protocol.AppendFrame(b, unknown[rng.Intn(len(unknown))], make([]byte, rng.Intn(100)))
				want = append(want, errAnswer(protocol.StatusBadOpcode))
			case 2:
				b = protocol.AppendFrame(b, protocol.OpAppend, make([]byte, rng.Intn(48)))
				want = append(want, errAnswer(protocol.StatusInvalidPayload))
			case 3:
				ts++
				b = protocol.AppendFrame(b, protocol.OpAppend, appendP(l, ts, float64(ts)))
				want = append(want, okAnswer)
			case 4:
				b = protocol.AppendFrame(b, protocol.OpQueryPoint, queryP(l, ts))
				if ts == 0 {
					want = append(want, notFoundAnswer)
				} else {
					want = append(want, foundAnswer(float64(ts)))
				}
			}
		}
		c.sendRaw(b)
		for _, w := range want {
			c.expect(c.read(), w)
		}
	}
}
