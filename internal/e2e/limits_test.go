package e2e

import (
	"sync"
	"testing"
	"time"

	"github.com/taudb/tau/internal/auth"
	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/internal/server"
	"github.com/taudb/tau/internal/server/servertest"
	"github.com/taudb/tau/internal/storage"
	"github.com/taudb/tau/pkg/protocol"
)

func TestR10_ConnectionLimit(t *testing.T) {
	srv := start(t, func(c *config.Config) { c.MaxConnections = 2 })
	a, b := connect(t, srv.Addr()), connect(t, srv.Addr())
	over := dial(t, srv.Addr())
	over.expect(over.read(), errAnswer(protocol.StatusBusy))
	over.expectClosed()
	a.expectOpen()
	// A closed connection frees its place.
	b.expect(b.call(protocol.OpDisconnect, nil), okAnswer)
	b.expectClosed()
	var c *rawConn
	waitUntil(t, "the freed place coming back", func() bool { // the server notices the close asynchronously
		c = dial(t, srv.Addr())
		c.send(protocol.OpConnect, auth.DevCertificate[:])
		return c.read().op == protocol.OpOK
	})
	c.expectOpen()
}

func TestR10_IdleTimeout(t *testing.T) {
	srv := start(t, func(c *config.Config) { c.ConnectionTimeout = 300 * time.Millisecond })
	t.Run("silent after accept", func(t *testing.T) {
		c := dial(t, srv.Addr())
		c.expectClosed()
	})
	t.Run("silent after a request", func(t *testing.T) {
		c := connect(t, srv.Addr())
		c.expectClosed()
	})
	t.Run("slowloris: a frame trickled in", func(t *testing.T) {
		c := connect(t, srv.Addr())
		frame := protocol.AppendFrame(nil, protocol.OpPing, make([]byte, 40))
		closed := false
		for i := range frame { // one byte every 100 ms: each byte is "activity", no frame completes
			if _, err := c.nc.Write(frame[i : i+1]); err != nil {
				closed = true
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if !closed {
			c.expectClosed()
		}
	})
	t.Run("busy connection stays open", func(t *testing.T) {
		// 20 PINGs 50 ms apart: 1 s in all, over three timeouts, each gap well inside one. A
		// loaded machine may stretch a gap past the timeout, and then the server rightly
		// closes: that round proves nothing, and the test starts over on a new connection.
		// Only a close after a gap well inside the timeout fails it.
		const timeout = 300 * time.Millisecond
		c, kept, answered := connect(t, srv.Addr()), 0, time.Now()
		for kept < 20 {
			time.Sleep(50 * time.Millisecond)
			sent := time.Now()
			c.send(protocol.OpPing, nil)
			a, err := c.tryRead()
			switch gap := sent.Sub(answered); {
			case err == nil:
				c.expect(a, pongAnswer)
				kept++
			case gap < timeout/2:
				t.Fatalf("closed after %d PINGs, %v after the last answer (timeout %v): %v", kept, gap, timeout, err)
			default:
				c, kept = connect(t, srv.Addr()), 0
			}
			answered = time.Now()
		}
	})
	t.Run("client that stops reading", func(t *testing.T) {
		c := connect(t, srv.Addr())
		// Fill the server's send buffer and ours: the server's write blocks, then it gives up.
		c.writeUntilClosed(protocol.AppendFrame(nil, protocol.OpPing, nil))
	})
}

func TestR10_MaxPayloadConfigurable(t *testing.T) {
	// The smallest limit allowed still takes the largest fixed requests, a 61-byte QUERY_RANGE
	// and 96-byte CREATE_LENS and COMPOSE_LENS.
	srv := start(t, func(c *config.Config) { c.MaxPayloadBytes = config.MinPayloadBytes })
	c := connect(t, srv.Addr())
	c.expect(c.call(protocol.OpQueryRange, rangeP(label("none"), 0, 1, 0, 0, 0)), errAnswer(protocol.StatusSeriesNotFound))
	c.expect(c.call(protocol.OpPing, make([]byte, config.MinPayloadBytes)), pongAnswer)
	c.expect(c.call(protocol.OpPing, make([]byte, config.MinPayloadBytes+1)), errAnswer(protocol.StatusPayloadTooLarge))
	c.expectClosed()
}

// gateLog is a store whose appends for one label wait for a gate: it stalls one series' actor
// so its mailbox fills deterministically.
type gateLog struct {
	storage.Memory
	stall   protocol.Label
	entered chan struct{}
	gate    chan struct{}
	once    sync.Once
}

func (g *gateLog) Append(r *storage.Record) (storage.Ticket, error) {
	if r.Type == storage.RecordAppend && r.Label == storageLabel(g.stall) {
		g.once.Do(func() {
			close(g.entered)
			<-g.gate
		})
	}
	return g.Memory.Append(r)
}

func TestR10_FullMailboxIsBusy(t *testing.T) {
	hot, cold := label("hot"), label("cold")
	g := &gateLog{stall: hot, entered: make(chan struct{}), gate: make(chan struct{})}
	srv := servertest.StartWith(t, server.Options{Store: g}, func(c *config.Config) {
		c.MailboxCapacity = 2
		c.ActorPoolSize = 2
	})
	admin := connect(t, srv.Addr())
	admin.expect(admin.call(protocol.OpCreateSeries, series(hot)), okAnswer)
	admin.expect(admin.call(protocol.OpCreateSeries, series(cold)), okAnswer)

	stuck := connect(t, srv.Addr())
	stuck.send(protocol.OpAppend, appendP(hot, 1, 1)) // the actor stalls on this one
	<-g.entered
	queued := []*rawConn{connect(t, srv.Addr()), connect(t, srv.Addr())}
	for _, c := range queued { // queries: their order in the mailbox does not matter
		c.send(protocol.OpQueryPoint, queryP(hot, 1))
	}
	// Wait until both are in the mailbox (the stalled append and the two queries were queued:
	// three observations of the depth histogram). Asking earlier would queue the third query
	// behind the stalled actor, where it waits for an answer that cannot come.
	waitMetric(t, "http://"+srv.HTTPAddr()+"/metrics", "tau_actor_mailbox_enqueue_depth_messages_count 3")
	late := connect(t, srv.Addr())
	late.expect(late.call(protocol.OpQueryPoint, queryP(hot, 1)), errAnswer(protocol.StatusBusy))
	late.expectOpen()
	// Other series are not blocked by the stalled one (R10, R12).
	admin.expect(admin.call(protocol.OpAppend, appendP(cold, 1, 5)), okAnswer)
	admin.expect(admin.call(protocol.OpQueryPoint, queryP(cold, 1)), foundAnswer(5))
	close(g.gate)
	stuck.expect(stuck.read(), okAnswer)
	for _, c := range queued {
		c.expect(c.read(), foundAnswer(1))
	}
}

// storageLabel is the engine's form of a wire label: the same 32 bytes.
func storageLabel(l protocol.Label) [32]byte { return l }
