package storage

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// metrics are one Disk's instruments beside its log's (package wal), registered on the
// registerer it was given (nil: none), so several stores can live in one process (tests)
// without clashing.
type metrics struct {
	checkpointDuration prometheus.Histogram
	lastCheckpoint     prometheus.Gauge
	recoveryDuration   prometheus.Gauge
	recoveredSeries    prometheus.Gauge
	recoveredRecords   prometheus.Gauge
	retentionDeleted   prometheus.Counter
	compactions        prometheus.Counter
	compactionDuration prometheus.Histogram
}

// sizes are read at scrape time: they live in the store.
type sizes struct {
	log, files, fileCount, checkpoint func() float64
}

// newMetrics builds the instruments; the sizes are read at scrape time, as they live in the
// log and the chunk files.
func newMetrics(reg prometheus.Registerer, sz sizes) *metrics {
	f := promauto.With(reg)
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tau_storage_disk_bytes",
		Help: "Bytes the store keeps on disk: chunk files, log segments and the checkpoint.",
	}, func() float64 { return sz.log() + sz.files() + sz.checkpoint() })
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tau_storage_chunk_files",
		Help: "Immutable chunk files live (named by the newest checkpoint).",
	}, sz.fileCount)
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tau_storage_mapped_bytes",
		Help: "Bytes of chunk files memory-mapped: page cache the kernel may reclaim, not heap.",
	}, sz.files)
	return &metrics{
		checkpointDuration: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "tau_storage_checkpoint_duration_seconds",
			Help:    "Time to write and commit a checkpoint.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10), // 1ms … ~4min
		}),
		lastCheckpoint: f.NewGauge(prometheus.GaugeOpts{
			Name: "tau_storage_last_checkpoint_timestamp_seconds",
			Help: "Unix time of the last committed checkpoint.",
		}),
		recoveryDuration: f.NewGauge(prometheus.GaugeOpts{
			Name: "tau_storage_recovery_duration_seconds",
			Help: "Time the last recovery took.",
		}),
		recoveredSeries: f.NewGauge(prometheus.GaugeOpts{
			Name: "tau_storage_recovered_series",
			Help: "Series live after the last recovery.",
		}),
		recoveredRecords: f.NewGauge(prometheus.GaugeOpts{
			Name: "tau_storage_recovered_records",
			Help: "Log records replayed by the last recovery.",
		}),
		retentionDeleted: f.NewCounter(prometheus.CounterOpts{
			Name: "tau_storage_retention_deleted_files_total",
			Help: "Chunk files deleted because nothing in them was live any more (expired or dropped).",
		}),
		compactions: f.NewCounter(prometheus.CounterOpts{
			Name: "tau_storage_compactions_total",
			Help: "Compactions: chunk files merged into one, or one rewritten without its expired chunks.",
		}),
		compactionDuration: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "tau_storage_compaction_duration_seconds",
			Help:    "Time to merge chunk files.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}),
	}
}
