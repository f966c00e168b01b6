package server

import (
	"crypto/tls"
	"errors"
	"net"
	"time"

	"go.uber.org/zap"

	"github.com/taudb/tau/pkg/protocol"
)

// serveTAU accepts connections once storage is recovered, until shutdown closes the listener.
func (s *Server) serveTAU() error {
	select {
	case <-s.engine.Recovered():
	case <-s.stopping():
		return nil
	}
	s.health.setReady(true)
	s.log.Info("accepting TAU connections", zap.String("address", s.Addr()))
	var backoff time.Duration
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if s.draining.Load() || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of file descriptors or another passing failure: a flood of connections
			// must slow accepting down, not stop the server (what net/http does too).
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed; retrying", zap.Error(err), zap.Duration("in", backoff))
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		s.accept(nc)
	}
}

// accept starts a connection, or refuses it with busy over the connection limit (R10). A
// connection to a TLS port counts against the limit from its accept, handshake included.
func (s *Server) accept(nc net.Conn) {
	accepted := time.Now()
	if s.open.Add(1) > int64(s.cfg.MaxConnections) {
		s.open.Add(-1)
		s.metrics.connsRejected.WithLabelValues(reasonLimit).Inc()
		go s.refuse(nc)
		return
	}
	s.metrics.connsAccepted.Inc()
	s.metrics.connsOpen.Inc()
	if s.tls != nil {
		nc = tls.Server(nc, s.tlsIn)
	}
	c := newConn(s, nc, accepted)
	s.mu.Lock()
	if s.draining.Load() {
		s.mu.Unlock()
		s.closed()
		go s.refuse(nc)
		return
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		c.serve()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		s.closed()
	}()
}

func (s *Server) closed() {
	s.open.Add(-1)
	s.metrics.connsOpen.Dec()
}

// refuse answers ERR busy and closes: the connection limit or shutdown. A TLS port just
// closes: it never sends plaintext, and a handshake is what the limit spares it.
func (s *Server) refuse(nc net.Conn) {
	if s.tls == nil {
		_ = nc.SetWriteDeadline(time.Now().Add(min(s.cfg.ConnectionTimeout, time.Second)))
		_, _ = nc.Write(protocol.AppendErr(nil, protocol.StatusBusy))
	}
	_ = nc.Close()
}

// shutdownTAU is the first step of shutdown (README.md, "Configuration"): readiness turns 503,
// the listener stops accepting, readers stop reading, and requests already read get their
// answers for up to TAU_SHUTDOWN_TIMEOUT; then the remaining connections are cut. It returns
// once every connection is closed, so storage closes only after the last answer.
func (s *Server) shutdownTAU() {
	s.draining.Store(true)
	s.health.setReady(false)
	s.stopOnce.Do(func() { close(s.stop) })
	_ = s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		_ = c.nc.SetReadDeadline(time.Now())
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return
	case <-time.After(s.cfg.ShutdownTimeout):
	}
	s.log.Warn("shutdown timeout: closing connections with requests in flight")
	s.mu.Lock()
	for c := range s.conns {
		_ = c.nc.Close()
	}
	s.mu.Unlock()
	<-done
}

func (s *Server) stopping() <-chan struct{} { return s.stop }
