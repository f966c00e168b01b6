package e2e

import (
	"fmt"
	"math/rand"
	"sync"
	"testing"

	"github.com/taudb/tau/internal/auth"
	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/pkg/protocol"
)

// TestR12_GarbageNeverHurtsOthers runs well-behaved clients beside connections sending random
// bytes and random well-formed-but-wrong frames; the good clients see every answer right.
func TestR12_GarbageNeverHurtsOthers(t *testing.T) {
	srv := start(t, func(c *config.Config) { c.MaxPayloadBytes = 4096 })
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			abuse(t, srv.Addr(), rand.New(rand.NewSource(seed)))
		}(int64(g))
	}
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := connect(t, srv.Addr())
			l := label(fmt.Sprintf("good-%d", w))
			c.expect(c.call(protocol.OpCreateSeries, series(l)), okAnswer)
			for i := 0; i < 300; i++ {
				c.expect(c.call(protocol.OpAppend, appendP(l, int64(i), float64(i)/3)), okAnswer)
				c.expect(c.call(protocol.OpQueryPoint, queryP(l, int64(i))), foundAnswer(float64(i)/3))
			}
		}(w)
	}
	wg.Wait()
	connect(t, srv.Addr()).expectOpen()
}

// abuse sends 200 connections' worth of hostile input, authenticated or not.
func abuse(t *testing.T, addr string, rng *rand.Rand) {
	for i := 0; i < 25; i++ {
		c := dial(t, addr)
		if rng.Intn(2) == 0 {
			c.send(protocol.OpConnect, auth.DevCertificate[:])
		}
		var b []byte
		for j := 0; j < 20; j++ {
			switch rng.Intn(3) {
			case 0: // random bytes
				junk := make([]byte, rng.Intn(64))
				rng.Read(junk)
				b = append(b, junk...)
			case 1: // a well-formed frame with a random opcode and payload
				p := make([]byte, rng.Intn(60))
				rng.Read(p)
				b = protocol.AppendFrame(b, protocol.Opcode(rng.Intn(256)), p)
			case 2: // a valid request on a random (mostly absent) series
				l := label(fmt.Sprintf("s%d", rng.Intn(4)))
				b = protocol.AppendFrame(b, protocol.OpAppend, appendP(l, rng.Int63(), rng.NormFloat64()))
			}
		}
		_, _ = c.nc.Write(b)
		_ = c.nc.Close()
	}
}

// TestStatusCodes produces every status code the server sends and checks its number.
func TestStatusCodes(t *testing.T) {
	srv := start(t, func(c *config.Config) { c.CatalogCapacity = 1; c.MaxPayloadBytes = config.MinPayloadBytes })
	setup := connect(t, srv.Addr())
	l := label("full")
	setup.expect(setup.call(protocol.OpCreateSeries, series(l)), okAnswer)
	setup.expect(setup.call(protocol.OpAppend, appendP(l, 10, 1)), okAnswer)
	setup.expect(setup.call(protocol.OpCreateLens, createLensP(l, l, "identity")), okAnswer)
	cases := []struct {
		code   byte
		authed bool
		frame  []byte
	}{
		{0x01, false, []byte("HELLO WORLD")},
		{0x02, false, []byte{'T', 'A', 'U', 0x7F, 1, 0, 0, 0, 0, 0}},
		{0x03, true, protocol.AppendFrame(nil, 0x45, nil)},
		{0x04, true, protocol.AppendHeader(nil, protocol.OpPing, config.MinPayloadBytes+1)},
		{0x05, false, protocol.AppendFrame(nil, protocol.OpPing, nil)},
		{0x06, false, protocol.AppendFrame(nil, protocol.OpConnect, make([]byte, 32))},
		{0x07, true, protocol.AppendFrame(nil, protocol.OpQueryPoint, queryP(label("none"), 0))},
		{0x08, true, protocol.AppendFrame(nil, protocol.OpCreateSeries, series(l))},
		{0x09, true, protocol.AppendFrame(nil, protocol.OpAppend, make([]byte, 40))},
		{0x0A, true, protocol.AppendFrame(nil, protocol.OpCreateSeries, series(label("second")))},
		{0x0B, true, protocol.AppendFrame(nil, protocol.OpAppend, appendP(l, 10, 2))},
		{0x0C, true, protocol.AppendFrame(nil, protocol.OpQueryLens, queryP(label("none"), 0))},
		{0x0D, true, protocol.AppendFrame(nil, protocol.OpCreateLens, createLensP(l, l, "returns"))},
	}
	for _, tc := range cases {
		t.Run(protocol.Status(tc.code).String(), func(t *testing.T) {
			c := dial(t, srv.Addr())
			if tc.authed {
				c.expect(c.call(protocol.OpConnect, auth.DevCertificate[:]), okAnswer)
			}
			c.sendRaw(tc.frame)
			c.expect(c.read(), answer{protocol.OpErr, []byte{tc.code}})
		})
	}
	// 0x0E busy is proved by TestR10_FullMailboxIsBusy and TestR10_ConnectionLimit.
}
