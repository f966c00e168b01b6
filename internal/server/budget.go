package server

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// budget is a weighted semaphore over bytes with FIFO waiters, so a large reservation is never
// starved by a stream of small ones. The server keeps two: APPEND_BATCH payloads (batch.go)
// and paged answers (reads.go).
type budget struct {
	mu      sync.Mutex
	size    int64
	held    int64
	waiters []*budgetWaiter

	heldGauge prometheus.Gauge
	waits     prometheus.Counter
}

type budgetWaiter struct {
	n       int64
	granted chan struct{}
}

// budgetMetrics names a budget's metrics: its size and bytes held (gauges), and the
// reservations that waited (a counter).
type budgetMetrics struct {
	size, held, waits prometheus.Opts
}

// budgetMetricsFor names a budget's metrics tau_server_<name>_budget_bytes,
// tau_server_<name>_held_bytes and tau_server_<name>_budget_waits_total; holds says what the
// bytes are, waiters what waits.
func budgetMetricsFor(name, holds, waiters string) budgetMetrics {
	prefix := "tau_server_" + name
	return budgetMetrics{
		size: prometheus.Opts{Name: prefix + "_budget_bytes",
			Help: "The " + name + " budget: most bytes of " + holds + " held at once across all connections."},
		held: prometheus.Opts{Name: prefix + "_held_bytes",
			Help: "Bytes of " + holds + " held across all connections, within " + prefix + "_budget_bytes."},
		waits: prometheus.Opts{Name: prefix + "_budget_waits_total",
			Help: waiters + " that waited for the " + name + " budget."},
	}
}

func newBudget(size int64, reg prometheus.Registerer, m budgetMetrics) *budget {
	f := promauto.With(reg)
	b := &budget{size: size,
		heldGauge: f.NewGauge(prometheus.GaugeOpts(m.held)),
		waits:     f.NewCounter(prometheus.CounterOpts(m.waits)),
	}
	f.NewGauge(prometheus.GaugeOpts(m.size)).Set(float64(size))
	return b
}

// acquire reserves n bytes (n ≤ size), waiting while the budget is spent; beforeWait runs once
// it is clear that it must wait, before it does. It reports whether it had to wait, and false
// in ok when stop closed first (nothing is then held).
func (b *budget) acquire(n int64, stop <-chan struct{}, beforeWait func()) (waited, ok bool) {
	b.mu.Lock()
	if len(b.waiters) == 0 && b.held+n <= b.size {
		b.held += n
		b.heldGauge.Set(float64(b.held))
		b.mu.Unlock()
		return false, true
	}
	w := &budgetWaiter{n: n, granted: make(chan struct{})}
	b.waiters = append(b.waiters, w)
	b.mu.Unlock()
	b.waits.Inc()
	beforeWait()
	select {
	case <-w.granted:
		return true, true
	case <-stop:
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-w.granted: // granted meanwhile: give it back
		b.held -= n
		b.grantLocked()
		return true, false
	default:
	}
	for i, o := range b.waiters {
		if o == w {
			b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
			break
		}
	}
	b.grantLocked() // a large waiter gone may let smaller ones behind it in
	return true, false
}

// release gives n bytes back and wakes the waiters that now fit, in order.
func (b *budget) release(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.held -= n
	b.grantLocked()
}

func (b *budget) grantLocked() {
	for len(b.waiters) > 0 && b.held+b.waiters[0].n <= b.size {
		w := b.waiters[0]
		b.waiters[0] = nil
		b.waiters = b.waiters[1:]
		b.held += w.n
		close(w.granted)
	}
	b.heldGauge.Set(float64(b.held))
}
