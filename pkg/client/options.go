package client

import (
	"context"
	"crypto/tls"
	"math/rand/v2"
	"time"

	"github.com/taudb/tau/pkg/protocol"
)

// Options tune a connection. The zero value (or a nil *Options) gives the defaults.
type Options struct {
	// DialTimeout bounds the TCP dial and the CONNECT exchange. Default 5s.
	DialTimeout time.Duration
	// MaxInFlight bounds the requests sent and not yet answered on one connection; further
	// requests wait for a place. Default 256.
	MaxInFlight int
	// MaxRetries is how often a request answered busy is sent again before ErrBusy is returned.
	// Zero means the default, 5; a negative value disables retries.
	MaxRetries int
	// RetryBackoff is the wait before the first retry; each further retry doubles it up to
	// RetryBackoffMax. Every wait is drawn at random from its upper half, so that clients
	// turned away together do not come back together. Defaults 1ms and 250ms.
	RetryBackoff    time.Duration
	RetryBackoffMax time.Duration
	// WriteTimeout breaks the connection when a write to the socket is blocked this long (the
	// server stopped reading). Default 30s.
	WriteTimeout time.Duration
	// CloseTimeout is how long Close waits for the answer to DISCONNECT. Default 1s.
	CloseTimeout time.Duration
	// BufferSize is the size of the read and write buffers. Default 32 KiB.
	BufferSize int
	// MaxPayload is the largest request payload the client sends: an AppendBatch whose payload
	// (36 + 16n bytes) is larger fails with ErrBatchSize before anything is sent. Default
	// 1 MiB, the server's default limit (TAU_MAX_PAYLOAD_BYTES); set it to the server's limit
	// when that differs. A negative value turns the check off: the server then answers an
	// oversized batch payload_too_large and closes the connection (R2), failing every request
	// in flight on it.
	MaxPayload int
	// TLS, when set, makes the connection speak TLS to a server with TAU_TLS_CERT_FILE: the
	// handshake comes first, within DialTimeout, then CONNECT as always. Its ServerName
	// defaults to the address' host; set Certificates (or GetClientCertificate) for a server
	// with mutual TLS, RootCAs for a private CA. Nil, the default, is plaintext.
	TLS *tls.Config
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	setDefault(&r.DialTimeout, 5*time.Second)
	setDefault(&r.MaxInFlight, 256)
	setDefault(&r.MaxRetries, 5)
	setDefault(&r.RetryBackoff, time.Millisecond)
	setDefault(&r.RetryBackoffMax, 250*time.Millisecond)
	setDefault(&r.WriteTimeout, 30*time.Second)
	setDefault(&r.CloseTimeout, time.Second)
	setDefault(&r.BufferSize, 32<<10)
	setDefault(&r.MaxPayload, DefaultMaxPayload)
	return r
}

// DefaultMaxPayload is Options.MaxPayload's default, the server's default payload limit.
const DefaultMaxPayload = 1 << 20

// MaxBatchPoints is the most points an AppendBatch of DefaultMaxPayload carries: 65,533.
const MaxBatchPoints = (DefaultMaxPayload - protocol.BatchHeaderSize) / protocol.BatchPointSize

func setDefault[T int | time.Duration](v *T, d T) {
	if *v == 0 {
		*v = d
	}
}

// retries is MaxRetries with the "negative disables" convention applied.
func (o *Options) retries() int { return max(o.MaxRetries, 0) }

// backoff is the jittered wait before retry number attempt (0-based).
func (o *Options) backoff(attempt int) time.Duration {
	d := o.RetryBackoffMax
	if attempt < 30 {
		d = min(o.RetryBackoff<<attempt, o.RetryBackoffMax)
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
