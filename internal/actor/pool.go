package actor

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/taudb/tau/internal/series"
	"github.com/taudb/tau/internal/storage"
)

// Hooks are the pool's calls back into its owner (the catalog), kept as functions so the
// dependency points one way.
type Hooks struct {
	// Dropped runs on the actor's worker after a drop was logged; the owner removes the route.
	Dropped func(*Series)
	// StorageFailed runs when the log refuses a write.
	StorageFailed func(error)
	// Enqueued observes the mailbox depth a message found (for the depth histogram).
	Enqueued func(depth int)
}

// Pool is a fixed set of workers running the actors that have mail. An actor is on the run
// queue at most once; a worker runs one batch of its mailbox, then requeues it if more came.
type Pool struct {
	log         storage.Log
	hooks       Hooks
	mailboxSize int
	runq        chan *Series
	quit        chan struct{}
	stopOnce    sync.Once
	workers     int

	retention time.Duration      // E6: how long points are kept, back from a series' newest
	head      *storage.HeadStats // what all series hold in memory

	running  atomic.Int64
	progress atomic.Uint64 // batches run, for the liveness probe
}

// NewPool makes a pool of n workers over log. runQueue bounds how many actors can wait to run
// at once: the catalog capacity plus the connections that may race with a drop.
func NewPool(n, mailboxSize, runQueue int, log storage.Log, hooks Hooks) *Pool {
	return &Pool{log: log, hooks: hooks, mailboxSize: mailboxSize, runq: make(chan *Series, runQueue),
		quit: make(chan struct{}), workers: n, head: &storage.HeadStats{}}
}

// SetRetention makes every series made after it expire points older than d before its newest
// (0: keep everything). Call it before the first NewSeries.
func (p *Pool) SetRetention(d time.Duration) { p.retention = d }

// Head counts what the pool's series hold in memory.
func (p *Pool) Head() *storage.HeadStats { return p.head }

// NewSeries makes the actor of a series, empty or recovered (data may be nil for empty).
func (p *Pool) NewSeries(l series.Label, data *storage.Series, lastLSN uint64, created storage.Ticket) *Series {
	if data == nil {
		data = storage.NewSeries()
	}
	data.SetRetention(p.retention.Nanoseconds())
	data.SetStats(p.head)
	return &Series{label: l, pool: p, data: data, lastLSN: lastLSN, box: mailbox{capacity: p.mailboxSize},
		created: created, last: created}
}

// Run runs the workers until Stop; it is the pool's run.Group actor.
func (p *Pool) Run() error {
	var wg sync.WaitGroup
	for i := 0; i < p.workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.work()
		}()
	}
	wg.Wait()
	return nil
}

// Stop ends the workers. The server stops it only after every connection has been answered,
// so no mail is left.
func (p *Pool) Stop() { p.stopOnce.Do(func() { close(p.quit) }) }

func (p *Pool) work() {
	for {
		select {
		case <-p.quit:
			return
		case s := <-p.runq:
			p.runActor(s)
		}
	}
}

func (p *Pool) runActor(s *Series) {
	p.running.Add(1)
	defer p.running.Add(-1)
	defer p.progress.Add(1)
	for s.run() {
		// More mail came while this batch ran: give other actors a turn if the queue has
		// room, else keep going (a worker must never block on the queue it drains).
		if p.tryRequeue(s) {
			return
		}
	}
}

// runInline runs one message of a claimed actor on the caller's goroutine, counted as a worker's
// turn, then hands the actor to the pool if mail came meanwhile.
func (p *Pool) runInline(s *Series, m *Message) {
	p.running.Add(1)
	s.handle(m)
	p.progress.Add(1)
	p.running.Add(-1)
	if s.box.release() {
		p.schedule(s)
	}
}

func (p *Pool) tryRequeue(s *Series) bool {
	select {
	case p.runq <- s:
		return true
	default:
		return false
	}
}

func (p *Pool) schedule(s *Series) { p.runq <- s }

func (p *Pool) enqueued(depth int) {
	if p.hooks.Enqueued != nil {
		p.hooks.Enqueued(depth)
	}
}

func (p *Pool) dropped(s *Series) {
	if p.hooks.Dropped != nil {
		p.hooks.Dropped(s)
	}
}

func (p *Pool) storageFailed(err error) {
	if p.hooks.StorageFailed != nil {
		p.hooks.StorageFailed(err)
	}
}

// Stats is what the metrics read at scrape time.
type Stats struct {
	Workers  int
	Running  int
	Progress uint64
	Queued   int
}

// Stats reads the pool's counters.
func (p *Pool) Stats() Stats {
	return Stats{Workers: p.workers, Running: int(p.running.Load()), Progress: p.progress.Load(), Queued: len(p.runq)}
}
