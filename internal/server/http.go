package server

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	stdlog "log"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/taudb/tau/internal/engine"
)

// DefaultStallLimit is how long the worker pool may have work without finishing any before
// the liveness probe fails.
const DefaultStallLimit = 15 * time.Second

func newHTTPServer(s *Server, reg *prometheus.Registry) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("/healthz", probe(s.health.live))
	mux.HandleFunc("/readyz", probe(s.ready))
	if s.cluster != nil {
		mux.Handle("/cluster/", s.authorized(s.cluster.Handler()))
	}
	if s.cfg.Pprof {
		// Profiles, as Prometheus and Thanos serve them: how "where does the time go" is
		// answered on a live server (go tool pprof http://HOST:7702/debug/pprof/profile).
		// Only with TAU_PPROF=true: this port is open to every scraper, unauthenticated, and
		// a profile costs CPU and shows the server's internals.
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return &http.Server{
		Handler: mux,
		// net/http logs a failed TLS handshake here: at debug, so a scanner cannot flood the log.
		ErrorLog:          httpErrorLog(s.log),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      60 * time.Second, // a CPU profile takes 30 s by default
		IdleTimeout:       60 * time.Second,
	}
}

// httpErrorLog is where net/http reports a failed TLS handshake or a broken request: at debug,
// so a scanner cannot flood the log.
func httpErrorLog(log *zap.Logger) *stdlog.Logger {
	l, err := zap.NewStdLogAt(log.Named("http"), zap.DebugLevel)
	if err != nil { // only for a level zap does not know
		return stdlog.New(io.Discard, "", 0)
	}
	return l
}

// ready is /readyz: storage recovered, the listener accepting and no shutdown begun; in
// cluster mode also the cluster's readiness (a leader known, what it committed applied).
func (s *Server) ready() bool {
	return s.health.ready.Load() && (s.cluster == nil || s.cluster.Ready())
}

// authorized lets a request through only with "Authorization: Bearer <certificate in hex>",
// any live certificate (as QUERY-API.md Q1 has it); else 401.
func (s *Server) authorized(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		cert, err := hex.DecodeString(strings.TrimSpace(token))
		if !strings.EqualFold(scheme, "Bearer") || err != nil {
			http.Error(w, "unauthorized: want Authorization: Bearer <certificate in hex>", http.StatusUnauthorized)
			return
		}
		if _, ok := s.keeper.Check(cert); !ok {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func probe(ok func() bool) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if ok() {
			_, _ = w.Write([]byte("ok\n"))
			return
		}
		http.Error(w, "not ok", http.StatusServiceUnavailable)
	}
}

func (s *Server) serveHTTP() error {
	if err := s.http.Serve(s.httpLn); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (s *Server) stopHTTP() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.http.Shutdown(ctx)
}

// health answers the probes: ready once storage is recovered and the listener accepts, until
// shutdown begins; live while the worker pool makes progress on the work it has.
type health struct {
	pool          poolStats
	log           *zap.Logger
	stallLimit    time.Duration
	ready         atomic.Bool
	storageFailed atomic.Bool // said once

	mu           sync.Mutex
	lastProgress uint64
	lastChange   time.Time
}

// poolStats is what liveness reads of the engine: the pool's progress, and whether storage
// still deserves trust.
type poolStats interface {
	Stats() engine.Stats
	StorageFailure() error
}

func newHealth(p poolStats, log *zap.Logger, stallLimit time.Duration) *health {
	if stallLimit <= 0 {
		stallLimit = DefaultStallLimit
	}
	return &health{pool: p, log: log, stallLimit: stallLimit, lastChange: time.Now()}
}

func (h *health) setReady(v bool) { h.ready.Store(v) }

func (h *health) live() bool {
	if err := h.pool.StorageFailure(); err != nil {
		if h.storageFailed.CompareAndSwap(false, true) {
			why := "the log refuses writes for good"
			if errors.Is(err, engine.ErrFsyncFailed) {
				why = "an fsync of the log failed (the kernel may have dropped data)"
			}
			h.log.Error(why+": /healthz answers 503 from now on, so the pod is restarted and recovery runs from what is on disk; reads are served until then",
				zap.Error(err))
		}
		return false
	}
	st := h.pool.Stats()
	h.mu.Lock()
	defer h.mu.Unlock()
	idle := st.Queued == 0 && st.Running == 0
	if st.Progress != h.lastProgress || idle {
		h.lastProgress, h.lastChange = st.Progress, time.Now()
		return true
	}
	return time.Since(h.lastChange) < h.stallLimit
}
