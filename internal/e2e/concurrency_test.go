package e2e

import (
	"fmt"
	"sync"
	"testing"

	"github.com/taudb/tau/pkg/protocol"
)

// TestConcurrentSeries runs 64 connections, each on its own series, pipelining appends and
// queries; every answer is checked.
func TestConcurrentSeries(t *testing.T) {
	srv := start(t)
	const conns, points = 64, 400
	var wg sync.WaitGroup
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := connect(t, srv.Addr())
			l := label(fmt.Sprintf("series-%02d", w))
			var b []byte
			b = protocol.AppendFrame(b, protocol.OpCreateSeries, series(l))
			for i := 0; i < points; i++ {
				b = protocol.AppendFrame(b, protocol.OpAppend, appendP(l, int64(i), float64(w*points+i)))
			}
			for i := 0; i < points; i++ {
				b = protocol.AppendFrame(b, protocol.OpQueryPoint, queryP(l, int64(i)))
			}
			c.sendAsync(b)
			c.expect(c.read(), okAnswer)
			for i := 0; i < points; i++ {
				c.expect(c.read(), okAnswer)
			}
			for i := 0; i < points; i++ {
				c.expect(c.read(), foundAnswer(float64(w*points+i)))
			}
		}(w)
	}
	wg.Wait()
}

// TestHotSeries runs 64 connections on one series. Each appends timestamps of its own residue
// class, so order conflicts are real: every answer is OK, out_of_order or busy, and afterwards
// each OK'd point reads back with its value and nothing refused is there.
func TestHotSeries(t *testing.T) {
	srv := start(t)
	const conns, points = 64, 200
	l := label("hot")
	admin := connect(t, srv.Addr())
	admin.expect(admin.call(protocol.OpCreateSeries, series(l)), okAnswer)
	accepted := make([][]bool, conns)
	var wg sync.WaitGroup
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := connect(t, srv.Addr())
			accepted[w] = make([]bool, points)
			for i := 0; i < points; i++ {
				got := c.call(protocol.OpAppend, appendP(l, int64(i*conns+w), float64(w)))
				switch {
				case got.op == protocol.OpOK && len(got.payload) == 0:
					accepted[w][i] = true
				case got.op == protocol.OpErr && len(got.payload) == 1 &&
					(got.payload[0] == byte(protocol.StatusOutOfOrder) || got.payload[0] == byte(protocol.StatusBusy)):
				default:
					t.Errorf("unexpected answer %v", got)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	total := 0
	for w := 0; w < conns; w++ {
		for i := 0; i < points; i++ {
			got := admin.call(protocol.OpQueryPoint, queryP(l, int64(i*conns+w)))
			if accepted[w][i] {
				total++
				admin.expect(got, foundAnswer(float64(w)))
			} else {
				admin.expect(got, notFoundAnswer)
			}
		}
	}
	if total == 0 {
		t.Fatal("no append was accepted")
	}
}
