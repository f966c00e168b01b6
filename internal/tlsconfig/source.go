package tlsconfig

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.uber.org/zap"

	"github.com/taudb/tau/internal/filewatch"
)

// DefaultPoll is how often the files are re-read even without an event. Re-reading three
// small files and comparing their bytes is cheap; they are parsed only when they changed.
const DefaultPoll = 10 * time.Second

// Source is the current pair and client CAs, reloaded by Run. Its configs read the current
// bundle at every handshake, so a reload applies to the next handshake and never to one under
// way, and connections already open keep theirs.
type Source struct {
	files Files
	log   *zap.Logger
	poll  time.Duration
	cur   atomic.Pointer[bundle]

	reloads    *prometheus.CounterVec
	handshakes *prometheus.CounterVec

	// The watcher's own: the contents last looked at (loaded or rejected), so unchanged files
	// are not parsed again, and the last rejection, so a bad state is reported once.
	seen          contents
	lastRejection string
}

// New loads the files (an error is the configuration error a bad pair is) and registers the
// metrics. poll 0 means DefaultPoll.
func New(f Files, log *zap.Logger, reg prometheus.Registerer, poll time.Duration) (*Source, error) {
	b, err := load(f)
	if err != nil {
		return nil, err
	}
	if poll <= 0 {
		poll = DefaultPoll
	}
	s := &Source{files: f, log: log.Named("tls"), poll: poll, seen: b.raw}
	s.cur.Store(b)
	s.register(promauto.With(reg))
	s.logLoaded("TLS certificate loaded", b)
	return s, nil
}

func (s *Source) register(f promauto.Factory) {
	s.reloads = f.NewCounterVec(prometheus.CounterOpts{Name: "tau_tls_certificate_reloads_total",
		Help: "Changes of the TLS certificate, key or client CA files seen, by result: loaded, or rejected (unreadable or invalid; the old pair stays)."},
		[]string{"result"})
	s.handshakes = f.NewCounterVec(prometheus.CounterOpts{Name: "tau_tls_handshakes_total",
		Help: "TLS handshakes on a listener, by result: ok, timeout (not done within TAU_CONNECTION_TIMEOUT), closed (the client went away), " +
			"not_tls (plaintext or garbage), bad_certificate (mutual TLS: no client certificate or one no CA of TAU_TLS_CLIENT_CA_FILE signed), error (any other failure)."},
		[]string{"listener", "result"})
	f.NewGaugeFunc(prometheus.GaugeOpts{Name: "tau_tls_certificate_expiry_timestamp_seconds",
		Help: "When the TLS certificate being served expires (its NotAfter), as a Unix time."},
		func() float64 { return float64(s.cur.Load().cert.Leaf.NotAfter.Unix()) })
	for _, r := range []string{resultLoaded, resultRejected} {
		s.reloads.WithLabelValues(r)
	}
}

// Results of tau_tls_certificate_reloads_total.
const (
	resultLoaded   = "loaded"
	resultRejected = "rejected"
)

// MutualTLS reports whether clients must present a certificate (TAU_TLS_CLIENT_CA_FILE).
func (s *Source) MutualTLS() bool { return s.files.ClientCAFile != "" }

// ServerConfig is the configuration of a listener that peers and clients use (the TAU port,
// the peer port): TLS 1.2 or later, and mutual TLS when a client CA file is configured.
func (s *Source) ServerConfig() *tls.Config { return s.serverConfig(s.MutualTLS(), nil) }

// HTTPConfig is the HTTP port's configuration: the same pair, never mutual TLS (probes and
// scrapers carry no client certificate), HTTP/1.1.
func (s *Source) HTTPConfig() *tls.Config { return s.serverConfig(false, []string{"http/1.1"}) }

// serverConfig answers each ClientHello with a configuration of the current bundle.
func (s *Source) serverConfig(mutual bool, nextProtos []string) *tls.Config {
	c := &tls.Config{MinVersion: MinVersion, NextProtos: nextProtos}
	c.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		b := s.cur.Load()
		hc := &tls.Config{MinVersion: MinVersion, Certificates: []tls.Certificate{*b.cert}, NextProtos: nextProtos}
		if mutual {
			// VerifyClientCertIfGiven checks a certificate that is given; VerifyConnection
			// refuses its absence with an error of ours, so the metric can say bad_certificate.
			hc.ClientAuth, hc.ClientCAs = tls.VerifyClientCertIfGiven, b.cas
			hc.VerifyConnection = verifyClient
		}
		return hc, nil
	}
	return c
}

// ClientConfig is a client's configuration for dialling a peer at serverName: it trusts the
// client CA bundle (peers' certificates come from the same CA), or the system's roots
// without one, and presents the current pair. The trusted CAs are those current at the call:
// call it per dial.
func (s *Source) ClientConfig(serverName string) *tls.Config {
	var roots *x509.CertPool
	if b := s.cur.Load(); b.cas != nil {
		roots = b.cas
	}
	return &tls.Config{
		MinVersion: MinVersion,
		ServerName: serverName,
		RootCAs:    roots,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return s.cur.Load().cert, nil
		},
	}
}

// Certificate is the leaf being served now.
func (s *Source) Certificate() *x509.Certificate { return s.cur.Load().cert.Leaf }

// Run reloads the files when they change, until ctx ends.
func (s *Source) Run(ctx context.Context) error {
	return filewatch.Run(ctx, s.log, s.poll, s.files.paths(), s.reload)
}

// reload installs the files' pair and CAs if they changed and are valid; otherwise the
// current bundle stays. A Secret's files are swapped together by one rename of "..data", but
// read one after the other, so a read can straddle a swap (an old certificate with a new key):
// the files are read twice, and two reads that differ are a swap under way, left to the event
// of its end instead of being reported as a bad pair.
func (s *Source) reload() {
	raw, err := read(s.files)
	if err == nil {
		again, err2 := read(s.files)
		if err2 != nil || !again.equal(raw) {
			return
		}
	}
	if err == nil && raw.equal(s.seen) {
		return
	}
	var b *bundle
	if err == nil {
		s.seen = raw
		b, err = parse(s.files, raw)
	}
	if err != nil {
		s.reject(err)
		return
	}
	s.lastRejection = ""
	s.cur.Store(b)
	s.reloads.WithLabelValues(resultLoaded).Inc()
	s.logLoaded("TLS certificate reloaded", b)
}

func (s *Source) reject(err error) {
	if err.Error() == s.lastRejection {
		return
	}
	s.lastRejection = err.Error()
	s.reloads.WithLabelValues(resultRejected).Inc()
	s.log.Warn("TLS file change rejected; keeping the current pair", zap.Error(err),
		zap.String("serial", s.Certificate().SerialNumber.String()))
}

func (s *Source) logLoaded(msg string, b *bundle) {
	leaf := b.cert.Leaf
	s.log.Info(msg, zap.String("subject", leaf.Subject.String()), zap.String("serial", leaf.SerialNumber.String()),
		zap.Time("not_after", leaf.NotAfter), zap.Bool("mutual_tls", b.cas != nil))
	if time.Now().After(leaf.NotAfter) {
		s.log.Warn("the TLS certificate has expired; clients will refuse it", zap.Time("not_after", leaf.NotAfter))
	}
}
