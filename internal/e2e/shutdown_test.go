package e2e

import (
	"testing"

	"github.com/taudb/tau/pkg/protocol"
)

// TestShutdownAnswersInFlight stops the server while a pipelined batch is in flight: every
// request the server read gets its answer before the close, and nothing after it is half
// answered.
func TestShutdownAnswersInFlight(t *testing.T) {
	srv := start(t)
	c := connect(t, srv.Addr())
	l := label("shutdown")
	c.expect(c.call(protocol.OpCreateSeries, series(l)), okAnswer)
	var b []byte
	for i := 0; i < 500; i++ {
		b = protocol.AppendFrame(b, protocol.OpAppend, appendP(l, int64(i), 1))
	}
	c.sendRaw(b)
	c.expect(c.read(), okAnswer) // the server is mid-batch
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	answered := 1
	for {
		got, err := c.tryRead()
		if err != nil {
			break
		}
		if got.op == protocol.OpErr {
			c.expect(got, errAnswer(protocol.StatusBusy)) // refused at shutdown, then closed
			if _, err := c.tryRead(); err == nil {
				t.Fatal("answer after the shutdown refusal")
			}
			break
		}
		c.expect(got, okAnswer)
		answered++
	}
	t.Logf("%d of 500 answered before the close", answered)
}
