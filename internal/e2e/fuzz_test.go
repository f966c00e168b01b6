package e2e

import (
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"net"
	"testing"
	"time"

	"github.com/taudb/tau/internal/auth"
	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/internal/server/servertest"
	"github.com/taudb/tau/pkg/protocol"
)

// FuzzConnection sends arbitrary bytes, after an optional CONNECT, on a connection to one
// long-lived server (R12): every input is answered or closed, and afterwards a fresh
// connection still works and a series written before the fuzzing still reads back exactly.
// The seed corpus runs in `make test`; `go test -fuzz FuzzConnection ./internal/e2e` explores.
func FuzzConnection(f *testing.F) {
	for _, sd := range connectionSeeds() {
		f.Add(sd.authenticate, sd.input)
	}
	fuzzServer := startFuzzServer(f) // one per process: fuzz workers each start their own
	f.Fuzz(func(t *testing.T, authenticate bool, input []byte) {
		nc, err := net.Dial("tcp", fuzzServer.Addr())
		if err != nil {
			t.Fatal(err)
		}
		sendFuzz(t, nc, authenticate, input)
		checkFuzzServer(t, connect(t, fuzzServer.Addr()))
	})
}

// FuzzConnectionTLS is FuzzConnection on a TLS port: the inputs arrive over a TLS connection,
// or (handshake false) raw in place of a handshake. Afterwards a fresh TLS connection still
// works and the kept series reads back exactly.
func FuzzConnectionTLS(f *testing.F) {
	for _, sd := range connectionSeeds() {
		f.Add(true, sd.authenticate, sd.input)
		f.Add(false, sd.authenticate, sd.input)
	}
	hello := clientHello(f)
	f.Add(false, false, hello)
	f.Add(false, false, hello[:len(hello)/2])
	f.Add(false, false, append(hello[:len(hello):len(hello)], "TAU"...))
	srv := startTLS(f, false, func(c *config.Config) { c.MaxPayloadBytes = 4096 })
	keepFuzzSeries(dialTLS(f, srv.Addr(), srv.client()))
	f.Fuzz(func(t *testing.T, handshake, authenticate bool, input []byte) {
		var nc net.Conn
		var err error
		if handshake {
			nc, err = tryDialTLS(srv.Addr(), srv.client())
		} else {
			nc, err = net.Dial("tcp", srv.Addr())
		}
		if err != nil {
			t.Fatal(err)
		}
		sendFuzz(t, nc, authenticate && handshake, input)
		c := dialTLS(t, srv.Addr(), srv.client())
		c.expect(c.call(protocol.OpConnect, auth.DevCertificate[:]), okAnswer)
		checkFuzzServer(t, c)
	})
}

// seed is one input of the seed corpus.
type seed struct {
	authenticate bool
	input        []byte
}

