package client

import (
	"context"
	"iter"
	"sync"
	"sync/atomic"

	"github.com/taudb/tau/pkg/protocol"
)

// Pool spreads requests over a few connections to one server, dialling them when first needed
// and again after one breaks. It is safe for concurrent use. Since every Conn pipelines, a
// handful of connections is usually enough.
type Pool struct {
	addr  string
	cert  protocol.Certificate
	opts  *Options
	next  atomic.Uint64
	slots []poolSlot

	closeOnce sync.Once
	closed    atomic.Bool
}

type poolSlot struct {
	mu sync.Mutex
	c  *Conn
}

// NewPool makes a pool of up to size connections (at least 1). It dials nothing yet.
func NewPool(addr string, cert protocol.Certificate, size int, opts *Options) *Pool {
	return &Pool{addr: addr, cert: cert, opts: opts, slots: make([]poolSlot, max(size, 1))}
}

// Get returns a usable connection, taking the slots in turn. The connection stays the pool's:
// do not Close it.
func (p *Pool) Get(ctx context.Context) (*Conn, error) {
	if p.closed.Load() {
		return nil, ErrClosed
	}
	s := &p.slots[p.next.Add(1)%uint64(len(p.slots))]
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c != nil && s.c.Err() == nil {
		return s.c, nil
	}
	if s.c != nil {
		_ = s.c.Close() // it has already failed: s.c.Err() != nil
		s.c = nil
	}
	c, err := Dial(ctx, p.addr, p.cert, p.opts)
	if err != nil {
		return nil, err
	}
	s.c = c
	return c, nil
}

// Close closes every connection; later Gets fail with ErrClosed.
func (p *Pool) Close() error {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		for i := range p.slots {
			s := &p.slots[i]
			s.mu.Lock()
			if s.c != nil {
				_ = s.c.Close()
				s.c = nil
			}
			s.mu.Unlock()
		}
	})
	return nil
}

// Ping is Conn.Ping on one of the pool's connections.
func (p *Pool) Ping(ctx context.Context) error {
	c, err := p.Get(ctx)
	if err != nil {
		return err
	}
	return c.Ping(ctx)
}

// Create is Conn.Create on one of the pool's connections.
func (p *Pool) Create(ctx context.Context, l protocol.Label) error {
	c, err := p.Get(ctx)
	if err != nil {
		return err
	}
	return c.Create(ctx, l)
}

// Drop is Conn.Drop on one of the pool's connections.
func (p *Pool) Drop(ctx context.Context, l protocol.Label) error {
	c, err := p.Get(ctx)
	if err != nil {
		return err
	}
	return c.Drop(ctx, l)
}

// Append is Conn.Append on one of the pool's connections. Appends to one series from
// concurrent goroutines may arrive in any order; keep one series' appends sequential or in one
// Batch.
func (p *Pool) Append(ctx context.Context, l protocol.Label, ts int64, v float64) error {
	c, err := p.Get(ctx)
	if err != nil {
		return err
	}
	return c.Append(ctx, l, ts, v)
}

// AppendBits is Conn.AppendBits on one of the pool's connections.
func (p *Pool) AppendBits(ctx context.Context, l protocol.Label, ts int64, bits uint64) error {
	c, err := p.Get(ctx)
	if err != nil {
		return err
	}
	return c.AppendBits(ctx, l, ts, bits)
}

// Query is Conn.Query on one of the pool's connections.
func (p *Pool) Query(ctx context.Context, l protocol.Label, ts int64) (float64, bool, error) {
	c, err := p.Get(ctx)
	if err != nil {
		return 0, false, err
	}
	return c.Query(ctx, l, ts)
}

// QueryBits is Conn.QueryBits on one of the pool's connections.
func (p *Pool) QueryBits(ctx context.Context, l protocol.Label, ts int64) (uint64, bool, error) {
	c, err := p.Get(ctx)
	if err != nil {
		return 0, false, err
	}
	return c.QueryBits(ctx, l, ts)
}

// Do is Conn.Do on one of the pool's connections.
func (p *Pool) Do(ctx context.Context, b *Batch) error {
	c, err := p.Get(ctx)
	if err != nil {
		return err
	}
	return c.Do(ctx, b)
}

// SeriesInfo is Conn.SeriesInfo on one of the pool's connections.
func (p *Pool) SeriesInfo(ctx context.Context, l protocol.Label) (Info, error) {
	c, err := p.Get(ctx)
	if err != nil {
		return Info{}, err
	}
	return c.SeriesInfo(ctx, l)
}

// ListSeriesPage is Conn.ListSeriesPage on one of the pool's connections.
func (p *Pool) ListSeriesPage(ctx context.Context, start protocol.Label, limit int, dst []protocol.Label) ([]protocol.Label, bool, error) {
	c, err := p.Get(ctx)
	if err != nil {
		return dst, false, err
	}
	return c.ListSeriesPage(ctx, start, limit, dst)
}

// ListSeries is Conn.ListSeries; each page may come from another of the pool's connections.
func (p *Pool) ListSeries(ctx context.Context, start protocol.Label) iter.Seq2[protocol.Label, error] {
	return listSeq(ctx, start, p.ListSeriesPage)
}

// ListSeriesPrefix is Conn.ListSeriesPrefix; each page may come from another of the pool's
// connections.
func (p *Pool) ListSeriesPrefix(ctx context.Context, prefix []byte) iter.Seq2[protocol.Label, error] {
	return prefixSeq(prefix, func(start protocol.Label) iter.Seq2[protocol.Label, error] {
		return p.ListSeries(ctx, start)
	})
}

// QueryRange is Conn.QueryRange on one of the pool's connections.
func (p *Pool) QueryRange(ctx context.Context, l protocol.Label, from, to int64, opts *RangeOptions, dst []Point) ([]Point, bool, error) {
	c, err := p.Get(ctx)
	if err != nil {
		return dst, false, err
	}
	return c.QueryRange(ctx, l, from, to, opts, dst)
}

// Range is Conn.Range; each page may come from another of the pool's connections.
func (p *Pool) Range(ctx context.Context, l protocol.Label, from, to int64, opts *RangeOptions) iter.Seq2[Point, error] {
	return rangeSeq(ctx, l, from, to, opts, p.QueryRange)
}
