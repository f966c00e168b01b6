package client_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/taudb/tau/internal/testenv/hang"
	"github.com/taudb/tau/pkg/client"
	"github.com/taudb/tau/pkg/client/clienttest"
	"github.com/taudb/tau/pkg/protocol"
)

// batchPoints makes n points from ts on, one ns apart, with awkward bits among them.
func batchPoints(ts int64, n int) []client.Point {
	special := []uint64{math.Float64bits(math.Copysign(0, -1)), 0x7ff8000000000001, 0xfff0000000000000, 1}
	pts := make([]client.Point, n)
	for i := range pts {
		bits := math.Float64bits(float64(i) * 0.25)
		if i%7 == 3 {
			bits = special[i%len(special)]
		}
		pts[i] = client.Point{TS: ts + int64(i), Value: math.Float64frombits(bits), Bits: bits}
	}
	return pts
}

// TestAppendBatch: the real server and the fake store a batch whole with exact bits, refuse
// an out-of-order one whole, and agree on every status.
func TestAppendBatch(t *testing.T) {
	readTargets(t, func(t *testing.T, c *client.Conn) {
		ctx := context.Background()
		l := protocol.LabelFromString("batch")
		must(t, c.Create(ctx, l))
		pts := batchPoints(-500, 1000) // negative timestamps too
		must(t, c.AppendBatchBits(ctx, l, pts))
		more := batchPoints(500, 10)
		must(t, c.AppendBatch(ctx, l, more)) // Value sent: the same bits
		want := append(append([]client.Point(nil), pts...), more...)
		if got := collect(t, c.Range(ctx, l, math.MinInt64, math.MaxInt64, nil)); !samePoints(got, want) {
			t.Fatalf("read back %d points, want %d the same: %v", len(got), len(want), head(got))
		}

		// Refused batches store nothing.
		unordered := batchPoints(1000, 5)
		unordered[3].TS = unordered[2].TS
		cases := []struct {
			name string
			l    protocol.Label
			pts  []client.Point
			want error
		}{
			{"not after the last point", l, batchPoints(509, 3), client.ErrOutOfOrder},
			{"repeated timestamp inside", l, unordered, client.ErrOutOfOrder},
			{"unknown series", protocol.LabelFromString("none"), batchPoints(0, 2), client.ErrSeriesNotFound},
			{"empty", l, nil, client.ErrBatchSize},
			{"over MaxPayload", l, make([]client.Point, client.MaxBatchPoints+1), client.ErrBatchSize},
		}
		for _, tc := range cases {
			if err := c.AppendBatch(ctx, tc.l, tc.pts); !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			}
		}
		info, err := c.SeriesInfo(ctx, l)
		if err != nil || info.Points != uint64(len(want)) || info.Last != 509 {
			t.Fatalf("after the refused batches: %+v, %v; want %d points, last 509", info, err, len(want))
		}
		must(t, c.Ping(ctx))
	})
}

// TestAppendBatchLargest: a batch of exactly the default limit goes through.
func TestAppendBatchLargest(t *testing.T) {
	readTargets(t, func(t *testing.T, c *client.Conn) {
		ctx := context.Background()
		l := protocol.LabelFromString("largest")
		must(t, c.Create(ctx, l))
		must(t, c.AppendBatch(ctx, l, batchPoints(0, client.MaxBatchPoints)))
		info, err := c.SeriesInfo(ctx, l)
		if err != nil || info.Points != client.MaxBatchPoints {
			t.Fatalf("SeriesInfo: %+v, %v", info, err)
		}
	})
}

