package client_test

import (
	"context"
	"testing"

	"github.com/taudb/tau/pkg/client"
	"github.com/taudb/tau/pkg/client/clienttest"
	"github.com/taudb/tau/pkg/protocol"
)

// instant is a fake server that answers every request at once from prebuilt frames, so that
// these benchmarks measure the client (and loopback TCP), and allocs/op counts the client's.
func instant(b *testing.B) string {
	ok := &clienttest.Reply{Frame: protocol.AppendFrame(nil, protocol.OpOK, nil)}
	pong := &clienttest.Reply{Frame: protocol.AppendFrame(nil, protocol.OpPong, nil)}
	found := &clienttest.Reply{Frame: protocol.AppendQueryAnswer(nil, true, 0x7ff8000000000001)}
	return clienttest.Start(b, func(r clienttest.Request) *clienttest.Reply {
		switch r.Op {
		case protocol.OpConnect, protocol.OpDisconnect:
			return nil
		case protocol.OpPing:
			return pong
		case protocol.OpQueryPoint:
			return found
		}
		return ok
	}).Addr
}

func benchConn(b *testing.B) *client.Conn {
	c, err := client.Dial(context.Background(), instant(b), protocol.DevCertificate, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	return c
}

var label = protocol.LabelFromString("bench")

// One request at a time: latency-bound, shows the per-request cost and allocations.
func BenchmarkAppendSerial(b *testing.B) {
	c := benchConn(b)
	ctx := context.Background()
	b.ReportAllocs()
	ts := int64(0)
	for b.Loop() {
		ts++
		if err := c.Append(ctx, label, ts, 1.5); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkQuerySerial(b *testing.B) {
	c := benchConn(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.Query(ctx, label, 1); err != nil {
			b.Fatal(err)
		}
	}
}

// Many goroutines on one connection: the pipelined path with coalesced writes.
func BenchmarkAppendParallel(b *testing.B) {
	c := benchConn(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		ts := int64(0)
		for pb.Next() {
			ts++
			if err := c.Append(ctx, label, ts, 1.5); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// A Batch of 16 per Do; ns/op and allocs/op are per request.
func BenchmarkAppendBatch16(b *testing.B) {
	c := benchConn(b)
	ctx := context.Background()
	var batch client.Batch
	b.ReportAllocs()
	ts := int64(0)
	for i := 0; i < b.N; i += 16 {
		batch.Reset()
		for range 16 {
			ts++
			batch.Append(label, ts, 1.5)
		}
		if err := c.Do(ctx, &batch); err != nil {
			b.Fatal(err)
		}
	}
}

// APPEND_BATCH of 1,000 points per call; ns/op and allocs/op are per batch.
func BenchmarkAppendBatchOf1000(b *testing.B) {
	c := benchConn(b)
	ctx := context.Background()
	pts := make([]client.Point, 1000)
	for i := range pts {
		pts[i] = client.Point{TS: int64(i), Value: 1.5}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := c.AppendBatch(ctx, label, pts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*float64(len(pts))/b.Elapsed().Seconds(), "points/s")
}
