package e2e

import (
	"testing"

	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/internal/server/servertest"
	"github.com/taudb/tau/pkg/protocol"
)

// TestR11_RestartKeepsAcknowledged restarts an in-process server on the same data directory,
// with both fsync policies, and finds every acknowledged effect and nothing refused.
func TestR11_RestartKeepsAcknowledged(t *testing.T) {
	for _, fsync := range []string{config.FsyncAlways, config.FsyncInterval} {
		t.Run(fsync, func(t *testing.T) {
			dir := t.TempDir()
			opts := func(c *config.Config) { c.DataDir = dir; c.Fsync = fsync }
			kept, dropped, recreated := label("kept"), label("dropped"), label("recreated")

			srv := servertest.Start(t, opts)
			c := connect(t, srv.Addr())
			for _, l := range []protocol.Label{kept, dropped, recreated} {
				c.expect(c.call(protocol.OpCreateSeries, series(l)), okAnswer)
			}
			for i := int64(0); i < 500; i++ {
				c.expect(c.call(protocol.OpAppend, appendP(kept, i*10, float64(i)/7)), okAnswer)
			}
			c.expect(c.call(protocol.OpAppend, appendP(kept, 5, 1)), errAnswer(protocol.StatusOutOfOrder))
			c.expect(c.call(protocol.OpAppend, appendP(recreated, 1, 1)), okAnswer)
			c.expect(c.call(protocol.OpDropSeries, series(dropped)), okAnswer)
			c.expect(c.call(protocol.OpDropSeries, series(recreated)), okAnswer)
			c.expect(c.call(protocol.OpCreateSeries, series(recreated)), okAnswer)
			c.expect(c.call(protocol.OpAppend, appendP(recreated, 2, 2)), okAnswer)
			if err := srv.Stop(); err != nil {
				t.Fatal(err)
			}

			srv = servertest.Start(t, opts)
			c = connect(t, srv.Addr())
			for i := int64(0); i < 500; i++ {
				c.expect(c.call(protocol.OpQueryPoint, queryP(kept, i*10)), foundAnswer(float64(i)/7))
			}
			c.expect(c.call(protocol.OpQueryPoint, queryP(kept, 5)), notFoundAnswer)
			c.expect(c.call(protocol.OpQueryPoint, queryP(dropped, 0)), errAnswer(protocol.StatusSeriesNotFound))
			c.expect(c.call(protocol.OpQueryPoint, queryP(recreated, 1)), notFoundAnswer)
			c.expect(c.call(protocol.OpQueryPoint, queryP(recreated, 2)), foundAnswer(2))
			// The recovered series keeps its order rule.
			c.expect(c.call(protocol.OpAppend, appendP(kept, 4990, 0)), errAnswer(protocol.StatusOutOfOrder))
			c.expect(c.call(protocol.OpAppend, appendP(kept, 5000, 0)), okAnswer)
		})
	}
}