// connectionSeeds are the seed corpus of both connection fuzzers.
func connectionSeeds() []seed {
	var seeds []seed
	f := seedAdder{&seeds}
	frame := protocol.AppendFrame
	l := label("fuzz")
	f.Add(true, frame(nil, protocol.OpPing, nil))
	f.Add(false, frame(nil, protocol.OpPing, nil))
	f.Add(true, frame(frame(nil, protocol.OpCreateSeries, series(l)), protocol.OpAppend, appendP(l, 1, 1)))
	f.Add(true, frame(nil, protocol.OpDropSeries, series(label("other"))))
	// The lens family (E5): a short CREATE_LENS, lenses made, composed, queried, listed with a
	// payload and dropped, an unknown transform, and a COMPOSE_LENS of lenses never made.
	f.Add(true, frame(nil, protocol.OpCreateLens, []byte("lens")))
	lens, other := label("fuzz.lens"), label("fuzz.other")
	made := frame(frame(nil, protocol.OpCreateLens, createLensP(lens, fuzzKept, "returns")),
		protocol.OpCreateLens, createLensP(other, l, "celsius_to_kelvin"))
	f.Add(true, frame(frame(frame(frame(made, protocol.OpComposeLens, composeLensP(label("fuzz.both"), other, lens)),
		protocol.OpQueryLens, queryP(lens, 7)), protocol.OpListLenses, []byte("any")), protocol.OpDropLens, series(lens)))
	f.Add(true, frame(nil, protocol.OpCreateLens, createLensP(lens, fuzzKept, "log_return\x00x")))
	f.Add(true, frame(nil, protocol.OpComposeLens, composeLensP(lens, label("never"), label("made"))))
	f.Add(false, frame(nil, protocol.OpListLenses, nil))
	f.Add(true, protocol.AppendHeader(nil, protocol.OpAppend, 0xFFFFFFFF))
	f.Add(false, []byte("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add(true, []byte{'T', 'A', 'U', 1, 0x20, 0, 0, 0, 0, 48, 1, 2, 3})
	// The read extensions (E1, E2, E4): well-formed, malformed fields, and wrong lengths.
	f.Add(true, frame(nil, protocol.OpListSeries, listP(protocol.Label{}, 0)))
	f.Add(true, frame(frame(nil, protocol.OpSeriesInfo, series(fuzzKept)), protocol.OpSeriesInfo, make([]byte, 31)))
	f.Add(true, frame(nil, protocol.OpQueryRange, rangeP(fuzzKept, math.MinInt64, math.MaxInt64, 0, protocol.AggRaw, 0)))
	f.Add(true, frame(nil, protocol.OpQueryRange, rangeP(fuzzKept, -100, 100, 1, protocol.AggAvg, 3)))
	f.Add(true, frame(frame(nil, protocol.OpQueryRange, rangeP(l, 0, 10, 0, 9, 1)), protocol.OpQueryRange, make([]byte, 60)))
	f.Add(false, frame(nil, protocol.OpQueryRange, rangeP(fuzzKept, 0, 10, 0, protocol.AggRaw, 0)))
	// APPEND_BATCH (E3): valid, n = 0, lengths that are no 36 + 16n, a count that disagrees
	// with the length, a huge count, over the server's 4096-byte limit, and out of order on the
	// kept series (refused whole, so it still reads back).
	pts := []bpt{{-5, math.Float64bits(1)}, {0, 0x7ff8000000000001}, {5, 1 << 63}}
	f.Add(true, frame(frame(nil, protocol.OpCreateSeries, series(l)), protocol.OpAppendBatch, batchP(l, pts...)))
	f.Add(true, frame(nil, protocol.OpAppendBatch, batchP(l)))
	f.Add(true, frame(frame(nil, protocol.OpAppendBatch, batchP(l, pts...)[:protocol.BatchPayloadSize(3)-1]), protocol.OpPing, nil))
	f.Add(true, frame(nil, protocol.OpAppendBatch, batchP(l, pts...)[:protocol.BatchHeaderSize-1]))
	f.Add(true, frame(nil, protocol.OpAppendBatch, withCount(batchP(l, pts...), 2)))
	f.Add(true, frame(frame(nil, protocol.OpAppendBatch, withCount(batchP(l, pts[:1]...), math.MaxUint32)), protocol.OpPing, nil))
	f.Add(true, protocol.AppendHeader(nil, protocol.OpAppendBatch, math.MaxUint32))
	f.Add(true, frame(nil, protocol.OpAppendBatch, batchP(l, make([]bpt, (4096-protocol.BatchHeaderSize)/protocol.BatchPointSize+1)...)))
	f.Add(true, frame(nil, protocol.OpAppendBatch, batchP(fuzzKept, bpt{7, 0}, bpt{8, 0})))
	f.Add(false, frame(nil, protocol.OpAppendBatch, batchP(fuzzKept, bpt{8, 0})))
	return seeds
}

// seedAdder collects seeds with the f.Add of a fuzz target.
type seedAdder struct{ seeds *[]seed }

func (a seedAdder) Add(authenticate bool, input []byte) {
	*a.seeds = append(*a.seeds, seed{authenticate, input})
}

// sendFuzz writes input (after a CONNECT when authenticate) and half-closes, then reads until
// the server closes: every input is answered or closed within 10 s.
func sendFuzz(t *testing.T, nc net.Conn, authenticate bool, input []byte) {
	t.Helper()
	defer func() { _ = nc.Close() }()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	if authenticate {
		input = append(protocol.AppendFrame(nil, protocol.OpConnect, auth.DevCertificate[:]), input...)
	}
	if _, err := nc.Write(input); err != nil {
		return // the server may close first (e.g. bad magic): that is an answer too
	}
	switch c := nc.(type) {
	case *net.TCPConn:
		_ = c.CloseWrite()
	case *tls.Conn:
		_ = c.CloseWrite()
	}
	if _, err := io.Copy(io.Discard, nc); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("server neither answered nor closed within 10 s")
		}
	}
}

// checkFuzzServer checks, on an authenticated connection, that the server answers and the
// kept series reads back exactly.
func checkFuzzServer(t *testing.T, c *rawConn) {
	t.Helper()
	c.expectOpen()
	c.expect(c.call(protocol.OpQueryPoint, queryP(fuzzKept, 7)), foundAnswer(0.5))
	if more, got := c.queryRange(fuzzKept, math.MinInt64, math.MaxInt64, 0, protocol.AggRaw, 0); more || len(got) != 1 {
		t.Fatalf("the kept series reads back %v", got)
	}
}

// fuzzKept is a series written before the fuzzing; its label is random bytes an input will not
// guess, so it must read back unchanged whatever the inputs do.
var fuzzKept = protocol.Label{0x9c, 0x11, 0xe7, 0x42, 0x05, 0xd8, 0x7a, 0x33, 0xf1, 0x6e, 0x28, 0xb4,
	0x0f, 0xc9, 0x57, 0x81, 0x3d, 0xaa, 0x64, 0x1b, 0xe2, 0x90, 0x4f, 0x76, 0x08, 0xcd, 0x35, 0xbe,
	0x59, 0x13, 0xf6, 0x2a}

// startFuzzServer runs the shared server (stopped when the fuzz target ends) with the series
// the inputs must not disturb.
func startFuzzServer(f *testing.F) *servertest.Server {
	srv := start(f, func(c *config.Config) { c.MaxPayloadBytes = 4096 })
	keepFuzzSeries(dial(f, srv.Addr()))
	return srv
}

// keepFuzzSeries writes the series the inputs must not disturb, over c (not yet connected).
func keepFuzzSeries(c *rawConn) {
	c.expect(c.call(protocol.OpConnect, auth.DevCertificate[:]), okAnswer)
	c.expect(c.call(protocol.OpCreateSeries, series(fuzzKept)), okAnswer)
	c.expect(c.call(protocol.OpAppend, appendP(fuzzKept, 7, 0.5)), okAnswer)
}

// withCount replaces the count an APPEND_BATCH payload carries.
func withCount(p []byte, n uint32) []byte {
	binary.BigEndian.PutUint32(p[protocol.LabelSize:], n)
	return p
}
