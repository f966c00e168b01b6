package main

import (
	"flag"
	"os"
	"time"

	"github.com/taudb/tau/internal/auth"
	"github.com/taudb/tau/pkg/protocol"
)

const defaultAddr = "127.0.0.1:7701"

// connFlags are the connection flags. They are registered on the global flag set and on every
// command's, bound to the same fields, so they may come before or after the command.
type connFlags struct {
	addr     string
	cert     string
	certFile string
	timeout  time.Duration
	tls      tlsFlags
}

func (c *connFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.addr, "addr", c.addr, "server address host:port (env TAU_LISTEN_ADDRESS)")
	fs.StringVar(&c.cert, "cert", c.cert, "certificate as 64 hex characters (env TAU_CERTIFICATE: the first of a list)")
	fs.StringVar(&c.certFile, "cert-file", c.certFile, "file holding the certificate: the first line of several (env TAU_CERTIFICATE_FILE)")
	if c.timeout == 0 {
		c.timeout = 5 * time.Second
	}
	fs.DurationVar(&c.timeout, "timeout", c.timeout, "time allowed for the whole command")
	c.tls.register(fs)
}

// address is the flag, else the server's own variable, else the server's default.
func (c *connFlags) address(getenv env) string {
	if c.addr != "" {
		return c.addr
	}
	if a := getenv("TAU_LISTEN_ADDRESS"); a != "" {
		return a
	}
	return defaultAddr
}

// certificate resolves like the server does (README.md, "Configuration"): a certificate or a
// file, never both, else the development certificate. Flags win over the environment as a
// whole, so a --cert given while TAU_CERTIFICATE_FILE is set is not a conflict. Errors never
// show the certificate.
//
// A client presents one certificate. Where the server's variables hold several (a rotation),
// the client takes the first: the first entry of TAU_CERTIFICATE, the first line of the file.
// A rotation adds the new certificate as the second line and removes the old first line last,
// so a client reading the server's own file presents the old certificate, accepted, until its
// line goes. The whole value is still checked as the server checks it.
func (c *connFlags) certificate(getenv env) (protocol.Certificate, error) {
	hexCert, file, hexName, fileName := c.cert, c.certFile, "--cert", "--cert-file"
	if hexCert == "" && file == "" {
		hexCert, file = getenv("TAU_CERTIFICATE"), getenv("TAU_CERTIFICATE_FILE")
		hexName, fileName = "TAU_CERTIFICATE", "TAU_CERTIFICATE_FILE"
	}
	switch {
	case hexCert != "" && file != "":
		return protocol.Certificate{}, usagef("%s and %s are both set; give one", hexName, fileName)
	case hexCert != "" && hexName == "--cert":
		cert, err := auth.ParseHex(hexCert)
		if err != nil {
			return protocol.Certificate{}, usagef("%s: %v", hexName, err)
		}
		return protocol.Certificate(cert), nil
	case hexCert != "":
		certs, err := auth.ParseList(hexCert)
		if err != nil {
			return protocol.Certificate{}, usagef("%s: %v", hexName, err)
		}
		return protocol.Certificate(certs[0]), nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return protocol.Certificate{}, usagef("%s: %v", fileName, err)
		}
		certs, err := auth.ParseFile(b)
		if err != nil {
			return protocol.Certificate{}, usagef("%s %s: %v", fileName, file, err)
		}
		return protocol.Certificate(certs[0]), nil
	}
	return protocol.Certificate(auth.DevCertificate), nil
}
