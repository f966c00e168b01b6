// Package servertest runs a real Tau server in-process on loopback ports for tests.
package servertest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/internal/engine"
	"github.com/taudb/tau/internal/server"
	"github.com/taudb/tau/internal/testenv/hang"
	"github.com/taudb/tau/internal/testenv/tauproc"
)

// Server is a running test server.
type Server struct {
	*server.Server
	Config   config.Config
	Registry *prometheus.Registry
	stop     chan struct{}
	stopOnce sync.Once
	exited   chan struct{} // closed once Run has returned
	err      error         // Run's error, once exited is closed
	hung     bool          // a Stop timed out
	t        testing.TB    // whose deadline tells a hang from a slow stop
}

// Start runs a server on 127.0.0.1:0 (both ports) with the development certificate and a fresh
// data directory, and waits until it is ready. opts adjust the config; t.Cleanup stops it.
func Start(t testing.TB, opts ...func(*config.Config)) *Server {
	return StartWith(t, server.Options{}, opts...)
}

// StartWith is Start with server options (e.g. an in-memory store).
func StartWith(t testing.TB, o server.Options, opts ...func(*config.Config)) *Server {
	t.Helper()
	cfg := config.Default()
	cfg.ListenAddress, cfg.HTTPAddress = "127.0.0.1:0", "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	for _, f := range opts {
		f(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s := &Server{Config: cfg, Registry: prometheus.NewRegistry(), stop: make(chan struct{}), exited: make(chan struct{}), t: t}
	srv, err := server.New(cfg, logger(t), s.Registry, o)
	if err != nil {
		t.Fatal(err)
	}
	s.Server = srv
	go func() {
		s.err = srv.Run(s.stop)
		close(s.exited)
	}()
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("server stopped with %v", err)
		}
	})
	wait := tauproc.WaitReady
	if cfg.HTTPTLS {
		wait = tauproc.WaitReadyHTTPS
	}
	wait(t, s.HTTPAddr(), s.exited, func() string {
		select {
		case <-s.exited:
			return fmt.Sprintf("Run returned %v", s.err)
		default:
			return "Run has not returned"
		}
	})
	return s
}

// MemoryStore is the option for a server that keeps nothing on disk.
func MemoryStore() server.Options { return server.Options{Store: engine.MemoryStore()} }

// Stop shuts the server down as SIGTERM would and returns Run's error. It is idempotent. A
// server that has not stopped by the test binary's deadline (internal/testenv/hang) hangs:
// Stop returns an error holding every goroutine's stack, so the test fails with where it waits
// instead of the binary's timeout panic. A slow stop on a loaded machine is no failure.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() { close(s.stop) })
	if s.hung { // said once already; the cleanup after a failed test need not wait again
		select {
		case <-s.exited:
			return s.err
		default:
			return errors.New("server hangs (see the first Stop)")
		}
	}
	select {
	case <-s.exited:
		return s.err
	case <-hang.After(s.t):
		s.hung = true
		var stacks bytes.Buffer
		_ = pprof.Lookup("goroutine").WriteTo(&stacks, 2)
		return fmt.Errorf("server hangs: Run has not returned by the test binary's deadline; goroutines:\n%s", stacks.String())
	}
}

func logger(t testing.TB) *zap.Logger {
	if os.Getenv("TAU_TEST_LOG") != "" {
		return zaptest.NewLogger(t)
	}
	return zap.NewNop()
}
