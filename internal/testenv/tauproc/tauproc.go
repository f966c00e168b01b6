// Package tauproc is the one way tests run the tau-server binary: built once per test run
// (Binary), started on ports the server picks itself (TAU_LISTEN_ADDRESS and TAU_HTTP_ADDRESS
// 127.0.0.1:0, real addresses read from its "listening" log line), and waited for with one
// readiness wait (WaitReady, which servertest shares for in-process servers).
package tauproc

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/taudb/tau/internal/testenv/hang"
)

// dumpTimeout bounds the goroutine dump of a server that hangs. Waits for a server to start
// or be ready end only at the test binary's deadline (internal/testenv/hang): a loaded machine
// may take long, and only a hang is a failure.
const dumpTimeout = 10 * time.Second

// UntilHang is the timeout of Stop or Wait that waits until the test binary's deadline: however
// long a loaded machine needs, and only a hang fails.
const UntilHang time.Duration = 0

// Options adjust how Start runs the binary.
type Options struct {
	// Env is added to the environment (TAU_FSYNC=interval, …). The harness sets the addresses,
	// TAU_DATA_DIR and a JSON log at info level itself; Env may only raise the level to debug.
	Env []string
	// DataDir is TAU_DATA_DIR; empty means a fresh t.TempDir().
	DataDir string
	// Wrapper runs the binary through a command, its path appended as the last argument:
	// {"sh", "-c", `ulimit -n 40 && exec "$0"`}. The wrapper must exec the binary, so signals
	// reach the server.
	Wrapper []string
	// Unready returns once the server has reported its addresses, without waiting for
	// /readyz: a cluster member is ready only once a majority runs (call Process.WaitReady).
	Unready bool
}

// Process is a running tau-server.
type Process struct {
	Addr     string // the TAU listener, as the server reported it
	HTTPAddr string // the HTTP listener (/readyz, /metrics)
	DataDir  string

	t       testing.TB
	cmd     *exec.Cmd
	log     *logBuffer
	exited  chan struct{} // closed once the process has exited and its output is read
	checked sync.Once
	https   bool // TAU_HTTP_TLS=true: /readyz is HTTPS
}

// Start runs the binary and returns once /readyz answers 200: storage is recovered and the TAU
// port answers. It fails the test, with the server's log, if the process exits first. The
// process is killed at the end of the test if it still runs.
func Start(t testing.TB, o Options) *Process {
	t.Helper()
	bin := Binary(t)
	for _, kv := range o.Env {
		if reserved(kv) {
			t.Fatalf("tauproc: %s is set by the harness", kv)
		}
	}
	p := &Process{DataDir: o.DataDir, t: t, log: newLogBuffer(), exited: make(chan struct{})}
	if p.DataDir == "" {
		p.DataDir = t.TempDir()
	}
	args := append(append([]string(nil), o.Wrapper...), bin)
	p.cmd = exec.Command(args[0], args[1:]...)
	p.cmd.Env = append(Env("TAU_LISTEN_ADDRESS=127.0.0.1:0", "TAU_HTTP_ADDRESS=127.0.0.1:0",
		"TAU_DATA_DIR="+p.DataDir, "TAU_LOG_FORMAT=json", "TAU_LOG_LEVEL=info"), o.Env...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait() // the exit status is in cmd.ProcessState
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	select {
	case a := <-p.log.addrs:
		p.Addr, p.HTTPAddr = a[0], a[1]
	case <-p.exited:
		t.Fatalf("tau-server exited before listening (%v); log:\n%s", p.cmd.ProcessState, p.Log())
	case <-hang.After(t):
		t.Fatalf("tau-server did not report its addresses before the test binary's deadline; log:\n%s", p.Log())
	}
	p.https = slices.Contains(o.Env, "TAU_HTTP_TLS=true")
	if !o.Unready {
		p.WaitReady()
	}
	return p
}

// WaitReady returns once /readyz answers 200 (Start does, unless Options.Unready).
func (p *Process) WaitReady() {
	p.t.Helper()
	wait := WaitReady
	if p.https {
		wait = WaitReadyHTTPS
	}
	wait(p.t, p.HTTPAddr, p.exited, func() string { return "log:\n" + p.Log() })
}

func reserved(kv string) bool {
	for _, k := range []string{"TAU_LISTEN_ADDRESS=", "TAU_HTTP_ADDRESS=", "TAU_DATA_DIR=", "TAU_LOG_FORMAT="} {
		if strings.HasPrefix(kv, k) {
			return true
		}
	}
	return strings.HasPrefix(kv, "TAU_LOG_LEVEL=") && kv != "TAU_LOG_LEVEL=debug" && kv != "TAU_LOG_LEVEL=info"
}

// Env is this process' environment without any TAU_* variable (a developer's own settings
// must not leak into a test), plus kv.
func Env(kv ...string) []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "TAU_") {
			env = append(env, e)
		}
	}
	return append(env, kv...)
}

