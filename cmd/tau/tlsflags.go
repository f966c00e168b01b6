package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"os"
	"strconv"
)

// tlsFlags are the connection's TLS flags, each with a variable of its own. Any of them but
// --tls=false turns TLS on; --tls alone trusts the system's roots.
type tlsFlags struct {
	on         bool
	caFile     string
	certFile   string
	keyFile    string
	serverName string
}

// The variables of the TLS flags. They are the client's own: the server's TAU_TLS_CERT_FILE
// is its own pair, not a client's.
const (
	envTLS           = "TAU_TLS"
	envTLSCAFile     = "TAU_TLS_CA_FILE"
	envTLSCertFile   = "TAU_TLS_CLIENT_CERT_FILE"
	envTLSKeyFile    = "TAU_TLS_CLIENT_KEY_FILE"
	envTLSServerName = "TAU_TLS_SERVER_NAME"
)

func (f *tlsFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.on, "tls", f.on, "speak TLS (env "+envTLS+"=true); implied by the other --tls-* flags")
	fs.StringVar(&f.caFile, "tls-ca", f.caFile, "PEM CA bundle to verify the server with, instead of the system's (env "+envTLSCAFile+")")
	fs.StringVar(&f.certFile, "tls-cert", f.certFile, "PEM client certificate, for a server with mutual TLS (env "+envTLSCertFile+")")
	fs.StringVar(&f.keyFile, "tls-key", f.keyFile, "PEM key of --tls-cert (env "+envTLSKeyFile+")")
	fs.StringVar(&f.serverName, "tls-server-name", f.serverName, "name the server's certificate must hold; default the host of --addr (env "+envTLSServerName+")")
}

// config resolves each flag, else its variable; nil means plaintext. Errors are usage errors
// naming the flag or variable.
func (f *tlsFlags) config(getenv env) (*tls.Config, error) {
	pick := func(flagValue, name string) (string, string) {
		if flagValue != "" {
			return flagValue, "--" + name
		}
		return getenv(map[string]string{"tls-ca": envTLSCAFile, "tls-cert": envTLSCertFile,
			"tls-key": envTLSKeyFile, "tls-server-name": envTLSServerName}[name]), name
	}
	ca, caName := pick(f.caFile, "tls-ca")
	cert, certName := pick(f.certFile, "tls-cert")
	key, keyName := pick(f.keyFile, "tls-key")
	serverName, _ := pick(f.serverName, "tls-server-name")
	on := f.on
	if v := getenv(envTLS); !on && v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, usagef("%s=%q: want true or false", envTLS, v)
		}
		on = b
	}
	if !on && ca == "" && cert == "" && key == "" && serverName == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, usagef("%s: %v", caName, err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, usagef("%s %s: no PEM certificate in it", caName, ca)
		}
	}
	switch {
	case (cert == "") != (key == ""):
		return nil, usagef("a client certificate needs its key: give both --tls-cert and --tls-key (or %s and %s)", envTLSCertFile, envTLSKeyFile)
	case cert != "":
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, usagef("%s and %s: %v", certName, keyName, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}
