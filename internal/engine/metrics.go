package engine

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/taudb/tau/internal/actor"
)

// Stats is the actor pool's state, for the liveness probe.
type Stats = actor.Stats

// Stats reads the actor pool's counters.
func (e *Engine) Stats() Stats { return e.catalog.Pool().Stats() }

// registerMetrics adds the values read from the engine at scrape time. None has a per-series
// label: ten thousand series must not become ten thousand time series.
func registerMetrics(reg prometheus.Registerer, e *Engine, capacity, lensCapacity int) {
	if reg == nil {
		return
	}
	f := promauto.With(reg)
	gauge := func(name, help string, fn func() float64) {
		f.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn)
	}
	gauge("tau_lenses", "Lenses defined (E5).", func() float64 { return float64(e.Lenses()) })
	gauge("tau_lens_capacity_lenses", "Most lenses (TAU_LENS_CAPACITY).", func() float64 { return float64(lensCapacity) })
	pool := e.catalog.Pool()
	gauge("tau_catalog_series", "Series (actors) live.", func() float64 { return float64(e.Len()) })
	gauge("tau_catalog_capacity_series", "Most series the catalog takes (TAU_CATALOG_CAPACITY).",
		func() float64 { return float64(capacity) })
	gauge("tau_actor_mailbox_queued_messages", "Messages waiting in all series mailboxes.",
		func() float64 { total, _ := e.mailboxDepths(); return float64(total) })
	gauge("tau_actor_mailbox_max_depth_messages", "Messages waiting in the deepest series mailbox.",
		func() float64 { _, deepest := e.mailboxDepths(); return float64(deepest) })
	gauge("tau_actor_pool_workers", "Worker goroutines running series actors.",
		func() float64 { return float64(pool.Stats().Workers) })
	gauge("tau_actor_pool_busy_workers", "Workers running an actor right now.",
		func() float64 { return float64(pool.Stats().Running) })
	gauge("tau_actor_run_queue_actors", "Actors with mail waiting for a worker.",
		func() float64 { return float64(pool.Stats().Queued) })
	head := pool.Head()
	gauge("tau_storage_head_series", "Series with chunks held in memory.",
		func() float64 { return float64(head.Series.Load()) })
	gauge("tau_storage_head_chunks", "Chunks held in memory: each series' open chunk, and full ones the next checkpoint writes to a chunk file.",
		func() float64 { return float64(head.Chunks.Load()) })
	gauge("tau_storage_read_cache_bytes", "Bytes of full chunks (headers included) kept in memory for lookups after a checkpoint wrote them to a chunk file: the read cache.",
		func() float64 { return float64(head.Cached.Load()) })
}

func (e *Engine) mailboxDepths() (total, deepest int) {
	e.catalog.Each(func(a *actor.Series) {
		d := a.Depth()
		total += d
		deepest = max(deepest, d)
	})
	return total, deepest
}
