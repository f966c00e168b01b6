package e2e

import (
	"testing"

	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/internal/server"
	"github.com/taudb/tau/internal/server/servertest"
	"github.com/taudb/tau/internal/storage"
	"github.com/taudb/tau/internal/storage/vfs"
	"github.com/taudb/tau/internal/storage/vfs/errorfs"
	"github.com/taudb/tau/pkg/protocol"
)

// TestR11_AlwaysSyncsBeforeAnswering counts fsyncs through the file layer: with
// TAU_FSYNC=always, N sequential appends on one connection see the fsync count grow before
// each OK arrives; with interval, none of them waits for one.
func TestR11_AlwaysSyncsBeforeAnswering(t *testing.T) {
	for _, tc := range []struct {
		policy storage.FsyncPolicy
		name   string
		always bool
	}{{storage.FsyncAlways, config.FsyncAlways, true}, {storage.FsyncInterval, config.FsyncInterval, false}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			fs := errorfs.Wrap(vfs.OS)
			st, err := storage.OpenDisk(dir, storage.DiskOptions{FS: fs, Fsync: tc.policy, Interval: 1 << 40})
			if err != nil {
				t.Fatal(err)
			}
			srv := servertest.StartWith(t, server.Options{Store: st}, func(c *config.Config) {
				c.DataDir, c.Fsync = dir, tc.name
			})
			c := connect(t, srv.Addr())
			l := label("synced")
			c.expect(c.call(protocol.OpCreateSeries, series(l)), okAnswer)
			const n = 50
			start := fs.Syncs()
			for i := int64(0); i < n; i++ {
				before := fs.Syncs()
				c.expect(c.call(protocol.OpAppend, appendP(l, i, 1)), okAnswer)
				if tc.always && fs.Syncs() <= before {
					t.Fatalf("append %d answered OK with no fsync after it was sent", i)
				}
			}
			synced := fs.Syncs() - start
			if tc.always && synced < n {
				t.Fatalf("%d fsyncs for %d sequential appends", synced, n)
			}
			if !tc.always && synced != 0 {
				t.Fatalf("interval: %d fsyncs on the answer path", synced)
			}
		})
	}
}
