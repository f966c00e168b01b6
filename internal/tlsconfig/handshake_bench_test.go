package tlsconfig

import (
	"crypto/tls"
	"net"
	"testing"
)

// BenchmarkHandshake is one full TLS handshake (no resumption) with the test pair (ECDSA
// P-256), server and client in this process: run with -cpu 1 it is what one core sustains
// doing both sides, so the server side alone sustains more. mutual adds a client certificate.
func BenchmarkHandshake(b *testing.B) {
	for _, mutual := range []bool{false, true} {
		name := "server-auth"
		if mutual {
			name = "mutual"
		}
		b.Run(name, func(b *testing.B) {
			f := newFixture(b, mutual)
			client := f.client()
			if mutual {
				client = f.client(f.ca.Issue(b, testpkiClient).TLS(b))
			}
			server := f.src.ServerConfig()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				a, c := net.Pipe()
				done := make(chan error, 1)
				go func() { done <- f.src.Handshake(tls.Server(a, server), "bench") }()
				if err := tls.Client(c, client).Handshake(); err != nil {
					b.Fatal(err)
				}
				if err := <-done; err != nil {
					b.Fatal(err)
				}
				_ = a.Close()
				_ = c.Close()
			}
		})
	}
}
