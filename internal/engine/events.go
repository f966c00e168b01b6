package engine

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.uber.org/zap"

	"github.com/taudb/tau/internal/diskspace"
)

// catalogFullLogPeriod is the most often a refusal by a full catalog is logged: a client that
// creates series in a loop must not flood the log (the counter counts every one).
const catalogFullLogPeriod = time.Minute

// events are what the engine counts as it happens, for the alerts that page on them
// (charts/tau/alerts): checkpoints that fail and creations a full catalog refuses.
type events struct {
	checkpointFailures prometheus.Counter
	catalogFull        prometheus.Counter
	catalogFullLog     *throttle
}

// newEvents registers the counters on reg (nil: kept but not registered).
func newEvents(reg prometheus.Registerer) *events {
	f := promauto.With(reg)
	return &events{
		checkpointFailures: f.NewCounter(prometheus.CounterOpts{Name: "tau_storage_checkpoint_failures_total",
			Help: "Checkpoints that failed, the final one at shutdown included; the log keeps growing until one succeeds."}),
		catalogFull: f.NewCounter(prometheus.CounterOpts{Name: "tau_catalog_full_refusals_total",
			Help: "Series creations refused because the catalog held TAU_CATALOG_CAPACITY series."}),
		catalogFullLog: newThrottle(catalogFullLogPeriod),
	}
}

// checkpointFailed counts and logs one failed checkpoint.
func (e *Engine) checkpointFailed(err error, final bool) {
	e.events.checkpointFailures.Inc()
	e.log.Error("checkpoint failed; the log keeps growing and is replayed at the next start until one succeeds",
		zap.Bool("final", final), zap.Error(err))
}

// catalogFull counts a creation refused by a full catalog, and logs it at most once a period.
func (e *Engine) catalogFull() {
	e.events.catalogFull.Inc()
	if ok, skipped := e.events.catalogFullLog.allow(); ok {
		e.log.Warn("catalog full: series creation refused; raise TAU_CATALOG_CAPACITY or drop series",
			zap.Int("capacity", e.capacity), zap.Int("refused_since_last_line", skipped))
	}
}

// diskCollector reports the filesystem of the data directory at scrape time: how big it is and
// what is left, so an alert can fire before writes fail with ENOSPC.
type diskCollector struct {
	dir             string
	size, available *prometheus.Desc
}

func newDiskCollector(dir string) *diskCollector {
	return &diskCollector{
		dir: dir,
		size: prometheus.NewDesc("tau_storage_filesystem_size_bytes",
			"Size of the filesystem holding the data directory (TAU_DATA_DIR).", nil, nil),
		available: prometheus.NewDesc("tau_storage_filesystem_available_bytes",
			"Bytes the server may still write on the filesystem holding the data directory.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *diskCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.size; ch <- c.available }

// Collect implements prometheus.Collector: one statfs a scrape. A failure (the directory gone,
// a platform without statfs) reports nothing rather than a wrong number.
func (c *diskCollector) Collect(ch chan<- prometheus.Metric) {
	u, err := diskspace.Of(c.dir)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(u.Size))
	ch <- prometheus.MustNewConstMetric(c.available, prometheus.GaugeValue, float64(u.Available))
}
