// Package auth holds the pre-shared certificate and checks it in constant time
// (docs/protocol.md, R5).
package auth

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// CertificateSize is the size of the pre-shared certificate, as CONNECT carries it.
const CertificateSize = 32

// Certificate is the 32-byte pre-shared key. It converts to and from the wire's
// protocol.Certificate, the same 32 bytes.
type Certificate [CertificateSize]byte

// DevCertificate is the development certificate, bytes 0x00..0x1f. The config refuses it on any
// address but loopback.
var DevCertificate = func() (c Certificate) {
	for i := range c {
		c[i] = byte(i)
	}
	return c
}()

// ParseCertificate accepts what TAU_CERTIFICATE_FILE may hold (README.md, "Configuration"):
// 64 hex characters (surrounding white space ignored) or exactly 32 raw bytes. Errors never
// echo the input.
func ParseCertificate(b []byte) (Certificate, error) {
	var c Certificate
	if t := bytes.TrimSpace(b); len(t) == 2*len(c) {
		if _, err := hex.Decode(c[:], t); err == nil {
			return c, nil
		}
	}
	if len(b) == len(c) {
		copy(c[:], b)
		return c, nil
	}
	return c, fmt.Errorf("want 64 hex characters or 32 raw bytes, got %d bytes", len(b))
}

// ParseHex parses TAU_CERTIFICATE: exactly 64 hex characters.
func ParseHex(s string) (Certificate, error) {
	var c Certificate
	if len(s) != 2*len(c) {
		return c, fmt.Errorf("want 64 hex characters, got %d characters", len(s))
	}
	if _, err := hex.Decode(c[:], []byte(s)); err != nil {
		return c, errors.New("want 64 hex characters, found a non-hex character")
	}
	return c, nil
}

// Fingerprint is a short, non-reversible name for a certificate, safe to log.
func Fingerprint(c Certificate) string {
	sum := sha256.Sum256(c[:])
	return hex.EncodeToString(sum[:4])
}

// Keeper holds the current certificate. It is swapped atomically when the mounted Secret
// rotates, so connections check against whichever certificate is current at their CONNECT.
type Keeper struct {
	cur atomic.Pointer[current]
}

type current struct {
	cert     Certificate
	loadedAt time.Time
}

// NewKeeper starts with c.
func NewKeeper(c Certificate) *Keeper {
	k := &Keeper{}
	k.Set(c)
	return k
}

// Set replaces the certificate.
func (k *Keeper) Set(c Certificate) {
	k.cur.Store(&current{cert: c, loadedAt: time.Now()})
}

// LoadedAt is when the current certificate was set.
func (k *Keeper) LoadedAt() time.Time { return k.cur.Load().loadedAt }

// Fingerprint of the current certificate.
func (k *Keeper) Fingerprint() string { return Fingerprint(k.cur.Load().cert) }

// Check compares a presented certificate with the current one in constant time.
func (k *Keeper) Check(presented []byte) bool {
	c := k.cur.Load().cert
	return len(presented) == len(c) && subtle.ConstantTimeCompare(presented, c[:]) == 1
}
