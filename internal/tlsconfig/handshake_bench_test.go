//go:build unix

package tlsconfig

import (
	"crypto/tls"
	"net"
	"syscall"
	"testing"
	"time"
)

// BenchmarkHandshake is one full TLS handshake (no resumption) with the test pair (ECDSA
// P-256), server and client in this process: run with -cpu 1 it is what one core sustains
// doing both sides, so the server side alone sustains more. mutual adds a client certificate.
// cpu-ns/op is the process's CPU time (getrusage) per handshake: on a shared machine the wall
// time of ns/op includes waiting for a core, the CPU time does not.
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
			start := cpuTime(b)
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
			b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
