package lens

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/taudb/tau/internal/series"
	"github.com/taudb/tau/internal/storage/vfs"
)

// DefaultCapacity is TAU_LENS_CAPACITY's default: the most lenses.
const DefaultCapacity = 1000

// Errors of the registry's operations; the engine re-exports them, front ends map them.
var (
	// ErrNotFound: the label names no lens.
	ErrNotFound = errors.New("lens not found")
	// ErrExists: CREATE_LENS or COMPOSE_LENS of a label that names a lens.
	ErrExists = errors.New("lens already exists")
	// ErrCapacity: a new lens beyond the capacity.
	ErrCapacity = errors.New("lens capacity reached")
	// ErrUnknownTransform: CREATE_LENS with a name no transform has.
	ErrUnknownTransform = errors.New("unknown transform")
	// ErrChainTooLong: COMPOSE_LENS of two lenses whose chains together exceed MaxChain.
	ErrChainTooLong = errors.New("lens chain too long")
	// ErrStore: the lens state could not be made durable; the change was not made. It wraps
	// the cause.
	ErrStore = errors.New("lens store failed")
)

// Lens is one lens: a source series read through a chain.
type Lens struct {
	Label  series.Label
	Source series.Label
	Chain  Chain // never empty, at most MaxChain steps; never changed
}

// Options configure a registry.
type Options struct {
	// Dir holds the durable state (store.go); "" keeps lenses in memory only (tests).
	Dir string
	// FS is the filesystem for Dir; nil is the real one (vfs.OS).
	FS vfs.FS
	// Capacity is the most lenses; 0 means DefaultCapacity.
	Capacity int
	// Logger reports skipped damaged state and failures; nil logs nothing.
	Logger *zap.Logger
}

// Registry holds the lenses. Reads (Get, List, Len) see an immutable snapshot without a lock;
// changes, which are rare, run one at a time under mu, each rewriting the durable state before
// the new snapshot is published: a change that was answered is on disk (R11), and a change
// that failed is neither on disk nor seen.
type Registry struct {
	capacity int
	log      *zap.Logger
	store    *store // nil: memory only

	mu     sync.Mutex
	loaded bool
	closed bool
	cur    atomic.Pointer[[]Lens] // sorted by label, byte-wise; never changed once published
}

// Open prepares a registry over o.Dir (creating it); nothing is read until Load.
func Open(o Options) (*Registry, error) {
	r := &Registry{capacity: o.Capacity, log: o.Logger}
	if r.capacity <= 0 {
		r.capacity = DefaultCapacity
	}
	if r.log == nil {
		r.log = zap.NewNop()
	}
	if o.Dir != "" {
		fs := o.FS
		if fs == nil {
			fs = vfs.OS
		}
		if err := fs.MkdirAll(o.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("lens: %w", err)
		}
		r.store = &store{fs: fs, dir: o.Dir, log: r.log}
	}
	r.cur.Store(&[]Lens{})
	return r, nil
}

// Load reads the durable state (the newest valid file; store.go) and returns the number of
// lenses. It runs once, before the first change. More lenses than the capacity may load (a
// capacity lowered since): they are all kept, and new ones are refused until some are dropped.
func (r *Registry) Load() (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.store != nil {
		lenses, err := r.store.load()
		if err != nil {
			return 0, err
		}
		r.cur.Store(&lenses)
	}
	r.loaded = true
	return r.Len(), nil
}

// Close refuses further changes. The state needs no flushing: every change was durable when
// it returned.
func (r *Registry) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	return nil
}

// Capacity is the most lenses the registry takes.
func (r *Registry) Capacity() int { return r.capacity }

// Len is the number of lenses.
func (r *Registry) Len() int { return len(*r.cur.Load()) }

// Get finds the lens l.
func (r *Registry) Get(l series.Label) (Lens, bool) {
	lenses := *r.cur.Load()
	i, ok := find(lenses, l)
	if !ok {
		return Lens{}, false
	}
	return lenses[i], true
}

// List appends every lens label to dst, ascending byte-wise.
func (r *Registry) List(dst []series.Label) []series.Label {
	for _, ln := range *r.cur.Load() {
		dst = append(dst, ln.Label)
	}
	return dst
}

