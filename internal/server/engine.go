package server

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/taudb/tau/internal/engine"
)

// openEngine builds the engine from the operator's configuration.
func (s *Server) openEngine(store engine.Store, reg prometheus.Registerer) (*engine.Engine, error) {
	cfg := s.cfg
	dir := cfg.DataDir
	if s.clusterMode() {
		dir = "" // lenses too are the log's: the member holds the directory's lock
	}
	return engine.Open(engine.Options{
		Dir: dir, Fsync: cfg.Fsync, FsyncInterval: cfg.FsyncInterval,
		Capacity: cfg.CatalogCapacity, Workers: cfg.PoolSize(), MailboxCapacity: cfg.MailboxCapacity,
		Retention:     cfg.Retention,
		LensCapacity:  cfg.LensCapacity,
		MaxCallers:    cfg.MaxConnections,
		Store:         store,
		StorageFailed: s.storageRefused,
		Enqueued:      s.metrics.enqueueDepth.observe,
		Queued:        s.queued,
	}, s.log, reg)
}

// runEngine recovers storage, then runs the actor pool until stopped.
func (s *Server) runEngine() error {
	start := time.Now()
	n, err := s.engine.Recover()
	if err != nil {
		return fmt.Errorf("recovering storage in %s: %w", s.cfg.DataDir, err)
	}
	s.log.Info("storage recovered", zap.Int("series", n), zap.Int("lenses", s.engine.Lenses()),
		zap.Duration("took", time.Since(start)))
	return s.engine.Run()
}

// stopEngine writes a final checkpoint (so the next start replays little), stops the workers
// and closes storage. It runs after every connection is closed and the checkpoint loop has
// returned, and returns once the pool has stopped and storage is closed.
func (s *Server) stopEngine(engineDone <-chan struct{}) {
	s.engine.Stop()
	<-engineDone
	if err := s.engine.Close(); err != nil {
		s.log.Error("closing storage", zap.Error(err))
	}
}

// clusterMode reports whether the server is one member of a cluster.
func (s *Server) clusterMode() bool { return s.cluster != nil }
