package e2e

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/taudb/tau/pkg/protocol"
)

// TestR12_OutOfFileDescriptors floods a server whose file-descriptor limit is far below its
// connection limit: accepting fails with EMFILE, and the server must slow down, not stop. Once
// the flood is gone, a new client is served.
func TestR12_OutOfFileDescriptors(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	addr, httpAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command("sh", "-c", "ulimit -n 40 && exec "+bin)
	cmd.Env = append(os.Environ(), "TAU_LISTEN_ADDRESS="+addr, "TAU_HTTP_ADDRESS="+httpAddr,
		"TAU_DATA_DIR="+t.TempDir(), "TAU_LOG_LEVEL=error", "TAU_MAX_CONNECTIONS=1000")
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitReady(t, httpAddr, &log)

	var flood []net.Conn
	for i := 0; i < 100; i++ {
		nc, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break // the accept queue is full: the flood has done its worst
		}
		flood = append(flood, nc)
	}
	time.Sleep(300 * time.Millisecond) // let the server hit the limit and back off
	if cmd.ProcessState != nil {
		t.Fatalf("server exited under the flood:\n%s", log.String())
	}
	for _, nc := range flood {
		_ = nc.Close()
	}
	c := connect(t, addr) // waits up to the dial deadline while the server catches up
	c.expectOpen()
	c.expect(c.call(protocol.OpCreateSeries, series(label("after-flood"))), okAnswer)
}

func waitReady(t *testing.T, httpAddr string, log *bytes.Buffer) {
	t.Helper()
	for i := 0; i < 600; i++ {
		if resp, err := http.Get("http://" + httpAddr + "/readyz"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server not ready; log:\n%s", log.String())
}
