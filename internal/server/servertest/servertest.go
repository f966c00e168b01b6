// Package servertest runs a real Tau server in-process on loopback ports for tests.
package servertest

import (
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/internal/engine"
	"github.com/taudb/tau/internal/server"
)

// Server is a running test server.
type Server struct {
	*server.Server
	Config   config.Config
	Registry *prometheus.Registry
	stop     chan struct{}
	done     chan error
	once     sync.Once
	err      error
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
	s := &Server{Config: cfg, Registry: prometheus.NewRegistry(), stop: make(chan struct{}), done: make(chan error, 1)}
	srv, err := server.New(cfg, logger(t), s.Registry, o)
	if err != nil {
		t.Fatal(err)
	}
	s.Server = srv
	go func() { s.done <- srv.Run(s.stop) }()
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("server stopped with %v", err)
		}
	})
	s.waitReady(t)
	return s
}

// MemoryStore is the option for a server that keeps nothing on disk.
func MemoryStore() server.Options { return server.Options{Store: engine.MemoryStore()} }

func (s *Server) waitReady(t testing.TB) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + s.HTTPAddr() + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-s.done:
			t.Fatalf("server exited before it was ready: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	t.Fatal("server not ready after 30s")
}

// Stop shuts the server down as SIGTERM would and returns Run's error. It is idempotent.
func (s *Server) Stop() error {
	s.once.Do(func() {
		close(s.stop)
		s.err = <-s.done
	})
	return s.err
}

func logger(t testing.TB) *zap.Logger {
	if os.Getenv("TAU_TEST_LOG") != "" {
		return zaptest.NewLogger(t)
	}
	return zap.NewNop()
}
