package member

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/taudb/tau/internal/engine"
	"github.com/taudb/tau/internal/replica"
	"github.com/taudb/tau/internal/series"
)

// A data directory written by a single node can found a cluster (CONFIG.md): its node starts
// the cluster alone (TAU_INITIAL_CLUSTER names it only), becomes its leader, and writes the
// single node's series, points and lenses into the cluster's log as ordinary commands; the
// others then join with `tau cluster add` and receive them with the log. The node is not
// ready until that is done. Seeding is idempotent (a command that finds its effect there is
// refused as exists or out of order, which is ignored), so a crash midway seeds again from the
// start; once done, the identity says so and the single node's files move to SeededDir.

// SeededDir is where a seeded node keeps the single node's files, for the operator to delete.
const SeededDir = "single-node-seeded"

// singleNodeDirs are the single node's parts of a data directory.
var singleNodeDirs = []string{"wal", "checkpoint", "chunks", engine.LensDir}

// seedBatch is how many points one seeding command carries.
const seedBatch = 8192

// checkSeed decides, at Open, whether this node seeds the cluster from a single node's data.
func (m *Member) checkSeed() error {
	if m.id.Seeded || !singleNodeData(m.cfg.DataDir) {
		return nil
	}
	if len(m.cl.Founders) != 1 || !m.cl.Founder {
		return &ConfigError{fmt.Errorf("TAU_DATA_DIR=%q holds a single node's data, which can found a cluster only on its own: set TAU_INITIAL_CLUSTER to this node alone (%s=HOST:PORT), then add the others with tau cluster add (docs/cluster.md)", m.cfg.DataDir, m.cl.Node)}
	}
	m.seeding.Store(true)
	return nil
}

// seed writes the single node's data into the log once this node leads. It returns once
// done, or when ctx ends.
func (m *Member) seed(ctx context.Context) error {
	for !m.node.IsLeader() {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(50 * time.Millisecond):
		}
	}
	start := time.Now()
	e, err := engine.Open(engine.Options{Dir: m.cfg.DataDir, LockHeld: true, Fsync: m.cfg.Fsync,
		FsyncInterval: m.cfg.FsyncInterval, Capacity: m.cfg.CatalogCapacity, Workers: m.cfg.PoolSize(),
		MailboxCapacity: m.cfg.MailboxCapacity, LensCapacity: m.cfg.LensCapacity, MaxCallers: 1}, m.log, nil)
	if err != nil {
		return fmt.Errorf("opening the single node's data: %w", err)
	}
	n, err := e.Recover()
	if err != nil {
		_ = e.Close()
		return fmt.Errorf("recovering the single node's data: %w", err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = e.Run() }()
	points, err := m.seedFrom(ctx, e)
	e.Stop()
	<-done
	if cerr := e.Close(); err == nil {
		err = cerr
	}
	if err != nil || ctx.Err() != nil {
		return err
	}
	if err := m.finishSeed(); err != nil {
		return err
	}
	m.log.Info("the cluster is seeded with the single node's data", zap.Int("series", n),
		zap.Int64("points", points), zap.Duration("took", time.Since(start)))
	m.seeding.Store(false)
	return nil
}

// seedFrom proposes every series (with its points, in batches) and every lens of e.
func (m *Member) seedFrom(ctx context.Context, e *engine.Engine) (int64, error) {
	var points int64
	err := e.EachSeries(func(l series.Label) error {
		if err := m.seedWrite(ctx, &replica.Write{Op: replica.OpCreate, Label: l}); err != nil {
			return err
		}
		var pts []engine.BatchPoint
		flush := func() error {
			if len(pts) == 0 {
				return nil
			}
			err := m.seedWrite(ctx, &replica.Write{Op: replica.OpBatch, Label: l, Points: pts})
			points += int64(len(pts))
			pts = nil
			return err
		}
		var werr error
		if err := e.EachPoint(l, func(p engine.BatchPoint) {
			if pts = append(pts, p); len(pts) == seedBatch && werr == nil {
				werr = flush()
			}
		}); err != nil {
			return err
		}
		if werr != nil {
			return werr
		}
		return flush()
	})
	if err != nil {
		return points, err
	}
	for _, d := range e.LensDefinitions() {
		w := &replica.Write{Op: replica.OpRestoreLens, Label: d.Label, Other: d.Source, Chain: d.Transforms}
		if err := m.seedWrite(ctx, w); err != nil {
			return points, err
		}
	}
	return points, nil
}

// seedWrite proposes w until its outcome is known; an effect already there (a seeding cut
// short before) is not an error.
func (m *Member) seedWrite(ctx context.Context, w *replica.Write) error {
	for {
		wctx, cancel := context.WithTimeout(ctx, m.cfg.RequestTimeout)
		err := m.rep.Do(wctx, w)
		cancel()
		switch {
		case err == nil, errors.Is(err, engine.ErrSeriesExists), errors.Is(err, engine.ErrOutOfOrder),
			errors.Is(err, engine.ErrLensExists):
			return nil
		case ctx.Err() != nil:
			return nil //nolint:nilerr // stopping: the seeding resumes at the next start
		case errors.Is(err, engine.ErrBusy), errors.Is(err, replica.ErrOutcomeUnknown):
			time.Sleep(100 * time.Millisecond) // again: a repeat finds its effect there
		default:
			return fmt.Errorf("seeding %v: %w", w.Label, err)
		}
	}
}

// finishSeed records that seeding is done, then moves the single node's files aside.
func (m *Member) finishSeed() error {
	m.id.Seeded = true
	if err := saveIdentity(filepath.Join(m.cfg.DataDir, RaftDir), m.id); err != nil {
		return err
	}
	aside := filepath.Join(m.cfg.DataDir, SeededDir)
	if err := os.MkdirAll(aside, 0o755); err != nil {
		return err
	}
	for _, d := range singleNodeDirs {
		from := filepath.Join(m.cfg.DataDir, d)
		if _, err := os.Stat(from); err == nil {
			if err := os.Rename(from, filepath.Join(aside, d)); err != nil {
				return err
			}
		}
	}
	return nil
}