// TestAppendBatchMaxPayloadOff: with the client's check off, the server answers an oversized
// batch payload_too_large and closes, which fails the request with a connection error.
func TestAppendBatchMaxPayloadOff(t *testing.T) {
	ctx := context.Background()
	c := dial(t, serverAddr(t), &client.Options{MaxPayload: -1})
	l := protocol.LabelFromString("big")
	must(t, c.Create(ctx, l))
	err := c.AppendBatch(ctx, l, batchPoints(0, client.MaxBatchPoints+1))
	if !errors.Is(err, client.ErrPayloadTooLarge) && !errors.As(err, new(*client.ConnError)) {
		t.Fatalf("oversized batch: %v, want payload_too_large or a lost connection", err)
	}
	// The server closes the connection after payload_too_large (R2); the client learns of it
	// when its reader sees the close, which may come a moment after the answer.
	for c.Err() == nil {
		if hang.Passed(t) {
			t.Fatal("the connection is still usable after payload_too_large")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestAppendBatchPipelined: consecutive batches of one Batch are pipelined in order.
func TestAppendBatchPipelined(t *testing.T) {
	readTargets(t, func(t *testing.T, c *client.Conn) {
		ctx := context.Background()
		l := protocol.LabelFromString("pipelined")
		must(t, c.Create(ctx, l))
		var b client.Batch
		var want []client.Point
		for i := range 20 {
			pts := batchPoints(int64(i)*100, 100)
			want = append(want, pts...)
			b.AppendBatchBits(l, pts)
		}
		must(t, c.Do(ctx, &b))
		for i, r := range b.Results() {
			if r.Err != nil {
				t.Fatalf("batch %d: %v", i, r.Err)
			}
		}
		if got := collect(t, c.Range(ctx, l, 0, math.MaxInt64, nil)); !samePoints(got, want) {
			t.Fatalf("read back %d points, want %d", len(got), len(want))
		}
		b.Reset()
		b.AppendBatch(l, batchPoints(5000, 1))
		b.AppendBatch(l, nil)
		if err := c.Do(ctx, &b); !errors.Is(err, client.ErrBatchSize) {
			t.Fatalf("Do with an empty batch: %v, want ErrBatchSize", err)
		}
		if info, _ := c.SeriesInfo(ctx, l); info.Points != uint64(len(want)) {
			t.Fatalf("Do refused with ErrBatchSize sent something: %+v", info)
		}
	})
}

func TestAppendBatchUnsupported(t *testing.T) {
	ctx := context.Background()
	c := dial(t, clienttest.StartWith(t, nil, clienttest.Options{V1Only: true}).Addr, nil)
	l := protocol.LabelFromString("x")
	err := c.AppendBatch(ctx, l, batchPoints(0, 3))
	if !errors.Is(err, client.ErrUnsupported) || !errors.Is(err, client.ErrBadOpcode) {
		t.Fatalf("got %v, want ErrUnsupported", err)
	}
	must(t, c.Ping(ctx)) // the payload was read and discarded: the connection is in step
}

func TestPoolAppendBatch(t *testing.T) {
	ctx := context.Background()
	p := client.NewPool(serverAddr(t), protocol.DevCertificate, 2, nil)
	t.Cleanup(func() { _ = p.Close() })
	l := protocol.LabelFromString("pool")
	must(t, p.Create(ctx, l))
	must(t, p.AppendBatch(ctx, l, batchPoints(0, 10)))
	must(t, p.AppendBatchBits(ctx, l, batchPoints(10, 10)))
	if info, err := p.SeriesInfo(ctx, l); err != nil || info.Points != 20 {
		t.Fatalf("SeriesInfo: %+v, %v", info, err)
	}
}

// TestAppendBatchAllocs: a steady stream of batches allocates nothing in the client.
func TestAppendBatchAllocs(t *testing.T) {
	ok := &clienttest.Reply{Frame: protocol.AppendFrame(nil, protocol.OpOK, nil)}
	addr := clienttest.Start(t, func(r clienttest.Request) *clienttest.Reply {
		if r.Op == protocol.OpAppendBatch {
			return ok
		}
		return nil
	}).Addr
	c := dial(t, addr, nil)
	ctx := context.Background()
	pts := batchPoints(0, 1000)
	l := protocol.LabelFromString("allocs")
	must(t, c.AppendBatch(ctx, l, pts)) // warm up the pools
	if n := testing.AllocsPerRun(50, func() { must(t, c.AppendBatch(ctx, l, pts)) }); n > 0 {
		t.Fatalf("AppendBatch allocates %v times per call", n)
	}
}
