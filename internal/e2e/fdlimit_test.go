package e2e

import (
	"net"
	"testing"
	"time"

	"github.com/taudb/tau/internal/testenv/tauproc"
	"github.com/taudb/tau/pkg/protocol"
)

// TestR12_OutOfFileDescriptors floods a server whose file-descriptor limit is far below its
// connection limit: accepting fails with EMFILE, and the server must slow down, not stop. Once
// the flood is gone, a new client is served.
func TestR12_OutOfFileDescriptors(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	p := tauproc.Start(t, tauproc.Options{
		Env:     []string{"TAU_MAX_CONNECTIONS=1000"},
		Wrapper: []string{"sh", "-c", `ulimit -n 40 && exec "$0"`},
	})
	addr := p.Addr

	var flood []net.Conn
	for i := 0; i < 100; i++ {
		nc, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break // the accept queue is full: the flood has done its worst
		}
		flood = append(flood, nc)
	}
	time.Sleep(300 * time.Millisecond) // let the server hit the limit and back off
	select {
	case <-p.Exited():
		t.Fatalf("server exited under the flood:\n%s", p.Log())
	default:
	}
	for _, nc := range flood {
		_ = nc.Close()
	}
	c := connect(t, addr) // waits up to the dial deadline while the server catches up
	c.expectOpen()
	c.expect(c.call(protocol.OpCreateSeries, series(label("after-flood"))), okAnswer)
}
