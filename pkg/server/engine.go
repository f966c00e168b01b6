package server

import (
	"fmt"
	"time"

	"go.uber.org/zap"
)

// Checkpoint policy: the log, and with it restart time and disk use, stays bounded. A store
// that reports its log size is checkpointed once the log passes checkpointLogBytes, and in any
// case every checkpointEvery if anything was logged.
const (
	checkpointCheck    = 5 * time.Second
	checkpointEvery    = 5 * time.Minute
	checkpointLogBytes = 128 << 20
)

// logSizer is implemented by stores that know their log's size.
type logSizer interface{ LogBytes() int64 }

// runEngine recovers storage, restores the catalog, then runs the worker pool until stopped.
func (s *Server) runEngine() error {
	start := time.Now()
	states, err := s.store.Recover()
	if err != nil {
		return fmt.Errorf("recovering storage in %s: %w", s.cfg.DataDir, err)
	}
	s.catalog.Restore(states)
	s.log.Info("storage recovered", zap.Int("series", len(states)), zap.Duration("took", time.Since(start)))
	close(s.recovered)
	return s.catalog.Pool().Run()
}

// stopEngine writes a final checkpoint (so the next start replays little), stops the workers
// and closes storage. It runs after every connection is closed.
func (s *Server) stopEngine(engineDone <-chan struct{}) {
	if s.isRecovered() {
		if err := s.catalog.Checkpoint(s.store); err != nil {
			s.log.Warn("final checkpoint failed; the log will be replayed at next start", zap.Error(err))
		}
	}
	s.catalog.Pool().Stop()
	<-engineDone
	if err := s.store.Close(); err != nil {
		s.log.Error("closing storage", zap.Error(err))
	}
}

func (s *Server) isRecovered() bool {
	select {
	case <-s.recovered:
		return true
	default:
		return false
	}
}

// checkpointLoop checkpoints periodically until stop is closed.
func (s *Server) checkpointLoop(stop <-chan struct{}) error {
	select {
	case <-s.recovered:
	case <-stop:
		return nil
	}
	t := time.NewTicker(checkpointCheck)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-stop:
			return nil
		case <-t.C:
			if !s.checkpointDue(last) {
				continue
			}
			last = time.Now()
			if err := s.catalog.Checkpoint(s.store); err != nil {
				s.log.Warn("checkpoint failed", zap.Error(err))
				continue
			}
			s.log.Debug("checkpoint written", zap.Int("series", s.catalog.Len()), zap.Duration("took", time.Since(last)))
		}
	}
}

func (s *Server) checkpointDue(last time.Time) bool {
	ls, ok := s.store.(logSizer)
	if !ok {
		return time.Since(last) >= checkpointEvery
	}
	size := ls.LogBytes()
	return size >= checkpointLogBytes || (size > 0 && time.Since(last) >= checkpointEvery)
}
