package engine

import (
	"errors"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/taudb/tau/internal/catalog"
	"github.com/taudb/tau/internal/dirlock"
	"github.com/taudb/tau/internal/lens"
	"github.com/taudb/tau/internal/storage"
	"github.com/taudb/tau/internal/storage/vfs"
)

// Store is where the engine keeps its effects: the on-disk store, or another for tests.
type Store = storage.Store

// Options configure an engine. Zero values take the defaults of the TAU_* variables
// (internal/config) where one exists.
type Options struct {
	Dir             string        // data directory of the on-disk store
	Fsync           string        // "always" or "interval"
	FsyncInterval   time.Duration // for "interval"
	Capacity        int           // most series
	Workers         int           // actor pool size
	MailboxCapacity int           // per-series mailbox
	Retention       time.Duration // E6: points older than this before their series' newest expire; 0 keeps all
	LensCapacity    int           // E5: most lenses
	// LensFS is the filesystem of the lenses' state in Dir/lenses (nil: the real one; tests
	// inject faults). Lenses are durable whenever Dir is set, whatever Store is; with no Dir
	// they are kept in memory only.
	LensFS vfs.FS
	// MaxCallers bounds how many callers may race with a drop (the server's connection limit);
	// it sizes the run queue so that no caller ever blocks on it.
	MaxCallers int
	// Store replaces the on-disk store in Dir (tests).
	Store Store
	// Enqueued observes the mailbox depth each request found (a front end's histogram).
	Enqueued func(depth int)
	// StorageFailed is told when the log refuses a write (a front end's logs and metrics).
	StorageFailed func(error)
	// Queued sends every request through the mailboxes and the worker pool, never running an
	// idle series' actor on the caller's goroutine (benchmarks compare the two).
	Queued bool
	// LockHeld says the caller already holds Dir's lock (a cluster member reading the single
	// node's data it founds the cluster with): Open takes none.
	LockHeld bool
}

// Engine is the core of one server. Its lifecycle: Open, Recover, Run (until Stop), then
// Close; checkpoints run beside it with RunCheckpoints.
type Engine struct {
	log     *zap.Logger
	store   Store
	catalog *catalog.Catalog
	lenses  *lens.Registry
	dirLock *dirlock.Lock // held from Open to Close whenever there is a data directory

	events   *events
	capacity int // most series, as refusals log it

	recovered chan struct{} // closed once Recover has succeeded
	inline    bool          // run an idle actor on the caller's goroutine (Options.Queued unset)

	checkpointMu sync.Mutex // one checkpoint at a time: the periodic one and the final one
	stopped      bool       // under checkpointMu: the pool is stopped, no more checkpoints
}

// LensDir is where the lenses' state lives in a data directory.
const LensDir = "lenses"

// Open opens the store (unless Options.Store is given) and the lenses' state, and builds an
// empty engine. Nothing is read from disk until Recover.
//
// A data directory is locked first, before anything in it is read or written: a second
// process on it gets a *dirlock.HeldError.
func Open(o Options, log *zap.Logger, reg prometheus.Registerer) (*Engine, error) {
	var lock *dirlock.Lock
	if o.Dir != "" && !o.LockHeld {
		var err error
		if lock, err = dirlock.Acquire(o.Dir); err != nil {
			return nil, err
		}
	}
	e, err := open(o, lock, log, reg)
	if err != nil {
		_ = lock.Release()
		return nil, err
	}
	return e, nil
}

