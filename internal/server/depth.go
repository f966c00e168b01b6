package server

import (
	"math/bits"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// depthHistogram is tau_actor_mailbox_enqueue_depth_messages: a histogram of small integers
// observed on every request, so it is two atomic adds (power-of-two bucket, sum) instead of a
// general histogram's float arithmetic; the cumulative buckets are built at scrape time.
type depthHistogram struct {
	desc     *prometheus.Desc
	buckets  [depthBuckets]atomic.Uint64 // bucket i counts depths in [2^(i-1), 2^i), bucket 0 depth 0
	overflow atomic.Uint64               // depths of 2^(depthBuckets-1) and more: +Inf only
	sum      atomic.Uint64
}

// depthBuckets gives upper bounds 0, 1, 3, 7 … 2^15-1; deeper mailboxes count in +Inf only.
const depthBuckets = 16

func newDepthHistogram() *depthHistogram {
	return &depthHistogram{desc: prometheus.NewDesc("tau_actor_mailbox_enqueue_depth_messages",
		"Mailbox depth each request found when it was queued for its series.", nil, nil)}
}

// observe records one depth.
func (h *depthHistogram) observe(depth int) {
	i := bits.Len(uint(depth)) // 0 → 0, 1 → 1, 2..3 → 2, 4..7 → 3 …
	if i < depthBuckets {
		h.buckets[i].Add(1)
	} else {
		h.overflow.Add(1)
	}
	h.sum.Add(uint64(depth))
}

// Describe implements prometheus.Collector.
func (h *depthHistogram) Describe(ch chan<- *prometheus.Desc) { ch <- h.desc }

// Collect implements prometheus.Collector: bucket le=2^i-1 holds every depth up to it.
func (h *depthHistogram) Collect(ch chan<- prometheus.Metric) {
	cumulative := make(map[float64]uint64, depthBuckets)
	var count uint64
	for i := range h.buckets {
		count += h.buckets[i].Load()
		cumulative[float64(uint64(1)<<i)-1] = count
	}
	count += h.overflow.Load()
	ch <- prometheus.MustNewConstHistogram(h.desc, count, float64(h.sum.Load()), cumulative)
}
