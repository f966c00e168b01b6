package e2e

import (
	"fmt"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/taudb/tau/internal/auth"
	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/internal/engine"
	"github.com/taudb/tau/internal/server"
	"github.com/taudb/tau/internal/server/servertest"
	"github.com/taudb/tau/pkg/protocol"
)

// liveHeap is the heap in use after a full collection: what the process holds, not garbage.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// gaugeValue reads one gauge or counter of the server's registry.
func gaugeValue(t *testing.T, srv *servertest.Server, name string) float64 {
	t.Helper()
	m := family(t, srv, name).GetMetric()[0]
	if m.GetGauge() != nil {
		return m.GetGauge().GetValue()
	}
	return m.GetCounter().GetValue()
}

// counterSum is the sum of a counter's samples over all its label values.
func counterSum(t *testing.T, srv *servertest.Server, name string) float64 {
	t.Helper()
	var sum float64
	for _, m := range family(t, srv, name).GetMetric() {
		sum += m.GetCounter().GetValue()
	}
	return sum
}

// family is the metric family name of the server's registry.
func family(t *testing.T, srv *servertest.Server, name string) *dto.MetricFamily {
	t.Helper()
	mfs, err := srv.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf
		}
	}
	t.Fatalf("no metric %s", name)
	return nil
}