func open(o Options, lock *dirlock.Lock, log *zap.Logger, reg prometheus.Registerer) (*Engine, error) {
	store := o.Store
	if store == nil {
		policy, err := storage.ParseFsyncPolicy(o.Fsync)
		if err != nil {
			return nil, err
		}
		store, err = storage.OpenDisk(o.Dir, storage.DiskOptions{
			Fsync: policy, Interval: o.FsyncInterval, Logger: log, Registerer: reg,
		})
		if err != nil {
			return nil, err
		}
	}
	lo := lens.Options{FS: o.LensFS, Capacity: o.LensCapacity, Logger: log}
	if o.Dir != "" {
		lo.Dir = filepath.Join(o.Dir, LensDir)
	}
	lenses, err := lens.Open(lo)
	if err != nil {
		if o.Store == nil {
			_ = store.Close() // opened here: nothing was written yet
		}
		return nil, err
	}
	e := &Engine{log: log, store: store, lenses: lenses, dirLock: lock, recovered: make(chan struct{}), inline: !o.Queued,
		events: newEvents(reg), capacity: o.Capacity}
	e.catalog = catalog.New(store, catalog.Options{
		Capacity: o.Capacity, Workers: o.Workers, MailboxCapacity: o.MailboxCapacity,
		MaxConnections: o.MaxCallers, StorageFailed: o.StorageFailed, Enqueued: o.Enqueued,
		Retention: o.Retention,
	})
	registerMetrics(reg, e, o.Capacity, lenses.Capacity())
	if reg != nil && o.Dir != "" {
		reg.MustRegister(newDiskCollector(o.Dir))
	}
	return e, nil
}

// MemoryStore is a store that keeps nothing, for tests that need no durability.
func MemoryStore() Store { return storage.NewMemory() }

// Recover loads what the store holds, and the lenses. It runs once, before Run serves
// requests; it returns the number of series recovered (Lenses counts the lenses).
func (e *Engine) Recover() (int, error) {
	if _, err := e.lenses.Load(); err != nil {
		return 0, err
	}
	states, err := e.store.Recover()
	if err != nil {
		return 0, err
	}
	e.catalog.Restore(states)
	close(e.recovered)
	return len(states), nil
}

// Recovered is closed once Recover has succeeded.
func (e *Engine) Recovered() <-chan struct{} { return e.recovered }

func (e *Engine) isRecovered() bool {
	select {
	case <-e.recovered:
		return true
	default:
		return false
	}
}

// Run runs the actor pool until Stop; it is the engine's run.Group actor.
func (e *Engine) Run() error { return e.catalog.Pool().Run() }

// Stop writes a final checkpoint (when recovered, so the next start replays little) and stops
// the actor pool. Call it only once no caller sends requests any more. It waits for a running
// checkpoint to finish first (a snapshot needs the pool), and later checkpoints do nothing.
func (e *Engine) Stop() {
	e.checkpointMu.Lock()
	defer e.checkpointMu.Unlock()
	if e.isRecovered() && !e.stopped {
		_ = e.checkpointLocked(true) // a failure is counted and logged; the log is replayed at next start
	}
	e.stopped = true
	e.catalog.Pool().Stop()
}

// Close syncs and closes the store, and refuses further lens changes, after Run has returned.
func (e *Engine) Close() error {
	lerr := e.lenses.Close()
	serr := e.store.Close()
	// Only once storage is closed may another process have the directory.
	if err := e.dirLock.Release(); lerr == nil {
		lerr = err
	}
	if serr != nil {
		return serr
	}
	return lerr
}

// ErrStopped is returned by Checkpoint once the engine is stopping.
var ErrStopped = errors.New("engine stopped")

// Checkpoint writes every series to the store so the log before it can go.
func (e *Engine) Checkpoint() error {
	e.checkpointMu.Lock()
	defer e.checkpointMu.Unlock()
	if e.stopped {
		return ErrStopped
	}
	return e.checkpointLocked(false)
}

// checkpointLocked writes the checkpoint under checkpointMu; a failure is counted and logged.
func (e *Engine) checkpointLocked(final bool) error {
	err := e.catalog.Checkpoint(e.store)
	if err != nil {
		e.checkpointFailed(err, final)
	}
	return err
}

// Len is the number of live series.
func (e *Engine) Len() int { return e.catalog.Len() }

// StorageFailure is why the store refuses writes, nil while it takes them (or when the store
// cannot tell). ErrFsyncFailed inside it means the log cannot be trusted until a restart.
func (e *Engine) StorageFailure() error {
	if f, ok := e.store.(interface{ Failure() error }); ok {
		return f.Failure()
	}
	return nil
}

// ErrFsyncFailed is inside StorageFailure once an fsync of the log failed.
var ErrFsyncFailed = storage.ErrFsyncFailed

// ErrNoSpace is inside a write's storage failure when a full disk refused it: the log takes
// writes again once there is space.
var ErrNoSpace = storage.ErrNoSpace
