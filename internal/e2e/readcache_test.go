package e2e

import (
	"math"
	"testing"
	"time"

	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/internal/engine"
	"github.com/taudb/tau/internal/server"
	"github.com/taudb/tau/internal/server/servertest"
	"github.com/taudb/tau/pkg/protocol"
)

// TestReadCacheAnswersAfterCheckpoints: with checkpoints running back to back, the chunks they
// write to files stay in memory for lookups (tau_storage_read_cache_bytes rises), and every
// point answers QUERY_POINT exactly while they do, while appends keep moving the head, and after
// a restart, when the cache starts empty and the series' first read of a file fills it again.
func TestReadCacheAnswersAfterCheckpoints(t *testing.T) {
	dir := t.TempDir()
	onDisk := func(c *config.Config) { c.DataDir = dir }
	srv := servertest.StartWith(t, server.Options{
		Checkpoints: engine.CheckpointOptions{Check: time.Millisecond, Every: time.Millisecond, LogBytes: 1},
	}, onDisk)
	c := connect(t, srv.Addr())
	l := label("cached")
	pts := make([]rp, 0, 3600)
	for i := range 3000 { // 25 chunks of 120 points
		pts = append(pts, rp{TS: int64(i) * 1e9, Bits: fb(float64(i%37) / 4)})
	}
	c.create(l, pts)
	waitUntil(t, "a checkpoint leaving chunks in the read cache", func() bool {
		return gaugeValue(t, srv, "tau_storage_read_cache_bytes") > 0
	})
	queryAll := func() {
		t.Helper()
		for _, p := range pts {
			c.expect(c.call(protocol.OpQueryPoint, queryP(l, p.TS)), foundAnswer(math.Float64frombits(p.Bits)))
		}
		c.expect(c.call(protocol.OpQueryPoint, queryP(l, 1)), notFoundAnswer) // between two points
	}
	queryAll()
	more := make([]rp, 600) // the head moves on while checkpoints go on flushing
	for i := range more {
		more[i] = rp{TS: int64(len(pts)+i) * 1e9, Bits: fb(float64(-i))}
	}
	c.appendAll(l, more)
	pts = append(pts, more...)
	queryAll()
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	srv = servertest.Start(t, onDisk)
	c = connect(t, srv.Addr())
	if got := gaugeValue(t, srv, "tau_storage_read_cache_bytes"); got != 0 {
		t.Fatalf("read cache after a restart: %v bytes, want none before a read", got)
	}
	queryAll()
	if got := gaugeValue(t, srv, "tau_storage_read_cache_bytes"); got == 0 {
		t.Fatal("read cache after a restart and reads of its files: empty")
	}
}
