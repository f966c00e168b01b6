package e2e

import (
	"bytes"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/taudb/tau/internal/testenv/tauproc"
	"github.com/taudb/tau/pkg/protocol"
)

// secondStartHang bounds how long a second server on a held directory may take to give up: it
// only detects a server that started anyway (no lock) and now serves, a hang, not a speed.
const secondStartHang = time.Minute

// TestDataDirLock_SecondServerExits2 starts two binaries on one data directory, as an operator
// might by mistake (a ReadWriteMany volume, a force-deleted pod). The second must exit 2 with
// one log line naming the directory and the first's PID, before it touches the directory; the
// first keeps serving, and what it acknowledged before and after survives its restart. Without
// the lock the second starts, checkpoints and deletes the first's log segments.
func TestDataDirLock_SecondServerExits2(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	first := tauproc.Start(t, tauproc.Options{})
	c := connect(t, first.Addr)
	before, after := label("before-second"), label("after-second")
	c.create(before, []rp{{TS: 1, Bits: 0x3ff0000000000000}})

	out, code := runSecond(t, first.DataDir)
	if code != exitConfig {
		t.Fatalf("second server on %s exited %d, want %d; its output:\n%s", first.DataDir, code, exitConfig, out)
	}
	pid := strconv.Itoa(first.PID())
	var naming []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.Contains(line, first.DataDir) && strings.Contains(line, "process "+pid) {
			naming = append(naming, line)
		}
	}
	if len(naming) != 1 {
		t.Fatalf("want exactly one line naming %s and pid %s; output:\n%s", first.DataDir, pid, out)
	}

	c.create(after, []rp{{TS: 2, Bits: 0x4000000000000000}})
	c.expect(c.call(protocol.OpQueryPoint, queryP(before, 1)), foundAnswer(1))
	_ = c.nc.Close()
	first.Kill()

	restarted := tauproc.Start(t, tauproc.Options{DataDir: first.DataDir})
	r := connect(t, restarted.Addr)
	r.expect(r.call(protocol.OpQueryPoint, queryP(before, 1)), foundAnswer(1))
	r.expect(r.call(protocol.OpQueryPoint, queryP(after, 2)), foundAnswer(2))
}

// exitConfig is tau-server's exit code for a configuration error.
const exitConfig = 2

// runSecond runs a second server on dir and returns its output and exit code once it exits.
func runSecond(t *testing.T, dir string) (string, int) {
	t.Helper()
	cmd := tauproc.Command(t, []string{"TAU_LISTEN_ADDRESS=127.0.0.1:0", "TAU_HTTP_ADDRESS=127.0.0.1:0",
		"TAU_DATA_DIR=" + dir, "TAU_LOG_FORMAT=json"})
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		}
		return out.String(), cmd.ProcessState.ExitCode()
	case <-time.After(secondStartHang):
		_ = cmd.Process.Kill()
		killed := <-done
		t.Fatalf("a second server on %s is still running after %v (then %v): the data directory is not locked; its output:\n%s",
			dir, secondStartHang, killed, out.String())
		return "", 0
	}
}
