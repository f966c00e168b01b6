// Package catalog routes labels to series actors. Lookups are lock-free; only creating and
// dropping a series take the catalog's lock (the original's "small RwLock on the routing table").
// Beside the routes it keeps the labels in order, for listings (index.go).
package catalog

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/taudb/tau/internal/actor"
	"github.com/taudb/tau/internal/series"
	"github.com/taudb/tau/internal/storage"
)

// Errors of creating a series.
var (
	// ErrSeriesExists: the label already names a live series (whether or not the catalog is full).
	ErrSeriesExists = errors.New("series already exists")
	// ErrCatalogFull: the catalog holds its capacity of series.
	ErrCatalogFull = errors.New("catalog full")
)

// Options size the catalog and its actor pool.
type Options struct {
	Capacity        int // most series (R10)
	Workers         int
	MailboxCapacity int
	MaxConnections  int // bounds how many dropped actors may still be scheduled
	// StorageFailed is told when the log refuses a write (for logs and metrics).
	StorageFailed func(error)
	// Enqueued observes the mailbox depth each request found.
	Enqueued func(depth int)
	// Retention expires points older than this before their series' newest (E6); 0 keeps all.
	Retention time.Duration
}

// Catalog owns the routing table and the actor pool.
type Catalog struct {
	routes        sync.Map // series.Label → *actor.Series
	index         index    // the same labels in order, for List
	mu            sync.Mutex
	count         atomic.Int64
	capacity      int
	log           storage.Log
	pool          *actor.Pool
	storageFailed func(error)
	// drops are the tickets of drops not yet known durable, by label: a series_not_found
	// for a label dropped a moment ago rests on its drop record and waits for it (R11).
	drops     sync.Map // series.Label → storage.Ticket
	dropCount atomic.Int64
}

// pruneDropsAt is how many remembered drops make the next drop forget those already durable.
const pruneDropsAt = 64

// New makes an empty catalog whose actors log to log.
func New(log storage.Log, o Options) *Catalog {
	c := &Catalog{capacity: o.Capacity, log: log, storageFailed: o.StorageFailed}
	c.pool = actor.NewPool(o.Workers, o.MailboxCapacity, o.Capacity+o.MaxConnections+o.Workers, log, actor.Hooks{
		Dropped:       c.dropped,
		StorageFailed: o.StorageFailed,
		Enqueued:      o.Enqueued,
	})
	c.pool.SetRetention(o.Retention)
	return c
}

// Pool is the worker pool, for the server's run.Group and metrics.
func (c *Catalog) Pool() *actor.Pool { return c.pool }

// Restore installs recovered series. It runs before any connection is served. More series
// than the capacity may come back (the capacity was lowered); they are kept, and creates are
// refused until drops bring the count under it.
func (c *Catalog) Restore(states []storage.SeriesState) {
	labels := make([]series.Label, 0, len(states))
	for _, st := range states {
		c.routes.Store(st.Label, c.pool.NewSeries(st.Label, st.Series, st.LastLSN, storage.Ticket{}))
		labels = append(labels, st.Label)
	}
	c.index.reset(labels)
	c.count.Store(int64(len(states)))
}

// Lookup finds a series' actor.
func (c *Catalog) Lookup(l series.Label) (*actor.Series, bool) {
	s, ok := c.routes.Load(l)
	if !ok {
		return nil, false
	}
	return s.(*actor.Series), true
}

// Create makes an empty series: ErrSeriesExists for a live label whether or not the catalog is
// full, checked first; ErrCatalogFull beyond capacity; actor.ErrStorageFailed when the log
// refuses the record. The ticket resolves once the creation is durable.
func (c *Catalog) Create(l series.Label) (storage.Ticket, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.routes.Load(l); ok {
		t := s.(*actor.Series).Created()
		if !t.Ready() || t.Wait() == nil {
			return t, ErrSeriesExists
		}
		// The log refused that create (a full disk): the series never existed. Its actor
		// leaves on its own when it next runs; the label is free now.
		c.routes.Delete(l)
		c.index.remove(l)
		c.count.Add(-1)
	}
	if c.count.Load() >= int64(c.capacity) {
		return storage.Ticket{}, ErrCatalogFull
	}
	rec := storage.Record{Type: storage.RecordCreate, Label: l}
	t, err := c.log.Append(&rec)
	if err != nil {
		if c.storageFailed != nil {
			c.storageFailed(err)
		}
		return storage.Ticket{}, actor.StorageFailed(err)
	}
	c.routes.Store(l, c.pool.NewSeries(l, nil, rec.LSN, t))
	c.index.insert(l)
	c.count.Add(1)
	if _, ok := c.drops.LoadAndDelete(l); ok {
		c.dropCount.Add(-1) // the create follows the drop in the log: it decides from now on
	}
	return t, nil
}

// dropped removes a series once its actor has logged the drop. Requests that found the actor
// before this are answered series_not_found by the actor itself.
func (c *Catalog) dropped(s *actor.Series) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.routes.Load(s.Label()); ok && cur == s {
		c.routes.Delete(s.Label())
		c.index.remove(s.Label())
		c.count.Add(-1)
		if t := s.LastTicket(); !t.Ready() {
			if _, loaded := c.drops.Swap(s.Label(), t); !loaded {
				c.dropCount.Add(1)
			}
			c.pruneDrops()
		}
	}
}

// pruneDrops forgets the drops already durable once enough are remembered. Under mu.
func (c *Catalog) pruneDrops() {
	if c.dropCount.Load() < pruneDropsAt {
		return
	}
	c.drops.Range(func(k, v any) bool {
		if v.(storage.Ticket).Ready() {
			c.drops.Delete(k)
			c.dropCount.Add(-1)
		}
		return true
	})
}

// NotFound is the ticket a series_not_found for l rests on: its drop's, while that drop is
// not known durable, and the zero (resolved) ticket otherwise.
func (c *Catalog) NotFound(l series.Label) storage.Ticket {
	v, ok := c.drops.Load(l)
	if !ok {
		return storage.Ticket{}
	}
	return v.(storage.Ticket)
}

// List appends to dst the labels of live series >= start, ascending byte-wise, at most limit
// of them (1..MaxListLimit; any other value means MaxListLimit), and reports whether further
// labels follow the last one. The page is one consistent instant of the catalog (index.go).
func (c *Catalog) List(start series.Label, limit int, dst []series.Label) (labels []series.Label, more bool) {
	return c.index.page(start, limit, dst)
}

// Len is the number of live series.
func (c *Catalog) Len() int { return int(c.count.Load()) }

// Each calls fn for every live series; fn must not create or drop.
func (c *Catalog) Each(fn func(*actor.Series)) {
	c.routes.Range(func(_, v any) bool {
		fn(v.(*actor.Series))
		return true
	})
}
