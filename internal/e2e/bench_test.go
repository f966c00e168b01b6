package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/internal/server/servertest"
	"github.com/taudb/tau/pkg/protocol"
)

// The request path end to end: decode → actor → encode over loopback. allocs/op counts the
// whole process, server included, so 0 proves the steady state allocates nothing per request.

func BenchmarkRequestPath(b *testing.B) {
	for _, op := range []string{"append", "query", "ping"} {
		for _, depth := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/pipeline=%d", op, depth), func(b *testing.B) {
				srv := start(b)
				benchPipelined(b, srv.Addr(), op, depth, 1)
			})
		}
	}
}

// BenchmarkDurableAppend compares APPEND under each storage policy, 16 connections pipelining
// 16 deep on their own series, in one run.
func BenchmarkDurableAppend(b *testing.B) {
	for _, mode := range []string{"memory", config.FsyncInterval, config.FsyncAlways} {
		b.Run(mode, func(b *testing.B) {
			var srv *servertest.Server
			if mode == "memory" {
				srv = start(b)
			} else {
				srv = servertest.Start(b, func(c *config.Config) { c.Fsync = mode })
			}
			benchPipelined(b, srv.Addr(), "append", 16, 16)
		})
	}
}

// benchPipelined runs b.N requests over conns connections, each keeping depth in flight.
func benchPipelined(b *testing.B, addr, op string, depth, conns int) {
	clients := make([]*benchConn, conns)
	for i := range clients {
		clients[i] = newBenchConn(b, addr, fmt.Sprintf("bench-%d", i), depth)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for i, c := range clients {
		n := b.N / conns
		if i == 0 {
			n += b.N % conns
		}
		wg.Add(1)
		go func(c *benchConn) {
			defer wg.Done()
			c.run(b, op, n)
		}(c)
	}
	wg.Wait()
}

type benchConn struct {
	nc    net.Conn
	br    *bufio.Reader
	label protocol.Label
	depth int
	ts    int64
	out   []byte
	in    []byte
}

func newBenchConn(b *testing.B, addr, name string, depth int) *benchConn {
	c := connect(b, addr)
	l := label(name)
	c.expect(c.call(protocol.OpCreateSeries, series(l)), okAnswer)
	c.expect(c.call(protocol.OpAppend, appendP(l, 0, 1)), okAnswer)
	return &benchConn{nc: c.nc, br: c.br, label: l, depth: depth, ts: 1,
		out: make([]byte, 0, depth*(protocol.HeaderSize+protocol.AppendPayloadSize)), in: make([]byte, 64)}
}

// run sends n requests in batches of depth and checks every answer's opcode.
func (c *benchConn) run(b *testing.B, op string, n int) {
	for n > 0 {
		k := min(n, c.depth)
		c.out = c.out[:0]
		for i := 0; i < k; i++ {
			c.out = c.frame(op)
		}
		if _, err := c.nc.Write(c.out); err != nil {
			b.Error(err)
			return
		}
		for i := 0; i < k; i++ {
			if err := c.readAnswer(op); err != nil {
				b.Error(err)
				return
			}
		}
		n -= k
	}
}

func (c *benchConn) frame(op string) []byte {
	switch op {
	case "append":
		c.ts++
		c.out = protocol.AppendHeader(c.out, protocol.OpAppend, protocol.AppendPayloadSize)
		return protocol.EncodeAppend(c.out, c.label, c.ts, 1.5)
	case "query":
		c.out = protocol.AppendHeader(c.out, protocol.OpQueryPoint, protocol.QueryPayloadSize)
		return protocol.EncodeQuery(c.out, c.label, 0)
	}
	return protocol.AppendHeader(c.out, protocol.OpPing, 0)
}

func (c *benchConn) readAnswer(op string) error {
	h := c.in[:protocol.HeaderSize]
	if _, err := io.ReadFull(c.br, h); err != nil {
		return err
	}
	n := int(h[9]) // answers are at most 9 bytes
	want := protocol.OpOK
	if op == "ping" {
		want = protocol.OpPong
	}
	if protocol.Opcode(h[4]) != want {
		return fmt.Errorf("answer opcode %#x", h[4])
	}
	_, err := io.ReadFull(c.br, c.in[protocol.HeaderSize:protocol.HeaderSize+n])
	return err
}

// BenchmarkConcurrentQuery is QUERY_POINT from 16 connections, 16 deep, on their own series.
func BenchmarkConcurrentQuery(b *testing.B) {
	srv := start(b)
	benchPipelined(b, srv.Addr(), "query", 16, 16)
}
