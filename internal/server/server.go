// Package server is the TAU listener and its per-connection handler, plus the HTTP endpoints
// for metrics and probes. It is the TAU front end of the engine (internal/engine):
// it turns frames into engine requests and engine errors into status codes (internal/server/status),
// and wires config, auth and the engine into one lifecycle.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/taudb/tau/internal/auth"
	"github.com/taudb/tau/internal/certwatch"
	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/internal/engine"
	"github.com/taudb/tau/internal/replica"
	"github.com/taudb/tau/internal/tlsconfig"
)

// Server is one Tau server: build it with New, add it to a run.Group with AddTo (or call Run).
type Server struct {
	cfg     config.Config
	log     *zap.Logger
	keeper  *auth.Keeper
	engine  *engine.Engine
	cluster Cluster          // nil on one node
	replica *replica.Replica // the engine behind the cluster, nil on one node
	metrics *metrics
	health  *health
	budget  *budget // APPEND_BATCH payloads held across connections (batch.go)
	pages   *budget // paged answers in flight across connections (reads.go)

	certs *certwatch.Watcher // nil without TAU_CERTIFICATE_FILE
	tls   *tlsconfig.Source  // nil without TAU_TLS_CERT_FILE and TAU_TLS_KEY_FILE
	tlsIn *tls.Config        // the TAU port's, from tls

	ln     net.Listener
	httpLn net.Listener
	http   *http.Server

	draining  atomic.Bool  // set at the first instant of shutdown
	logFailed atomic.Bool  // the log has refused a write: said once at error level
	open      atomic.Int64 // connections open

	stop     chan struct{} // closed when shutdown begins
	stopOnce sync.Once

	checkpoints engine.CheckpointOptions
	queued      bool // Options.Queued: no fast path

	mu    sync.Mutex
	conns map[*conn]struct{}
	wg    sync.WaitGroup
}

// Options are what tests may replace.
type Options struct {
	// Store replaces the on-disk store in TAU_DATA_DIR.
	Store engine.Store
	// StallLimit replaces DefaultStallLimit for the liveness probe.
	StallLimit time.Duration
	// Checkpoints replace the checkpoint policy.
	Checkpoints engine.CheckpointOptions
	// PayloadBudget replaces the payload budget (batch.go); it is raised to
	// TAU_MAX_PAYLOAD_BYTES if below, so the largest batch always fits.
	PayloadBudget int64
	// PageBudget replaces the page budget (reads.go); it is raised to the largest page if
	// below, so every paged answer fits.
	PageBudget int64
	// Queued turns the fast path off: every request goes through its series' mailbox and a
	// pool worker, and every answer through the connection's writer (benchmarks compare).
	Queued bool
	// TLSPoll replaces tlsconfig.DefaultPoll, how often the TLS files are re-read without an
	// event.
	TLSPoll time.Duration
	// Cluster runs the server as one member of a cluster (TAU_INITIAL_CLUSTER): the engine
	// keeps nothing itself, every write goes through the cluster's log.
	Cluster Cluster
}

