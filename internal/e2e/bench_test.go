package e2e

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/internal/server"
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

// BenchmarkFastPath compares, in one run, the fast path (an idle series' actor runs on the
// connection's reader, which also writes the answer) with every request going through a
// mailbox, a pool worker and the writer goroutine: 16 connections, one request in flight
// each, each on its own series. CPU per request shows as ns/op × 2 cores at most.
//
//	go test -run '^$' -bench FastPath -benchtime 40000x -count 3 ./internal/e2e
func BenchmarkFastPath(b *testing.B) {
	for _, fsync := range []string{config.FsyncAlways, config.FsyncInterval} {
		for _, op := range []string{"append", "query", "ping"} {
			for _, queued := range []bool{false, true} {
				path := map[bool]string{false: "fast", true: "queued"}[queued]
				b.Run(fmt.Sprintf("%s/%s/%s", fsync, op, path), func(b *testing.B) {
					srv := servertest.StartWith(b, server.Options{Queued: queued}, func(c *config.Config) { c.Fsync = fsync })
					benchPipelined(b, srv.Addr(), op, 1, 16)
				})
			}
		}
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

// BenchmarkQueryRangeVsPoint reads every point of a 1 Mi-point series (2^20 points, one every
// 10 s in ns) over loopback two ways in each iteration: QUERY_RANGE raw, paging through it
// 65,536 points at a time (each page starting at the last timestamp + 1), and QUERY_POINT for
// each timestamp, pipelined a window (256) deep. It reports each as ns/point and their ratio
// (point time / range time).
//
//	go test -run '^$' -bench QueryRangeVsPoint -benchtime 3x ./internal/e2e
func BenchmarkQueryRangeVsPoint(b *testing.B) {
	const n, step, depth = 1 << 20, int64(10e9), 256
	srv := start(b)
	c := connect(b, srv.Addr())
	l := label("range-vs-point")
	pts := make([]rp, n)
	v := 20.0
	for i := range pts {
		v += float64(i%7-3) / 100
		pts[i] = rp{TS: 1_700_000_000e9 + int64(i)*step, Bits: math.Float64bits(math.Round(v*100) / 100)}
	}
	c.create(l, pts)
	in := make([]byte, protocol.HeaderSize+protocol.PageHeaderSize+protocol.MaxRangeLimit*protocol.RangePointSize)
	out := make([]byte, 0, depth*(protocol.HeaderSize+protocol.QueryPayloadSize))
	var rangeTime, pointTime time.Duration
	for b.Loop() {
		t0 := time.Now()
		if got := benchRange(b, c, l, in); got != n {
			b.Fatalf("QUERY_RANGE paged through %d points, want %d", got, n)
		}
		t1 := time.Now()
		for i := 0; i < n; i += depth {
			out = out[:0]
			for _, p := range pts[i : i+depth] {
				out = protocol.AppendHeader(out, protocol.OpQueryPoint, protocol.QueryPayloadSize)
				out = protocol.EncodeQuery(out, l, p.TS)
			}
			if _, err := c.nc.Write(out); err != nil {
				b.Fatal(err)
			}
			for range depth {
				if _, err := io.ReadFull(c.br, in[:protocol.HeaderSize+9]); err != nil || in[protocol.HeaderSize] != 1 {
					b.Fatalf("QUERY_POINT answer %x %v", in[:protocol.HeaderSize+1], err)
				}
			}
		}
		rangeTime += t1.Sub(t0)
		pointTime += time.Since(t1)
	}
	iters := float64(b.N)
	b.ReportMetric(float64(rangeTime.Nanoseconds())/iters/n, "range-ns/point")
	b.ReportMetric(float64(pointTime.Nanoseconds())/iters/n, "point-ns/point")
	b.ReportMetric(float64(pointTime)/float64(rangeTime), "point/range")
}

// benchRange pages through l with QUERY_RANGE raw, full pages, and returns the points read.
func benchRange(b *testing.B, c *rawConn, l protocol.Label, in []byte) int {
	total, start := 0, int64(math.MinInt64)
	for {
		c.send(protocol.OpQueryRange, rangeP(l, start, math.MaxInt64, 0, protocol.AggRaw, 0))
		h := in[:protocol.HeaderSize]
		if _, err := io.ReadFull(c.br, h); err != nil || protocol.Opcode(h[4]) != protocol.OpOK {
			b.Fatalf("QUERY_RANGE answer %x %v", h, err)
		}
		p := in[protocol.HeaderSize : protocol.HeaderSize+int(binary.BigEndian.Uint32(h[6:]))]
		if _, err := io.ReadFull(c.br, p); err != nil {
			b.Fatal(err)
		}
		k := int(binary.BigEndian.Uint32(p[1:]))
		total += k
		if p[0] == 0 || k == 0 {
			return total
		}
		last := p[protocol.PageHeaderSize+(k-1)*protocol.RangePointSize:]
		start = int64(binary.BigEndian.Uint64(last)) + 1
	}
}