// Create makes lens l: source through one transform. Checks, in E5's order: the transform's
// name (ErrUnknownTransform), the capacity (ErrCapacity), the label (ErrExists). The source
// need not exist.
func (r *Registry) Create(l, source series.Label, transform string) error {
	t, ok := Parse(transform)
	if !ok {
		return ErrUnknownTransform
	}
	return r.change(func(cur []Lens) ([]Lens, error) {
		return r.insert(cur, Lens{Label: l, Source: source, Chain: Chain{t}})
	})
}

// Compose makes lens l: first's source through first's chain, then second's. Checks, in E5's
// order: first (ErrNotFound), second (ErrNotFound), the capacity, the label; then this
// server's bound on chains (ErrChainTooLong). The new lens is a copy: dropping first or second
// later leaves it as it is.
func (r *Registry) Compose(l, first, second series.Label) error {
	return r.change(func(cur []Lens) ([]Lens, error) {
		i, ok := find(cur, first)
		if !ok {
			return nil, ErrNotFound
		}
		j, ok := find(cur, second)
		if !ok {
			return nil, ErrNotFound
		}
		a, b := cur[i], cur[j]
		if len(cur) >= r.capacity {
			return nil, ErrCapacity
		}
		if _, taken := find(cur, l); taken {
			return nil, ErrExists
		}
		if len(a.Chain)+len(b.Chain) > MaxChain {
			return nil, ErrChainTooLong
		}
		chain := append(append(make(Chain, 0, len(a.Chain)+len(b.Chain)), a.Chain...), b.Chain...)
		return r.insert(cur, Lens{Label: l, Source: a.Source, Chain: chain})
	})
}

// Restore makes lens l with the whole chain of another server's lens (cluster mode seeding
// its log from a single node's lenses): the transforms by name (ErrUnknownTransform), the
// chain's bound (ErrChainTooLong), then the capacity and the label as Create.
func (r *Registry) Restore(l, source series.Label, transforms []string) error {
	chain := make(Chain, 0, len(transforms))
	for _, name := range transforms {
		t, ok := Parse(name)
		if !ok {
			return ErrUnknownTransform
		}
		chain = append(chain, t)
	}
	if len(chain) == 0 || len(chain) > MaxChain {
		return ErrChainTooLong
	}
	return r.change(func(cur []Lens) ([]Lens, error) {
		return r.insert(cur, Lens{Label: l, Source: source, Chain: chain})
	})
}

// Drop removes lens l (ErrNotFound when there is none). Lenses composed from it keep their
// own chains.
func (r *Registry) Drop(l series.Label) error {
	return r.change(func(cur []Lens) ([]Lens, error) {
		i, ok := find(cur, l)
		if !ok {
			return nil, ErrNotFound
		}
		return slices.Delete(slices.Clone(cur), i, i+1), nil
	})
}

// insert returns cur with ln added in order, after the capacity and label checks.
func (r *Registry) insert(cur []Lens, ln Lens) ([]Lens, error) {
	if len(cur) >= r.capacity {
		return nil, ErrCapacity
	}
	i, taken := find(cur, ln.Label)
	if taken {
		return nil, ErrExists
	}
	next := make([]Lens, 0, len(cur)+1)
	next = append(append(append(next, cur[:i]...), ln), cur[i:]...)
	return next, nil
}

// errNotServing is inside ErrStore for a change before Load or after Close.
var errNotServing = errors.New("lens registry not loaded, or closed")

// change runs one change under mu: edit computes the new set from the current one (or
// refuses), the store makes it durable, and only then is it published.
func (r *Registry) change(edit func(cur []Lens) ([]Lens, error)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.loaded || r.closed {
		return fmt.Errorf("%w: %w", ErrStore, errNotServing)
	}
	next, err := edit(*r.cur.Load())
	if err != nil {
		return err
	}
	if r.store != nil {
		if err := r.store.save(next); err != nil {
			return fmt.Errorf("%w: %w", ErrStore, err)
		}
	}
	r.cur.Store(&next)
	return nil
}

// find is the position of l in lenses (sorted), or where it would go.
func find(lenses []Lens, l series.Label) (int, bool) {
	return slices.BinarySearchFunc(lenses, l, func(ln Lens, l series.Label) int { return series.Compare(ln.Label, l) })
}
