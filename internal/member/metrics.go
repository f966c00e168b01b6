package member

import (
	"github.com/prometheus/client_golang/prometheus"
)

// registerMetrics registers the tau_cluster_* families of CONFIG.md, read from the node's
// status at each scrape (the transport registers the per-peer ones).
func registerMetrics(reg prometheus.Registerer, m *Member) {
	if reg == nil {
		return
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	status := m.node.Status
	reg.MustRegister(
		gauge("tau_cluster_is_leader", "1 when this node is the cluster's leader, else 0.", func() float64 {
			return boolFloat(m.node.IsLeader())
		}),
		gauge("tau_cluster_has_leader", "1 when this node knows a leader, else 0.", func() float64 {
			return boolFloat(status().Leader != 0)
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tau_cluster_leader_changes_seen_total",
			Help: "Leaders this node has seen take over since it started."}, func() float64 {
			return float64(status().LeaderChanges)
		}),
		gauge("tau_cluster_members", "Voting members of the cluster, as this node knows it.", func() float64 {
			return float64(len(status().Voters))
		}),
		gauge("tau_cluster_commit_index", "The highest log index this node knows is committed.", func() float64 {
			return float64(status().Commit)
		}),
		gauge("tau_cluster_applied_index", "The highest log index this node has applied.", func() float64 {
			return float64(status().Applied)
		}),
		newProposalsFailed(m),
	)
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// proposalsFailed is tau_cluster_proposals_failed_total by outcome: busy (nothing was done)
// and unknown (the outcome was not known in time).
type proposalsFailed struct {
	m    *Member
	desc *prometheus.Desc
}

func newProposalsFailed(m *Member) *proposalsFailed {
	return &proposalsFailed{m: m, desc: prometheus.NewDesc("tau_cluster_proposals_failed_total",
		"Writes this node proposed that failed for want of a quorum: busy when nothing was done, unknown when the outcome was not known within TAU_REQUEST_TIMEOUT.",
		[]string{"outcome"}, nil)}
}

func (c *proposalsFailed) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *proposalsFailed) Collect(ch chan<- prometheus.Metric) {
	st := c.m.node.Status()
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(st.ProposalsBusy), "busy")
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(st.ProposalsUnknown), "unknown")
}
