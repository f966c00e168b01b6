package tlsconfig

import (
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"

	"go.uber.org/zap"
)

// handshakeListener is a TLS listener whose Accept returns connections with their handshake
// done, so that a server that runs handshakes itself (net/http) has them counted too. Each
// handshake runs in a goroutine of its own, bounded by timeout, so a slow one never holds
// up the others.
type handshakeListener struct {
	inner    net.Listener
	src      *Source
	cfg      *tls.Config
	listener string
	timeout  time.Duration

	ready     chan *tls.Conn
	failed    chan error // the inner listener's end
	done      chan struct{}
	closeOnce sync.Once
}

// NewListener wraps inner: its connections speak TLS with cfg, handshakes counted under
// listener and cut after timeout.
func (s *Source) NewListener(inner net.Listener, cfg *tls.Config, listener string, timeout time.Duration) net.Listener {
	s.RegisterListener(listener)
	l := &handshakeListener{inner: inner, src: s, cfg: cfg, listener: listener, timeout: timeout,
		ready: make(chan *tls.Conn), failed: make(chan error, 1), done: make(chan struct{})}
	go l.acceptLoop()
	return l
}

func (l *handshakeListener) acceptLoop() {
	var backoff time.Duration
	for {
		c, err := l.inner.Accept()
		switch {
		case errors.Is(err, net.ErrClosed):
			l.failed <- err
			return
		case err != nil: // out of file descriptors, or another passing failure: slow down
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			l.src.log.Warn("accept failed; retrying", zap.String("listener", l.listener), zap.Error(err), zap.Duration("in", backoff))
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		go l.handshake(c)
	}
}

func (l *handshakeListener) handshake(c net.Conn) {
	tc := tls.Server(c, l.cfg)
	_ = tc.SetDeadline(time.Now().Add(l.timeout))
	if err := l.src.Handshake(tc, l.listener); err != nil {
		_ = c.Close()
		return
	}
	select {
	case l.ready <- tc:
	case <-l.done:
		_ = c.Close()
	}
}

// Accept returns the next connection whose handshake succeeded.
func (l *handshakeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case err := <-l.failed:
		l.failed <- err // every later Accept fails alike
		return nil, err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting; handshakes under way end with their connections closed.
func (l *handshakeListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.inner.Close()
}

// Addr is the inner listener's address.
func (l *handshakeListener) Addr() net.Addr { return l.inner.Addr() }
