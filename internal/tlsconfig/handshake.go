package tlsconfig

import (
	"crypto/tls"
	"errors"
	"io"
	"os"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// Results of tau_tls_handshakes_total.
const (
	HandshakeOK             = "ok"
	HandshakeTimeout        = "timeout"
	HandshakeClosed         = "closed"
	HandshakeNotTLS         = "not_tls"
	HandshakeBadCertificate = "bad_certificate"
	HandshakeError          = "error"
)

var handshakeResults = []string{HandshakeOK, HandshakeTimeout, HandshakeClosed, HandshakeNotTLS, HandshakeBadCertificate, HandshakeError}

// errNoClientCertificate is mutual TLS refusing a client that presented no certificate.
var errNoClientCertificate = errors.New("tls: mutual TLS: the client presented no certificate")

// verifyClient refuses a connection without a client certificate. (A resumed session's
// certificate is checked by crypto/tls against the CAs of the configuration of now, falling
// back to a full handshake: TestResumedSessionCheckedAgainstCurrentCAs.)
func verifyClient(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return errNoClientCertificate
	}
	return nil
}

// Handshake runs the server side of c's handshake, counts its result for listener, and logs a
// failure at debug level. The caller has set c's deadline (a handshake that stalls or
// trickles is cut then); on success the deadline is cleared, and the connection's own
// timeouts take over.
func (s *Source) Handshake(c *tls.Conn, listener string) error {
	err := c.Handshake()
	result := classify(err)
	s.handshakes.WithLabelValues(listener, result).Inc()
	if err != nil {
		s.log.Debug("TLS handshake failed", zap.String("listener", listener), zap.String("result", result),
			zap.Stringer("remote", c.RemoteAddr()), zap.Error(err))
		return err
	}
	_ = c.SetDeadline(time.Time{})
	return nil
}

// RegisterListener makes listener's series of tau_tls_handshakes_total exist, at 0, before
// its first handshake.
func (s *Source) RegisterListener(listener string) {
	for _, r := range handshakeResults {
		s.handshakes.WithLabelValues(listener, r)
	}
}

func classify(err error) string {
	var header tls.RecordHeaderError
	var verify *tls.CertificateVerificationError
	switch {
	case err == nil:
		return HandshakeOK
	case errors.Is(err, os.ErrDeadlineExceeded):
		return HandshakeTimeout
	case errors.As(err, &header):
		return HandshakeNotTLS
	case errors.As(err, &verify), errors.Is(err, errNoClientCertificate):
		return HandshakeBadCertificate
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return HandshakeClosed
	}
	return HandshakeError
}
