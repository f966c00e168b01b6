package server

import (
	"crypto/tls"
	"errors"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/taudb/tau/internal/tlsconfig"
)

// The listeners' values of tau_tls_handshakes_total's listener label (the peer port will be
// "peer").
const (
	listenerTAU  = "tau"
	listenerHTTP = "http"
)

// httpsHandshakeTimeout bounds a TLS handshake on the HTTP port, as ReadHeaderTimeout bounds
// a request's header.
const httpsHandshakeTimeout = 5 * time.Second

// loadTLS loads the TLS pair when TAU_TLS_CERT_FILE and TAU_TLS_KEY_FILE are set; the TAU
// port then speaks only TLS (CONFIG.md "TLS").
func (s *Server) loadTLS(reg prometheus.Registerer, poll time.Duration) error {
	if !s.cfg.TLSEnabled() {
		return nil
	}
	var err error
	if s.tls, err = tlsconfig.New(s.cfg.TLSFiles(), s.log, reg, poll); err != nil {
		return err
	}
	s.tls.RegisterListener(listenerTAU)
	s.tlsIn = s.tls.ServerConfig()
	return nil
}

// handshake runs a TLS connection's handshake before anything else is read or allocated for
// it: a client that stalls or trickles it is cut at the idle timeout counted from the accept
// (R10), and costs only the TLS state until then. It reports whether the connection may be
// served; when not, it has closed it.
func (c *conn) handshake(tc *tls.Conn) bool {
	_ = tc.SetDeadline(c.accepted.Add(c.srv.cfg.ConnectionTimeout))
	// Checked after arming the deadline, as readLoop does: shutdown sets draining, then a
	// deadline of now, so one of the two always ends a handshake under way.
	if c.srv.draining.Load() {
		_ = tc.Close()
		return false
	}
	err := c.srv.tls.Handshake(tc, listenerTAU)
	if err == nil {
		return true
	}
	switch {
	case c.srv.draining.Load():
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.srv.metrics.connsRejected.WithLabelValues(reasonIdleTimeout).Inc()
	default:
		c.srv.metrics.connsRejected.WithLabelValues(reasonTLS).Inc()
	}
	_ = tc.Close()
	return false
}
