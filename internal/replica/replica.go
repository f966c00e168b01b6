// Package replica is the engine replicated through Raft (cluster mode, PROTOCOL.md C1–C8):
// every write becomes a command in the cluster's log and is applied to every replica's engine
// in log order (machine.go); every read first waits until this replica has applied what was
// committed when it began (ReadIndex), then reads the local engine. A front end calls it as
// it calls the engine, and maps the same errors, plus ErrOutcomeUnknown.
package replica

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/taudb/tau/internal/cluster"
	"github.com/taudb/tau/internal/engine"
	"github.com/taudb/tau/internal/series"
)

// ErrOutcomeUnknown is a write that reached the cluster but was not applied here before the
// deadline; it may still apply, so the client must read to find out (C5: internal_error).
var ErrOutcomeUnknown = errors.New("replica: outcome unknown")

// Replica is one node's engine behind its Raft node.
type Replica struct {
	node *cluster.Node
	e    *engine.Engine
	m    *machine
}

// New binds engine e, which must log nothing itself (engine.MemoryStore: the Raft log is the
// log), to the node that replicates it. StateMachine is what the node's Config takes; its
// snapshots are files in snaps (nil: none can be taken).
func New(e *engine.Engine, snaps *Snapshots) (*Replica, cluster.StateMachine) {
	m := newMachine(e, snaps)
	return &Replica{e: e, m: m}, m
}

// Attach gives the replica its node, once built with the state machine New returned.
func (r *Replica) Attach(n *cluster.Node) { r.node = n }

// Settings are the settings that decide outcomes (CONFIG.md: members must not disagree on
// them): the first member to propose them puts them in the log, and a member whose own differ
// is told (Replica.CheckSettings).
type Settings struct {
	CatalogCapacity, LensCapacity int
	Retention                     time.Duration
}

// CheckSettings gives the replica this member's settings, and differ, which is called (on the
// node's loop, so it must not block) whenever the cluster's settings, once in the log, are not
// the same.
func (r *Replica) CheckSettings(mine Settings, differ func(mine, cluster Settings)) {
	r.m.mine, r.m.differ = mine, differ
}

// ClusterSettings are the cluster's settings, and whether the log has them yet.
func (r *Replica) ClusterSettings() (Settings, bool) {
	s := r.m.settings.Load()
	if s == nil {
		return Settings{}, false
	}
	return *s, true
}

// ProposeSettings puts this member's settings in the log unless it has some already.
func (r *Replica) ProposeSettings(ctx context.Context) error {
	return r.propose(ctx, &command{op: opSettings, settings: r.m.mine})
}

// Engine is the local engine, for reads after Read.
func (r *Replica) Engine() *engine.Engine { return r.e }

func (r *Replica) propose(ctx context.Context, c *command) error {
	v, err := r.node.Propose(ctx, c.encode())
	return outcome(v, err)
}

// outcome is a proposal's result as the engine's errors: ErrBusy when nothing was done,
// ErrOutcomeUnknown when it may still apply, else what the state machine decided.
func outcome(v any, err error) error {
	switch {
	case errors.Is(err, cluster.ErrBusy), errors.Is(err, cluster.ErrStopped):
		return fmt.Errorf("%w: %w", engine.ErrBusy, err)
	case errors.Is(err, cluster.ErrUnknown):
		return ErrOutcomeUnknown
	case err != nil:
		return err
	}
	if v == nil {
		return nil
	}
	return v.(error)
}

// Write is one write request, as a front end submits it (Submit).
type Write struct {
	Op        Op
	Label     series.Label
	TS        int64               // OpAppend
	Bits      uint64              // OpAppend
	Points    []engine.BatchPoint // OpBatch; the caller's again once Submit returns
	Other     series.Label        // OpCreateLens: the source; OpComposeLens: the first lens
	Second    series.Label        // OpComposeLens
	Transform string              // OpCreateLens
	Chain     []string            // OpRestoreLens: the transforms, by name
}

// Op is a write's kind.
type Op = op