// Command is the binary with args and Env(env...), for tests of its exit codes and output.
func Command(t testing.TB, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(Binary(t), args...)
	cmd.Env = Env(env...)
	return cmd
}

// Signal sends sig to the server.
func (p *Process) Signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
}

// Stop sends SIGTERM and returns the exit code (Wait).
func (p *Process) Stop(timeout time.Duration) int {
	p.t.Helper()
	p.Signal(syscall.SIGTERM)
	return p.Wait(timeout)
}

// Wait waits for the process to exit and returns its exit code (-1 when a signal ended it).
// A process still running after timeout (UntilHang: the test binary's deadline) hangs: it gets
// SIGQUIT, so the Go runtime prints every goroutine's stack into the log, and the test fails
// with that log. Whatever the exit, a data race report, a panic or a fatal error in the log
// fails the test.
func (p *Process) Wait(timeout time.Duration) int {
	p.t.Helper()
	hangs := hang.After(p.t)
	if timeout != UntilHang {
		hangs = time.After(timeout)
	}
	select {
	case <-p.exited:
	case <-hangs:
		_ = p.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-p.exited:
		case <-time.After(dumpTimeout):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		p.t.Fatalf("tau-server hangs: still running after being asked to stop; its log, ending with its goroutines (SIGQUIT):\n%s",
			p.Log())
	}
	p.checkLog()
	return p.cmd.ProcessState.ExitCode()
}

// Kill ends the process with SIGKILL (a crash) and waits for it.
func (p *Process) Kill() {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
	p.checkLog()
}

// PID is the server's process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Exited is closed once the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Log is everything the process wrote to stdout and stderr so far.
func (p *Process) Log() string { return p.log.String() }

// Entries are the JSON log lines whose message is msg, decoded.
func (p *Process) Entries(msg string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(p.Log(), "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) == nil && e["msg"] == msg {
			out = append(out, e)
		}
	}
	return out
}

// checkLog fails the test on what the Go runtime prints when something went badly wrong.
func (p *Process) checkLog() {
	p.t.Helper()
	p.checked.Do(func() {
		for _, line := range strings.Split(p.Log(), "\n") {
			for _, bad := range []string{"WARNING: DATA RACE", "panic: ", "fatal error: "} {
				if strings.HasPrefix(line, bad) {
					p.t.Errorf("tau-server: %q; log:\n%s", line, p.Log())
					return
				}
			}
		}
	})
}

// logBuffer keeps the output and finds the "listening" line in it as it arrives.
type logBuffer struct {
	mu    sync.Mutex
	all   bytes.Buffer
	line  []byte         // the incomplete last line, until the addresses are found
	addrs chan [2]string // receives them once
	found bool
}

func newLogBuffer() *logBuffer { return &logBuffer{addrs: make(chan [2]string, 1)} }

func (l *logBuffer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all.Write(b)
	if l.found {
		return len(b), nil
	}
	l.line = append(l.line, b...)
	for {
		i := bytes.IndexByte(l.line, '\n')
		if i < 0 {
			return len(b), nil
		}
		var e struct {
			Msg  string `json:"msg"`
			TAU  string `json:"tau_address"`
			HTTP string `json:"http_address"`
		}
		if json.Unmarshal(l.line[:i], &e) == nil && e.Msg == "listening" && e.TAU != "" && e.HTTP != "" {
			l.found, l.line = true, nil
			l.addrs <- [2]string{e.TAU, e.HTTP}
			return len(b), nil
		}
		l.line = l.line[i+1:]
	}
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.all.String()
}
