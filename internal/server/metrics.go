package server

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/taudb/tau/internal/auth"
	"github.com/taudb/tau/internal/version"
	"github.com/taudb/tau/pkg/protocol"
)

// Reasons a connection is refused or cut, the values of tau_connections_rejected_total.
const (
	reasonLimit        = "limit"
	reasonAuth         = "auth"
	reasonIdleTimeout  = "idle_timeout"
	reasonWriteTimeout = "write_timeout"
	reasonProtocol     = "protocol_error"
	reasonShutdown     = "shutdown"
	reasonTLS          = "tls_handshake"
)

// metrics are the server's own series; values living in data structures (series count,
// mailbox depths, busy workers) are read at scrape time, events are counted inline.
type metrics struct {
	connsOpen     prometheus.Gauge
	connsAccepted prometheus.Counter
	connsRejected *prometheus.CounterVec
	requests      *prometheus.CounterVec
	duration      *latencyHistogram
	enqueueDepth  *depthHistogram
	busy          prometheus.Counter
	storageErrors prometheus.Counter

	// pre-resolved children for the hot path, indexed by opcode byte
	okCount [256]prometheus.Counter

	// tau_auth_connects_total: successes by the position of the certificate that matched,
	// and failures
	connectOK     [auth.MaxCertificates]prometheus.Counter
	connectFailed prometheus.Counter
}

// Values of tau_auth_connects_total's labels besides the positions "1".."8". The results are
// the CONNECT statuses tau_requests_total uses.
const (
	connectResultOK     = "ok"
	connectResultFailed = "auth_failed"
	noCertificate       = "none"
)

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		connsOpen: f.NewGauge(prometheus.GaugeOpts{Name: "tau_connections_open",
			Help: "TAU protocol connections currently open."}),
		connsAccepted: f.NewCounter(prometheus.CounterOpts{Name: "tau_connections_accepted_total",
			Help: "TAU protocol connections accepted."}),
		connsRejected: f.NewCounterVec(prometheus.CounterOpts{Name: "tau_connections_rejected_total",
			Help: "Connections refused or closed by the server, by reason (limit, auth, idle_timeout, write_timeout, protocol_error, shutdown, tls_handshake: a TLS handshake failed other than by the idle timeout)."},
			[]string{"reason"}),
		requests: f.NewCounterVec(prometheus.CounterOpts{Name: "tau_requests_total",
			Help: "Requests answered, by opcode and status (ok or the ERR status name)."},
			[]string{"opcode", "status"}),
		duration:     newLatencyHistogram(prometheus.ExponentialBuckets(10e-6, 4, 10)),
		enqueueDepth: newDepthHistogram(),
		busy: f.NewCounter(prometheus.CounterOpts{Name: "tau_actor_busy_rejections_total",
			Help: "Requests answered busy because their series' mailbox was full."}),
		storageErrors: f.NewCounter(prometheus.CounterOpts{Name: "tau_storage_write_refusals_total",
			Help: "Mutations answered internal_error because the log refused or failed the write."}),
	}
	connects := f.NewCounterVec(prometheus.CounterOpts{Name: "tau_auth_connects_total",
		Help: "CONNECTs by result (ok or auth_failed) and the position of the certificate that matched: " +
			"its line in TAU_CERTIFICATE_FILE or entry in TAU_CERTIFICATE, 1 to 8 (none for auth_failed). " +
			"During a rotation, the old certificate is unused once its count stops growing."},
		[]string{"certificate", "result"})
	for i := range m.connectOK {
		m.connectOK[i] = connects.WithLabelValues(strconv.Itoa(i+1), connectResultOK)
	}
	m.connectFailed = connects.WithLabelValues(noCertificate, connectResultFailed)
	reg.MustRegister(m.enqueueDepth, m.duration)
	for i := range m.okCount {
		m.okCount[i] = m.requests.WithLabelValues(opLabel(protocol.Opcode(i)), "ok")
	}
	for _, r := range []string{reasonLimit, reasonAuth, reasonIdleTimeout, reasonWriteTimeout, reasonProtocol, reasonShutdown, reasonTLS} {
		m.connsRejected.WithLabelValues(r)
	}
	return m
}

func opLabel(op protocol.Opcode) string {
	if op.IsRequest() {
		return op.String()
	}
	return "unknown"
}

// connected counts a CONNECT: ok at the position (0-based) of the certificate it matched, or
// failed. A failed CONNECT also counts in tau_connections_rejected_total{reason="auth"}, since
// it closes the connection.
func (m *metrics) connected(pos int, ok bool) {
	if !ok {
		m.connectFailed.Inc()
		m.connsRejected.WithLabelValues(reasonAuth).Inc()
		return
	}
	m.connectOK[pos].Inc()
}

// answered counts n answers of one opcode and status, each of the given latency.
func (m *metrics) answered(op protocol.Opcode, s protocol.Status, latency time.Duration, n int) {
	if s == 0 {
		m.okCount[op].Add(float64(n))
	} else {
		m.requests.WithLabelValues(opLabel(op), s.String()).Add(float64(n))
	}
	m.duration.observeN(op, latency, n)
}

// registerBuildInfo adds tau_build_info: which build runs (internal/version), so a dashboard
// or an alert can tell releases apart.
func registerBuildInfo(reg prometheus.Registerer) {
	v := version.Get()
	promauto.With(reg).NewGaugeFunc(prometheus.GaugeOpts{Name: "tau_build_info",
		Help: "Always 1; the labels say which build is running.",
		ConstLabels: prometheus.Labels{"version": v.Version, "revision": v.Revision,
			"goversion": v.GoVersion, "build_date": v.BuildDate}},
		func() float64 { return 1 })
}
