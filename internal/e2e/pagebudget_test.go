package e2e

import (
	"testing"
	"time"

	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/internal/server"
	"github.com/taudb/tau/internal/server/servertest"
	"github.com/taudb/tau/internal/testenv/hang"
	"github.com/taudb/tau/pkg/protocol"
)

// TestPagedAnswersShareOneBudget: paged answers in flight hold a server-wide budget, so a
// thousand connections cannot pin a thousand pages. With the budget at one QUERY_RANGE page,
// a client that pipelines full pages and stops reading keeps its writer stuck on a page; then
// another connection's QUERY_RANGE waits for the budget (counted), and is answered, exactly,
// once the stuck client goes away and its page is given back.
func TestPagedAnswersShareOneBudget(t *testing.T) {
	_, stuck, other, pts := waitForPageBudget(t)
	_ = stuck.nc.Close()
	more, got := other.decodeRange(other.read())
	if more || len(got) != 10 {
		t.Fatalf("QUERY_RANGE 100..110 after the wait: %d points (more %v), want 10", len(got), more)
	}
	for i, p := range got {
		if p != pts[100+i] {
			t.Fatalf("point %d: %v, want %v", i, p, pts[100+i])
		}
	}
}

// TestShutdownAnswersPageBudgetWaitBusy: a request still waiting for the page budget when
// shutdown begins is answered busy and its connection closed, as shutdown answers any request
// it will not run, instead of holding the shutdown until its timeout.
func TestShutdownAnswersPageBudgetWaitBusy(t *testing.T) {
	srv, _, other, _ := waitForPageBudget(t)
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Stop() }()
	other.expect(other.read(), errAnswer(protocol.StatusBusy))
	other.expectClosed()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}

// TestAnswersBeforeAPageBudgetWaitAreSent: answers to requests pipelined before a QUERY_RANGE
// that waits for the page budget are sent meanwhile, not held until the budget frees: a PING
// and an APPEND in the same write as the waiting QUERY_RANGE get their PONG and OK while the
// range still waits, and the range is answered after them (R1) once the stuck client goes.
func TestAnswersBeforeAPageBudgetWaitAreSent(t *testing.T) {
	l := label("before-wait")
	var first []byte
	first = protocol.AppendFrame(first, protocol.OpPing, nil)
	first = protocol.AppendFrame(first, protocol.OpCreateSeries, series(l))
	first = protocol.AppendFrame(first, protocol.OpAppend, appendP(l, 1, 2))
	_, stuck, other, pts := waitForPageBudgetAfter(t, first)
	other.expect(other.read(), pongAnswer)
	other.expect(other.read(), okAnswer)
	other.expect(other.read(), okAnswer)
	_ = stuck.nc.Close()
	if _, got := other.decodeRange(other.read()); len(got) != 10 || got[0] != pts[100] {
		t.Fatalf("QUERY_RANGE 100..110 after the wait: %v, want points 100..109", got)
	}
}

// waitForPageBudget starts a server whose page budget is one QUERY_RANGE page, has a client
// (stuck) pipeline full pages and stop reading, so that its writer holds a page, then has
// another client (other) send a QUERY_RANGE for points 100..109 and waits until it waits for
// the budget.
func waitForPageBudget(t *testing.T) (srv *servertest.Server, stuck, other *rawConn, pts []rp) {
	t.Helper()
	return waitForPageBudgetAfter(t, nil)
}

// waitForPageBudgetAfter is waitForPageBudget with other's QUERY_RANGE sent in one write after
// the frames in before.
func waitForPageBudgetAfter(t *testing.T, before []byte) (srv *servertest.Server, stuck, other *rawConn, pts []rp) {
	t.Helper()
	srv = servertest.StartWith(t, server.Options{Store: servertest.MemoryStore().Store, PageBudget: 1},
		func(c *config.Config) {
			c.ShutdownTimeout = time.Second
			c.ConnectionTimeout = 10 * time.Minute // the stuck client stays until the test lets it go
		})
	l := label("paged")
	pts = make([]rp, 70_000) // more than one page of 65,536 points
	for i := range pts {
		pts[i] = rp{TS: int64(i), Bits: fb(float64(i))}
	}
	stuck = connect(t, srv.Addr())
	stuck.create(l, pts)
	var pages []byte
	for range 64 { // 64 MiB of answers: more than the sockets on both sides buffer
		pages = protocol.AppendFrame(pages, protocol.OpQueryRange, rangeP(l, minT, maxT, 0, protocol.AggRaw, 0))
	}
	stuck.sendRaw(pages)
	waitStalled(t, srv)

	other = connect(t, srv.Addr())
	other.sendRaw(protocol.AppendFrame(before, protocol.OpQueryRange, rangeP(l, 100, 110, 0, protocol.AggRaw, 0)))
	waitForGauge(t, srv, "tau_server_page_budget_waits_total", 1) // a QUERY_RANGE waited for the page budget
	if held, size := gaugeValue(t, srv, "tau_server_page_held_bytes"), gaugeValue(t, srv, "tau_server_page_budget_bytes"); held != size || size != 1<<20 {
		t.Fatalf("page budget %v bytes, %v held; want one QUERY_RANGE page (1 MiB) held whole", size, held)
	}
	return srv, stuck, other, pts
}

// waitStalled waits until the server stops answering: here, until the stuck client's writer is
// blocked on a page the client does not read, holding the page budget for good. Until then the
// budget is free for a moment between two of its pages, and another connection's request
// arriving then would take it without waiting. Answers are counted as they are written, so the
// count stays put while the writer is blocked; a page takes well under the interval to write.
func waitStalled(t *testing.T, srv *servertest.Server) {
	t.Helper()
	const interval = 250 * time.Millisecond
	last := -1.0
	for {
		n := counterSum(t, srv, "tau_requests_total")
		if n == last {
			return
		}
		if hang.Passed(t) {
			t.Fatal("the server kept answering: no writer got stuck")
		}
		last = n
		time.Sleep(interval)
	}
}
