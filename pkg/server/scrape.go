package server

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/taudb/tau/pkg/actor"
)

// registerScrapeMetrics adds the values read from the data structures at scrape time. None has
// a per-series label: ten thousand series must not become ten thousand time series.
func registerScrapeMetrics(reg *prometheus.Registry, s *Server) {
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := promauto.With(reg)
	gauge := func(name, help string, fn func() float64) {
		f.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn)
	}
	pool := s.catalog.Pool()
	gauge("tau_catalog_series", "Series (actors) live.", func() float64 { return float64(s.catalog.Len()) })
	gauge("tau_catalog_capacity_series", "Most series the catalog takes (TAU_CATALOG_CAPACITY).",
		func() float64 { return float64(s.cfg.CatalogCapacity) })
	gauge("tau_actor_mailbox_queued_messages", "Messages waiting in all series mailboxes.",
		func() float64 { total, _ := mailboxDepths(s); return float64(total) })
	gauge("tau_actor_mailbox_max_depth_messages", "Messages waiting in the deepest series mailbox.",
		func() float64 { _, deepest := mailboxDepths(s); return float64(deepest) })
	gauge("tau_actor_pool_workers", "Worker goroutines running series actors.",
		func() float64 { return float64(pool.Stats().Workers) })
	gauge("tau_actor_pool_busy_workers", "Workers running an actor right now.",
		func() float64 { return float64(pool.Stats().Running) })
	gauge("tau_actor_run_queue_actors", "Actors with mail waiting for a worker.",
		func() float64 { return float64(pool.Stats().Queued) })
	gauge("tau_auth_certificate_age_seconds", "Seconds since the current certificate was loaded (never the certificate itself).",
		func() float64 { return time.Since(s.keeper.LoadedAt()).Seconds() })
}

func mailboxDepths(s *Server) (total, deepest int) {
	s.catalog.Each(func(a *actor.Series) {
		d := a.Depth()
		total += d
		deepest = max(deepest, d)
	})
	return total, deepest
}
