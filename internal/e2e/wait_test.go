package e2e

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/taudb/tau/internal/testenv/hang"
)

// waitUntil polls cond until it holds. Only a hang fails it (the test binary's deadline, see
// internal/testenv/hang), never a slow machine; the message says what never happened.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if hang.Passed(t) {
			t.Fatalf("gave up before the test binary's deadline: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// hangContext is a context that ends at hang.Deadline, for a client that takes one.
func hangContext(t testing.TB) (context.Context, context.CancelFunc) {
	if d := hang.Deadline(t); !d.IsZero() {
		return context.WithDeadline(context.Background(), d)
	}
	return context.WithCancel(context.Background())
}

// writeUntilClosed writes frame again and again, as a client that never reads its answers,
// until the server closes the connection: TCP fills both ways, the server's write blocks and
// it gives up (TAU_CONNECTION_TIMEOUT). Only a hang fails it, not a slow server.
func (c *rawConn) writeUntilClosed(frame []byte) {
	c.t.Helper()
	_ = c.nc.SetWriteDeadline(hang.Deadline(c.t))
	for {
		if _, err := c.nc.Write(frame); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				c.t.Fatal("server kept a non-reading client open")
			}
			return
		}
	}
}