// New builds the server and binds both listeners, so a busy port fails here, at start.
func New(cfg config.Config, log *zap.Logger, reg *prometheus.Registry, opts Options) (*Server, error) {
	certs, err := cfg.LoadCertificates()
	if err != nil {
		return nil, err
	}
	keeper, err := auth.NewKeeper(certs...)
	if err != nil {
		return nil, err
	}
	log.Info("certificates loaded", zap.Int("certificates", keeper.Len()), zap.Strings("fingerprints", keeper.Fingerprints()))
	s := &Server{
		cfg: cfg, log: log, keeper: keeper,
		metrics:     newMetrics(reg),
		stop:        make(chan struct{}),
		conns:       make(map[*conn]struct{}),
		checkpoints: opts.Checkpoints,
		queued:      opts.Queued,
	}
	budget := opts.PayloadBudget
	if budget <= 0 {
		budget = max(defaultPayloadBudget, 2*int64(cfg.MaxPayloadBytes))
	}
	s.budget = newBudget(max(budget, int64(cfg.MaxPayloadBytes)), reg, payloadMetrics)
	pages := opts.PageBudget
	if pages <= 0 {
		pages = defaultPageBudget
	}
	s.pages = newBudget(max(pages, largestPage(cfg)), reg, pageMetrics)
	s.cluster = opts.Cluster
	store := opts.Store
	if opts.Cluster != nil {
		store = engine.MemoryStore() // the Raft log is the log
	}
	if s.engine, err = s.openEngine(store, reg); err != nil {
		return nil, err
	}

	s.health = newHealth(s.engine, log, opts.StallLimit)
	if cfg.CertificateFile != "" {
		s.certs = certwatch.New(cfg.CertificateFile, s.keeper, log, reg, certwatch.DefaultPoll)
	}
	if err := s.loadTLS(reg, opts.TLSPoll); err != nil {
		_ = s.engine.Close()
		return nil, err
	}
	if opts.Cluster != nil { // with the TLS pair: the peer port speaks TLS too
		if s.replica, err = opts.Cluster.Bind(s.engine, s.tls); err != nil {
			_ = s.engine.Close()
			return nil, err
		}
	}
	registerBuildInfo(reg)
	registerScrapeMetrics(reg, s)
	if err := s.listen(reg); err != nil {
		_ = s.engine.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) listen(reg *prometheus.Registry) error {
	var err error
	if s.ln, err = net.Listen("tcp", s.cfg.ListenAddress); err != nil {
		return fmt.Errorf("TAU_LISTEN_ADDRESS=%q: %w", s.cfg.ListenAddress, err)
	}
	if s.httpLn, err = net.Listen("tcp", s.cfg.HTTPAddress); err != nil {
		_ = s.ln.Close()
		return fmt.Errorf("TAU_HTTP_ADDRESS=%q: %w", s.cfg.HTTPAddress, err)
	}
	if s.cfg.HTTPTLS {
		s.httpLn = s.tls.NewListener(s.httpLn, s.tls.HTTPConfig(), listenerHTTP, httpsHandshakeTimeout)
	}
	s.http = newHTTPServer(s, reg)
	// With port 0 this line is how a supervisor (or the test harness) learns the real ports.
	// The TAU port answers only once storage is recovered ("accepting TAU connections").
	s.log.Info("listening", zap.String("tau_address", s.Addr()), zap.String("http_address", s.HTTPAddr()),
		zap.Bool("tls", s.tls != nil), zap.Bool("mutual_tls", s.tls != nil && s.tls.MutualTLS()), zap.Bool("http_tls", s.cfg.HTTPTLS))
	if s.cfg.Pprof {
		s.log.Info("profiling enabled (TAU_PPROF=true): /debug/pprof/ is served on the HTTP port",
			zap.String("address", s.HTTPAddr()))
	}
	return nil
}

// Addr is the TAU listener's address (useful with port 0).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// HTTPAddr is the HTTP listener's address.
func (s *Server) HTTPAddr() string { return s.httpLn.Addr().String() }

// Keeper holds the accepted certificates, for the file watcher.
func (s *Server) Keeper() *auth.Keeper { return s.keeper }

// AddTo adds the server's components to g. oklog/run calls the interrupts one after the other,
// in the order the actors were added, while the actors exit concurrently; so each interrupt
// returns only once its component has stopped, and the order here is the shutdown order:
//
//  1. stop taking connections and answer what was read (readiness already 503); returns once
//     every connection is closed, so no request reaches the engine after it;
//  2. stop the checkpoint loop; returns once a checkpoint it was writing has finished, since a
//     checkpoint needs the worker pool that step 3 stops;
//  3. write the final checkpoint, stop the workers and close storage; returns once closed;
//  4. stop the HTTP server (probes and metrics answer until the end); returns once it is shut;
//  5. stop the certificate and TLS file watchers; each returns once its goroutine has ended.
//
// In cluster mode the member's hand-off comes first (leadership moves before the drain), and
// its node and transport stop after step 1, before the engine they apply to.
func (s *Server) AddTo(g *run.Group) {
	if s.cluster != nil {
		s.cluster.AddHandOff(g)
	}
	g.Add(s.serveTAU, func(error) { s.shutdownTAU() })
	if s.cluster != nil {
		s.cluster.AddTo(g, s.engine.Recovered())
	}
	stopCheckpoints, checkpointsDone := make(chan struct{}), make(chan struct{})
	g.Add(func() error {
		defer close(checkpointsDone)
		return s.engine.RunCheckpoints(stopCheckpoints, s.checkpoints)
	}, func(error) {
		closeOnce(stopCheckpoints)
		<-checkpointsDone
	})
	engineDone := make(chan struct{})
	g.Add(func() error { defer close(engineDone); return s.runEngine() }, func(error) { s.stopEngine(engineDone) })
	g.Add(s.serveHTTP, func(error) { s.stopHTTP() })
	if s.certs != nil {
		addWatcher(g, s.certs.Run)
	}
	if s.tls != nil {
		addWatcher(g, s.tls.Run)
	}
}

// addWatcher runs a file watcher until the group stops.
func addWatcher(g *run.Group, watch func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	watchDone := make(chan struct{})
	g.Add(func() error { defer close(watchDone); return watch(ctx) }, func(error) {
		cancel()
		<-watchDone // like every interrupt here: return once the watcher has stopped
	})
}

// Run runs the server until ctx-like stop is closed or a component fails.
func (s *Server) Run(stop <-chan struct{}) error {
	var g run.Group
	g.Add(func() error { <-stop; return nil }, func(error) {})
	s.AddTo(&g)
	return g.Run()
}

func closeOnce(ch chan struct{}) {
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// storageRefused logs a mutation the log refused (the writer counts its answer). The first
// refusal is logged as an error (the log's own failure was logged by storage); the rest at
// debug, so a client retrying against a failed disk cannot flood the log.
func (s *Server) storageRefused(err error) {
	if errors.Is(err, engine.ErrNoSpace) {
		s.log.Debug("write refused until there is space", zap.Error(err))
		return
	}
	if s.logFailed.CompareAndSwap(false, true) {
		s.log.Error("storage refuses writes until restart; reads are still served", zap.Error(err))
		return
	}
	s.log.Debug("write refused by storage", zap.Error(err))
}