// The write kinds a front end submits.
const (
	OpCreate      = opCreate
	OpDrop        = opDrop
	OpAppend      = opAppend
	OpBatch       = opBatch
	OpCreateLens  = opCreateLens
	OpDropLens    = opDropLens
	OpComposeLens = opComposeLens
	OpRestoreLens = opRestoreLens
)

// Submit proposes w and returns at once; done receives its outcome exactly once, as the
// blocking calls below return it, within timeout (ErrOutcomeUnknown after). Writes submitted
// one after the other by one goroutine are ordered in the log as they were submitted. done
// must not block.
func (r *Replica) Submit(w *Write, timeout time.Duration, done func(error)) {
	c := command{op: w.Op, label: w.Label, ts: w.TS, bits: w.Bits, points: w.Points,
		other: w.Other, second: w.Second, transform: w.Transform, chain: w.Chain}
	r.node.Submit(c.encode(), timeout, func(v any, err error) { done(outcome(v, err)) })
}

// Do proposes w and waits for its outcome, as Submit's done receives it.
func (r *Replica) Do(ctx context.Context, w *Write) error {
	c := command{op: w.Op, label: w.Label, ts: w.TS, bits: w.Bits, points: w.Points,
		other: w.Other, second: w.Second, transform: w.Transform, chain: w.Chain}
	return r.propose(ctx, &c)
}

// Create makes an empty series on every replica.
func (r *Replica) Create(ctx context.Context, l series.Label) error {
	return r.propose(ctx, &command{op: opCreate, label: l})
}

// Drop removes a series on every replica.
func (r *Replica) Drop(ctx context.Context, l series.Label) error {
	return r.propose(ctx, &command{op: opDrop, label: l})
}

// Append adds a point on every replica (ErrOutOfOrder as the engine decides it, in log order).
func (r *Replica) Append(ctx context.Context, l series.Label, ts int64, bits uint64) error {
	return r.propose(ctx, &command{op: opAppend, label: l, ts: ts, bits: bits})
}

// AppendBatch adds points atomically on every replica.
func (r *Replica) AppendBatch(ctx context.Context, l series.Label, pts []engine.BatchPoint) error {
	return r.propose(ctx, &command{op: opBatch, label: l, points: pts})
}

// CreateLens makes a lens on every replica.
func (r *Replica) CreateLens(ctx context.Context, l, source series.Label, transform string) error {
	return r.propose(ctx, &command{op: opCreateLens, label: l, other: source, transform: transform})
}

// DropLens removes a lens on every replica.
func (r *Replica) DropLens(ctx context.Context, l series.Label) error {
	return r.propose(ctx, &command{op: opDropLens, label: l})
}

// ComposeLens makes a lens of two on every replica.
func (r *Replica) ComposeLens(ctx context.Context, l, first, second series.Label) error {
	return r.propose(ctx, &command{op: opComposeLens, label: l, other: first, second: second})
}

// Read returns once a read of the local engine is linearizable (C2): it has applied every
// write committed before the call. ErrBusy when no leader answers before ctx ends.
func (r *Replica) Read(ctx context.Context) error {
	if err := r.node.Read(ctx); err != nil {
		return fmt.Errorf("%w: %w", engine.ErrBusy, err)
	}
	return nil
}

// QueryPoint is a linearizable QUERY_POINT.
func (r *Replica) QueryPoint(ctx context.Context, l series.Label, ts int64) (bits uint64, found bool, err error) {
	if err := r.Read(ctx); err != nil {
		return 0, false, err
	}
	res := engine.NewResult()
	r.e.QueryPoint(l, ts, res)
	res.Wait()
	if err := res.Durable(); err != nil {
		return 0, false, err
	}
	return res.Value(), res.Found(), nil
}

// SeriesInfo is a linearizable SERIES_INFO.
func (r *Replica) SeriesInfo(ctx context.Context, l series.Label) (engine.SeriesInfo, error) {
	if err := r.Read(ctx); err != nil {
		return engine.SeriesInfo{}, err
	}
	res := engine.NewResult()
	r.e.SeriesInfo(l, res)
	res.Wait()
	return res.Info(), res.Durable()
}
