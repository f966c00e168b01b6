// Package tlsconfig serves TLS from a certificate pair and an optional client CA bundle held
// in files (CONFIG.md "TLS"): a Source loads them, checks them, reloads them when they change
// (a mounted Secret renewed by cert-manager) and hands out *tls.Config values that always use
// the newest valid pair, for any listener and for the clients of peers.
package tlsconfig

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// The variables that name the files, as errors and logs say them.
const (
	VarCertFile     = "TAU_TLS_CERT_FILE"
	VarKeyFile      = "TAU_TLS_KEY_FILE"
	VarClientCAFile = "TAU_TLS_CLIENT_CA_FILE"
)

// MinVersion is the oldest protocol version served or spoken: TLS 1.2.
const MinVersion = tls.VersionTLS12

// Files are the paths of the pair and of the client CA bundle (empty: no mutual TLS).
type Files struct {
	CertFile, KeyFile, ClientCAFile string
}

// paths are the files to read, in the order of contents' fields.
func (f Files) paths() []string {
	p := []string{f.CertFile, f.KeyFile}
	if f.ClientCAFile != "" {
		p = append(p, f.ClientCAFile)
	}
	return p
}

// contents are the bytes of the files as read once; equal contents load to the same bundle.
type contents struct {
	cert, key, ca []byte
}

func (c contents) equal(o contents) bool {
	return bytes.Equal(c.cert, o.cert) && bytes.Equal(c.key, o.key) && bytes.Equal(c.ca, o.ca)
}

// bundle is one consistent load: the pair, its parsed leaf, and the client CAs.
type bundle struct {
	raw  contents
	cert *tls.Certificate // Leaf set
	cas  *x509.CertPool   // nil without a client CA file
}

// Check loads the files once, as the server does at start: the error is the configuration
// error a bad pair or CA bundle is.
func Check(f Files) error {
	_, err := load(f)
	return err
}

func load(f Files) (*bundle, error) {
	raw, err := read(f)
	if err != nil {
		return nil, err
	}
	return parse(f, raw)
}

func read(f Files) (contents, error) {
	var c contents
	var err error
	if c.cert, err = readFile(VarCertFile, f.CertFile); err != nil {
		return c, err
	}
	if c.key, err = readFile(VarKeyFile, f.KeyFile); err != nil {
		return c, err
	}
	if f.ClientCAFile != "" {
		c.ca, err = readFile(VarClientCAFile, f.ClientCAFile)
	}
	return c, err
}

func readFile(name, path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s=%q cannot be read: %w", name, path, errors.Unwrap(err))
	}
	return b, nil
}

// parse checks the contents; errors name the variables and paths, never a key.
func parse(f Files, raw contents) (*bundle, error) {
	pair, err := tls.X509KeyPair(raw.cert, raw.key)
	if err != nil {
		return nil, fmt.Errorf("%s=%q and %s=%q are not a certificate and its key: %w",
			VarCertFile, f.CertFile, VarKeyFile, f.KeyFile, err)
	}
	b := &bundle{raw: raw, cert: &pair}
	if f.ClientCAFile != "" {
		if b.cas, err = parseCAs(raw.ca); err != nil {
			return nil, fmt.Errorf("%s=%q is invalid: %w", VarClientCAFile, f.ClientCAFile, err)
		}
	}
	return b, nil
}

// parseCAs is stricter than x509.CertPool.AppendCertsFromPEM, which skips what it cannot
// parse: every PEM block must be a certificate, and there must be one.
func parseCAs(b []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	n := 0
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %d is a %q, want CERTIFICATE", n+1, block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", n+1, err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, errors.New("no PEM certificate in it")
	}
	if len(bytes.TrimSpace(b)) != 0 {
		return nil, fmt.Errorf("data after certificate %d is not PEM", n)
	}
	return pool, nil
}
