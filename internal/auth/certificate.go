// Package auth holds the pre-shared certificates and checks a CONNECT against them in constant
// time (docs/protocol.md, R5).
package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
)

// CertificateSize is the size of the pre-shared certificate, as CONNECT carries it.
const CertificateSize = 32

// MaxCertificates is how many certificates may be accepted at once: during a rotation the old
// and the new one, with room to spare (README.md, "Configuration").
const MaxCertificates = 8

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

// ParseHex parses one certificate: exactly 64 hex characters. Errors never echo the input.
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

// ParseList parses TAU_CERTIFICATE: one to MaxCertificates certificates of 64 hex characters,
// comma-separated (white space around each ignored). Position i of the result is entry i+1.
// Errors name the entry by its position, never its content.
func ParseList(s string) ([]Certificate, error) {
	entries := strings.Split(s, ",")
	certs := make([]Certificate, 0, len(entries))
	for i, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			return nil, fmt.Errorf("entry %d is empty", i+1)
		}
		c, err := ParseHex(e)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i+1, err)
		}
		certs = append(certs, c)
	}
	return certs, checkSet(certs, func(i int) string { return fmt.Sprintf("entry %d", i+1) })
}

// ParseFile parses what TAU_CERTIFICATE_FILE holds (README.md, "Configuration"). A file of
// exactly 32 bytes is one raw certificate; it cannot be mistaken for text, since a hex line
// alone is 64 characters. Any other file is text: one to MaxCertificates certificates of 64
// hex characters, one a line, white space around each line and blank lines before the first
// or after the last ignored. Position i of the result is the (i+1)th certificate line. Errors
// name the line by its number in the file, never its content.
func ParseFile(b []byte) ([]Certificate, error) {
	if len(b) == CertificateSize {
		var c Certificate
		copy(c[:], b)
		return []Certificate{c}, nil
	}
	lines := strings.Split(string(b), "\n")
	first, last := 0, len(lines)-1
	for first <= last && strings.TrimSpace(lines[first]) == "" {
		first++
	}
	for last >= first && strings.TrimSpace(lines[last]) == "" {
		last--
	}
	if first > last {
		return nil, fmt.Errorf("no certificate: want 64 hex characters a line, or exactly 32 raw bytes; got %d bytes", len(b))
	}
	certs := make([]Certificate, 0, last-first+1)
	lineOf := func(i int) string { return fmt.Sprintf("line %d", first+i+1) }
	for i, l := range lines[first : last+1] {
		l = strings.TrimSpace(l)
		if l == "" {
			return nil, fmt.Errorf("%s is empty", lineOf(i))
		}
		c, err := ParseHex(l)
		if err != nil {
			if first == last {
				return nil, fmt.Errorf("%s: %w (or the whole file exactly 32 raw bytes)", lineOf(i), err)
			}
			return nil, fmt.Errorf("%s: %w", lineOf(i), err)
		}
		certs = append(certs, c)
	}
	return certs, checkSet(certs, lineOf)
}

// checkSet refuses an empty set, more than MaxCertificates and duplicates; name(i) says where
// certificate i came from.
func checkSet(certs []Certificate, name func(int) string) error {
	switch {
	case len(certs) == 0:
		return errors.New("no certificate")
	case len(certs) > MaxCertificates:
		return fmt.Errorf("%d certificates: at most %d are accepted", len(certs), MaxCertificates)
	}
	for i := range certs {
		for j := range i {
			if certs[i] == certs[j] {
				return fmt.Errorf("%s repeats %s", name(i), name(j))
			}
		}
	}
	return nil
}

// Fingerprint is a short, non-reversible name for a certificate, safe to log.
func Fingerprint(c Certificate) string {
	sum := sha256.Sum256(c[:])
	return hex.EncodeToString(sum[:4])
}

// Keeper holds the accepted certificates. The set is swapped atomically when the mounted
// Secret rotates, so each CONNECT is checked against the set current at that moment.
type Keeper struct {
	cur atomic.Pointer[current]
}

// current is one set: n certificates in their positions, the unused slots zero. Check reads
// every slot, used or not, so its time says nothing of n.
type current struct {
	certs    [MaxCertificates]Certificate
	n        int
	loadedAt time.Time
}

// NewKeeper starts with certs (see Set).
func NewKeeper(certs ...Certificate) (*Keeper, error) {
	k := &Keeper{}
	if err := k.Set(certs...); err != nil {
		return nil, err
	}
	return k, nil
}

// Set replaces the set: one to MaxCertificates distinct certificates, in positions 0, 1, ...
// An invalid set is refused and the current one stays.
func (k *Keeper) Set(certs ...Certificate) error {
	if err := checkSet(certs, func(i int) string { return fmt.Sprintf("certificate %d", i+1) }); err != nil {
		return err
	}
	cur := &current{n: len(certs), loadedAt: time.Now()}
	copy(cur.certs[:], certs)
	k.cur.Store(cur)
	return nil
}

// Len is how many certificates are accepted.
func (k *Keeper) Len() int { return k.cur.Load().n }

// LoadedAt is when the current set was installed.
func (k *Keeper) LoadedAt() time.Time { return k.cur.Load().loadedAt }

// Holds reports whether the current set is exactly certs, in that order.
func (k *Keeper) Holds(certs []Certificate) bool {
	cur := k.cur.Load()
	if len(certs) != cur.n {
		return false
	}
	for i, c := range certs {
		if c != cur.certs[i] {
			return false
		}
	}
	return true
}

// Fingerprints of the current set, in order.
func (k *Keeper) Fingerprints() []string {
	cur := k.cur.Load()
	fps := make([]string, cur.n)
	for i := range fps {
		fps[i] = Fingerprint(cur.certs[i])
	}
	return fps
}

// Check compares a presented certificate with every accepted one and reports the position of
// the one it matches (0 for the first line or entry). Every slot is compared, in constant
// time, whether it is in use or not, and the position is picked without a branch, so the time
// taken tells neither which certificate matched nor how many there are.
func (k *Keeper) Check(presented []byte) (pos int, ok bool) {
	cur := k.cur.Load()
	if len(presented) != CertificateSize { // the length is on the wire anyway
		return -1, false
	}
	found := 0
	for i := range cur.certs {
		hit := subtle.ConstantTimeCompare(presented, cur.certs[i][:]) & subtle.ConstantTimeLessOrEq(i+1, cur.n)
		pos = subtle.ConstantTimeSelect(hit, i, pos)
		found |= hit
	}
	if found == 0 {
		return -1, false
	}
	return pos, true
}
