package wal

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// metrics are one Log's instruments, registered on the registerer it was given (nil: none),
// so several logs can live in one process (tests) without clashing. They keep the names they
// had when the log was part of the store: dashboards and alerts use them.
type metrics struct {
	fsyncDuration prometheus.Histogram
	fsyncs        prometheus.Counter
	writtenBytes  prometheus.Counter
	records       prometheus.Counter
	writeFailures prometheus.Counter
	fsyncFailures prometheus.Counter
	outOfSpace    prometheus.Gauge
}

// newMetrics builds the instruments; size is read at scrape time, as it lives in the log.
func newMetrics(reg prometheus.Registerer, size func() float64) *metrics {
	f := promauto.With(reg)
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tau_storage_log_size_bytes",
		Help: "Bytes in the write-ahead log segments not yet covered by a checkpoint.",
	}, size)
	return &metrics{
		fsyncDuration: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "tau_storage_fsync_duration_seconds",
			Help:    "Latency of write-ahead log fsyncs.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16), // 100µs … ~3s
		}),
		fsyncs: f.NewCounter(prometheus.CounterOpts{
			Name: "tau_storage_fsyncs_total",
			Help: "Write-ahead log fsyncs, each shared by a group of commits.",
		}),
		writtenBytes: f.NewCounter(prometheus.CounterOpts{
			Name: "tau_storage_log_written_bytes_total",
			Help: "Bytes written to the write-ahead log.",
		}),
		records: f.NewCounter(prometheus.CounterOpts{
			Name: "tau_storage_records_appended_total",
			Help: "Records written to the write-ahead log.",
		}),
		writeFailures: f.NewCounter(prometheus.CounterOpts{
			Name: "tau_storage_write_failures_total",
			Help: "Failed write-ahead log writes; each puts the log in the failed state, but for a full disk's, which only refuse.",
		}),
		fsyncFailures: f.NewCounter(prometheus.CounterOpts{
			Name: "tau_storage_fsync_failures_total",
			Help: "Failed write-ahead log fsyncs; each puts the log in the failed state.",
		}),
		outOfSpace: f.NewGauge(prometheus.GaugeOpts{
			Name: "tau_storage_out_of_space",
			Help: "1 while the disk is full and the log refuses writes (until a write succeeds again), else 0.",
		}),
	}
}