// TestE3_PayloadMemoryBounded: 1,000 connections each send a maximum-size APPEND_BATCH header
// and trickle its payload; the points the server holds stay within its payload budget (a
// heap measurement, not a timing), the connections past the budget wait without being read,
// and another client's PING, APPEND and QUERY_POINT are answered meanwhile. At the defaults:
// 1 MiB payloads (TAU_MAX_PAYLOAD_BYTES) and the default 64 MiB budget; without the budget
// the server would hold 1,000 × 1 MiB here.
func TestE3_PayloadMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 connections")
	}
	const (
		conns      = 1000
		maxPayload = 1 << 20 // TAU_MAX_PAYLOAD_BYTES by default
		budget     = 64 << 20
		allowance  = 16 << 20 // heap noise: goroutines, buffers of the side client, GC timing
	)
	srv := servertest.StartWith(t, server.Options{Store: engine.MemoryStore()}, func(c *config.Config) {
		c.ConnectionTimeout = time.Minute
	})
	side := connect(t, srv.Addr())
	l := label("trickle")
	side.expect(side.call(protocol.OpCreateSeries, series(l)), okAnswer)

	n := (maxPayload - protocol.BatchHeaderSize) / protocol.BatchPointSize
	head := protocol.AppendHeader(nil, protocol.OpAppendBatch, uint32(protocol.BatchPayloadSize(n)))
	head = protocol.AppendBatchHeader(head, l, n)
	var ncs []net.Conn
	for i := 0; i < conns; i++ {
		nc, err := net.Dial("tcp", srv.Addr())
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		ncs = append(ncs, nc)
		t.Cleanup(func() { _ = nc.Close() })
		if _, err := nc.Write(protocol.AppendFrame(nil, protocol.OpConnect, auth.DevCertificate[:])); err != nil {
			t.Fatal(err)
		}
		var ans [protocol.HeaderSize]byte
		if _, err := nc.Read(ans[:]); err != nil || protocol.Opcode(ans[4]) != protocol.OpOK {
			t.Fatalf("connect %d: %v %x", i, err, ans)
		}
	}
	base := liveHeap()

	// Each connection sends its batch's header, then a point every 20 ms: far from done when
	// the test ends, so every reservation granted stays held and the others wait.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, nc := range ncs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := nc.Write(head); err != nil {
				return
			}
			pt := protocol.AppendBatchPoint(nil, int64(i), 1)
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					if _, err := nc.Write(pt); err != nil {
						return
					}
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()

	// Dialling and filling 1,000 connections can take a while on a loaded machine: wait for the
	// budget to fill however long that takes (the side client's deadline is the test binary's).
	waitForGauge(t, srv, "tau_server_payload_held_bytes", budget-maxPayload)
	var peak uint64
	for round := 0; round < 5; round++ {
		side.expect(side.call(protocol.OpPing, nil), answer{protocol.OpPong, []byte{}})
		side.expect(side.call(protocol.OpAppend, appendP(l, -1000+int64(round), 1)), okAnswer)
		side.expect(side.call(protocol.OpQueryPoint, queryP(l, -1000+int64(round))), foundAnswer(1))
		if h := liveHeap(); h > peak {
			peak = h
		}
		if held := gaugeValue(t, srv, "tau_server_payload_held_bytes"); held > budget || held < budget-maxPayload {
			t.Fatalf("held %v bytes, want the budget (%d) nearly full and never over", held, budget)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if waits := gaugeValue(t, srv, "tau_server_payload_budget_waits_total"); waits < conns/2 {
		t.Fatalf("%v connections waited for the budget, want most of %d", waits, conns)
	}
	if got := gaugeValue(t, srv, "tau_server_payload_budget_bytes"); got != budget {
		t.Fatalf("budget metric %v, want %d", got, budget)
	}
	grew := int64(peak) - int64(base)
	t.Logf("live heap %d MiB with 1,000 idle connections, at most %+d KiB while they trickle (budget %d KiB)", base>>20, grew>>10, budget>>10)
	if grew > budget+allowance {
		t.Fatalf("live heap grew %d bytes, over the budget %d + allowance %d", grew, budget, allowance)
	}

	// Connections that go away release what they hold.
	close(stop)
	wg.Wait()
	stop = make(chan struct{})
	for _, nc := range ncs {
		_ = nc.Close()
	}
	waitUntil(t, "the payload budget released after every trickler closed", func() bool {
		return gaugeValue(t, srv, "tau_server_payload_held_bytes") == 0
	})
}

// TestAnswersBeforeAPayloadBudgetWaitAreSent is TestAnswersBeforeAPageBudgetWaitAreSent for
// APPEND_BATCH: while one client's unfinished batch holds the whole payload budget, another
// client's PING, pipelined in the same write as its own APPEND_BATCH, gets its PONG while that
// batch waits for the budget; the batch runs once the budget is free.
func TestAnswersBeforeAPayloadBudgetWaitAreSent(t *testing.T) {
	const maxPayload = 1 << 20 // TAU_MAX_PAYLOAD_BYTES by default, and so the whole budget here
	srv := servertest.StartWith(t, server.Options{Store: engine.MemoryStore(), PayloadBudget: 1}, func(c *config.Config) {
		c.ConnectionTimeout = 10 * time.Minute // the holder stays until the test lets it go
	})
	l := label("payload-wait")
	holder := connect(t, srv.Addr())
	holder.expect(holder.call(protocol.OpCreateSeries, series(l)), okAnswer)
	n := (maxPayload - protocol.BatchHeaderSize) / protocol.BatchPointSize
	head := protocol.AppendHeader(nil, protocol.OpAppendBatch, uint32(protocol.BatchPayloadSize(n)))
	holder.sendRaw(protocol.AppendBatchHeader(head, l, n)) // and none of its points
	waitForGauge(t, srv, "tau_server_payload_held_bytes", float64(n*protocol.BatchPointSize))

	other := connect(t, srv.Addr())
	const points = 100 // more than the few bytes the holder leaves free
	b := protocol.AppendFrame(nil, protocol.OpPing, nil)
	b = protocol.AppendHeader(b, protocol.OpAppendBatch, uint32(protocol.BatchPayloadSize(points)))
	b = protocol.AppendBatchHeader(b, l, points)
	for i := range points {
		b = protocol.AppendBatchPoint(b, int64(i), float64(i))
	}
	other.sendRaw(b)
	waitForGauge(t, srv, "tau_server_payload_budget_waits_total", 1)
	other.expect(other.read(), pongAnswer)
	_ = holder.nc.Close()
	other.expect(other.read(), okAnswer)
	other.expect(other.call(protocol.OpQueryPoint, queryP(l, points-1)), foundAnswer(points-1))
}

// waitForGauge waits until the named gauge or counter reaches want.
func waitForGauge(t *testing.T, srv *servertest.Server, name string, want float64) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("%s reaching %v", name, want), func() bool { return gaugeValue(t, srv, name) >= want })
}
