package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/internal/server/servertest"
	"github.com/taudb/tau/pkg/client"
	"github.com/taudb/tau/pkg/protocol"
)

// BenchmarkBatchVsPipelined compares, durably (on disk, for each TAU_FSYNC policy), writing
// 1,000 points as one APPEND_BATCH against 1,000 APPENDs pipelined 64 deep on one connection.
// Each iteration does both, alternating which goes first, each on its own series, so the pair
// comes from one run under the same conditions: batch-points/s, pipelined-points/s and their
// ratio batch/pipelined. ns/op is one iteration (2,000 points).
//
//	go test -run '^$' -bench BatchVsPipelined -benchtime 20x ./internal/e2e
func BenchmarkBatchVsPipelined(b *testing.B) {
	const points, depth = 1000, 64
	for _, mode := range []string{config.FsyncAlways, config.FsyncInterval} {
		b.Run("fsync="+mode, func(b *testing.B) {
			srv := servertest.Start(b, func(c *config.Config) { c.Fsync = mode })
			ctx := context.Background()
			c, err := client.Dial(ctx, srv.Addr(), protocol.DevCertificate, &client.Options{MaxInFlight: depth})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = c.Close() })
			bl, pl := protocol.LabelFromString("bench.batch"), protocol.LabelFromString("bench.pipelined")
			for _, l := range []protocol.Label{bl, pl} {
				if err := c.Create(ctx, l); err != nil {
					b.Fatal(err)
				}
			}
			pts := make([]client.Point, points)
			var pipe client.Batch
			var batchTime, pipeTime time.Duration
			ts := int64(0)
			batch := func() {
				t0 := time.Now()
				if err := c.AppendBatch(ctx, bl, pts); err != nil {
					b.Fatal(err)
				}
				batchTime += time.Since(t0)
			}
			pipelined := func() {
				pipe.Reset()
				for _, p := range pts {
					pipe.Append(pl, p.TS, p.Value)
				}
				t0 := time.Now()
				if err := c.Do(ctx, &pipe); err != nil {
					b.Fatal(err)
				}
				pipeTime += time.Since(t0)
				for _, r := range pipe.Results() {
					if r.Err != nil {
						b.Fatal(r.Err)
					}
				}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for j := range pts {
					ts++
					pts[j] = client.Point{TS: ts, Value: float64(ts) * 0.5}
				}
				if i%2 == 0 {
					batch()
					pipelined()
				} else {
					pipelined()
					batch()
				}
			}
			n := float64(b.N * points)
			bps, pps := n/batchTime.Seconds(), n/pipeTime.Seconds()
			b.ReportMetric(bps, "batch-points/s")
			b.ReportMetric(pps, "pipelined-points/s")
			b.ReportMetric(bps/pps, "batch/pipelined")
		})
	}
}
