package server

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// registerScrapeMetrics adds the server's values read at scrape time; the engine registers its
// own (catalog, actors, storage). None has a per-series label.
func registerScrapeMetrics(reg *prometheus.Registry, s *Server) {
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := promauto.With(reg)
	gauge := func(name, help string, fn func() float64) {
		f.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn)
	}
	gauge("tau_auth_certificate_age_seconds", "Seconds since the current certificates were loaded (never a certificate itself).",
		func() float64 { return time.Since(s.keeper.LoadedAt()).Seconds() })
	gauge("tau_auth_loaded_certificates", "Certificates a CONNECT is accepted with: 1, or 2 and more during a rotation (at most 8).",
		func() float64 { return float64(s.keeper.Len()) })
}
