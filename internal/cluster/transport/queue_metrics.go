package transport

import "github.com/prometheus/client_golang/prometheus"

// queueCollector reads each peer's queue at scrape time: how far Send is ahead of the peer.
type queueCollector struct {
	t            *Transport
	msgs, nbytes *prometheus.Desc
}

func newQueueCollector(t *Transport) *queueCollector {
	return &queueCollector{
		t: t,
		msgs: prometheus.NewDesc("tau_cluster_peer_queued_messages",
			"Raft messages queued for each peer, not yet on its stream.", []string{"peer"}, nil),
		nbytes: prometheus.NewDesc("tau_cluster_peer_queued_bytes",
			"Bytes of the messages queued for each peer.", []string{"peer"}, nil),
	}
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.msgs
	ch <- c.nbytes
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	c.t.mu.RLock()
	defer c.t.mu.RUnlock()
	for id, p := range c.t.peers {
		msgs, b := p.q.len()
		ch <- prometheus.MustNewConstMetric(c.msgs, prometheus.GaugeValue, float64(msgs), peerLabel(id))
		ch <- prometheus.MustNewConstMetric(c.nbytes, prometheus.GaugeValue, float64(b), peerLabel(id))
	}
}
