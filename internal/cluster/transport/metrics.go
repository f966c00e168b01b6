package transport

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// metrics are the tau_cluster_peer_* families. Their peer label is a Raft node id: one value per
// member, never per message.
type metrics struct {
	roundTrip    *prometheus.HistogramVec
	sentBytes    *prometheus.CounterVec
	receivedByte *prometheus.CounterVec
	dropped      *prometheus.CounterVec
	refused      *prometheus.CounterVec
	authFailures *prometheus.CounterVec
	snapshots    *prometheus.CounterVec
	unreachable  *prometheus.CounterVec
}

// Why a message was not sent or not delivered: the reason label of the dropped and refused
// counters.
const (
	dropQueueFull   = "queue_full"   // the peer's queue was at its cap in messages or bytes
	dropTooLarge    = "too_large"    // larger than MaxMessageBytes: no peer would take it
	dropUnknownPeer = "unknown_peer" // addressed to a node not added with AddPeer
	dropEncode      = "encode"       // the message could not be encoded
	dropClosed      = "closed"       // sent after Close

	refuseGroup     = "group"     // a Raft group this transport does not carry
	refuseRecipient = "recipient" // addressed to another node id
	refuseMalformed = "malformed" // a frame or message that does not decode
	refuseSender    = "sender"    // a message whose From is not the stream's proven sender
	refuseSnapshot  = "snapshot"  // a MsgSnap on the message stream, or another type on the snapshot stream
	refuseTooLarge  = "too_large" // a frame above MaxMessageBytes: gRPC refuses it and ends the stream
)

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		roundTrip: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tau_cluster_peer_round_trip_seconds",
			Help:    "Round-trip time of a ping on the message stream to each peer.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16), // 100 µs to 3.3 s
		}, []string{"peer"}),
		sentBytes: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tau_cluster_peer_sent_bytes_total",
			Help: "Bytes of frames sent to each peer (messages and snapshots; gRPC's own framing not counted).",
		}, []string{"peer"}),
		receivedByte: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tau_cluster_peer_received_bytes_total",
			Help: "Bytes of frames received from each authenticated peer.",
		}, []string{"peer"}),
		dropped: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tau_cluster_peer_dropped_messages_total",
			Help: "Raft messages not sent to a peer, by reason; Raft retransmits.",
		}, []string{"peer", "reason"}),
		refused: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tau_cluster_peer_refused_messages_total",
			Help: "Raft messages received from an authenticated peer but not delivered, by reason.",
		}, []string{"peer", "reason"}),
		authFailures: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tau_cluster_peer_auth_failures_total",
			Help: "Peer streams refused by their handshake, by reason, on either end.",
		}, []string{"reason"}),
		snapshots: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tau_cluster_peer_snapshots_total",
			Help: "Snapshots streamed, by direction (sent, received) and result (ok, failed).",
		}, []string{"direction", "result"}),
		unreachable: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tau_cluster_peer_unreachable_total",
			Help: "Message streams to a peer that failed or could not be opened (each reported to Raft as unreachable).",
		}, []string{"peer"}),
	}
}

func peerLabel(id uint64) string { return strconv.FormatUint(id, 10) }

// know starts a new peer's counters at zero, so that rates and alerts see them from the
// start rather than from its first failure.
func (m *metrics) know(id uint64) {
	p := peerLabel(id)
	m.sentBytes.WithLabelValues(p)
	m.unreachable.WithLabelValues(p)
	for _, reason := range []string{dropQueueFull, dropTooLarge} {
		m.dropped.WithLabelValues(p, reason)
	}
}

// forget drops a removed peer's series.
func (m *metrics) forget(id uint64) {
	l := prometheus.Labels{"peer": peerLabel(id)}
	m.roundTrip.DeletePartialMatch(l)
	m.sentBytes.DeletePartialMatch(l)
	m.receivedByte.DeletePartialMatch(l)
	m.dropped.DeletePartialMatch(l)
	m.refused.DeletePartialMatch(l)
	m.unreachable.DeletePartialMatch(l)
}
