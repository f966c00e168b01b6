package e2e

import (
	"net/http"
	"syscall"
	"testing"

	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/internal/server"
	"github.com/taudb/tau/internal/server/servertest"
	"github.com/taudb/tau/internal/storage"
	"github.com/taudb/tau/internal/storage/vfs"
	"github.com/taudb/tau/internal/storage/vfs/errorfs"
	"github.com/taudb/tau/pkg/protocol"
)

// TestR11_DiskFailure fills the disk (ENOSPC) and fails an fsync (EIO) under a running server:
// the failing write is answered internal_error, later writes too, reads go on and never show a
// refused point, and after a restart every acknowledged point is there and the refused ones
// are not.
func TestR11_DiskFailure(t *testing.T) {
	faults := map[string]struct {
		inject  func(*errorfs.FS)
		healthz int // a failed fsync leaves the log untrustworthy: kubelet must restart the pod
	}{
		"ENOSPC on write": {func(fs *errorfs.FS) { fs.FailWriteAfter(0, syscall.ENOSPC) }, http.StatusOK},
		"EIO on fsync":    {func(fs *errorfs.FS) { fs.FailSync(syscall.EIO) }, http.StatusServiceUnavailable},
	}
	for name, fault := range faults {
		inject := fault.inject
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			fs := errorfs.Wrap(vfs.OS)
			st, err := storage.OpenDisk(dir, storage.DiskOptions{FS: fs, Fsync: storage.FsyncAlways})
			if err != nil {
				t.Fatal(err)
			}
			srv := servertest.StartWith(t, server.Options{Store: st}, func(c *config.Config) { c.DataDir = dir })
			c := connect(t, srv.Addr())
			l, victim := label("disk"), label("victim")
			c.expect(c.call(protocol.OpCreateSeries, series(l)), okAnswer)
			c.expect(c.call(protocol.OpCreateSeries, series(victim)), okAnswer)
			for i := int64(1); i <= 100; i++ {
				c.expect(c.call(protocol.OpAppend, appendP(l, i, float64(i))), okAnswer)
			}
			inject(fs)
			c.expect(c.call(protocol.OpAppend, appendP(l, 101, 1)), errAnswer(protocol.StatusInternalError))
			c.expect(c.call(protocol.OpAppend, appendP(l, 102, 1)), errAnswer(protocol.StatusInternalError))
			healthz := func(want int) {
				if code, _ := get(t, "http://"+srv.HTTPAddr()+"/healthz"); code != want {
					t.Fatalf("/healthz answers %d, want %d", code, want)
				}
			}
			healthz(fault.healthz) // a full disk only refuses appends; a failed fsync fails the log
			// A create only refuses, and a drop is refused before it is done while the disk is
			// full (memory could not take it back).
			c.expect(c.call(protocol.OpCreateSeries, series(label("new"))), errAnswer(protocol.StatusInternalError))
			c.expect(c.call(protocol.OpDropSeries, series(victim)), errAnswer(protocol.StatusInternalError))
			// A refused drop is never shown as done: its series answers internal_error, not
			// series_not_found, until the restart brings it back.
			if a := c.call(protocol.OpSeriesInfo, series(victim)); a.op == protocol.OpErr && a.payload[0] == byte(protocol.StatusSeriesNotFound) {
				t.Fatal("a refused drop shows as done")
			}
			for i := int64(1); i <= 100; i++ { // reads keep being served
				c.expect(c.call(protocol.OpQueryPoint, queryP(l, i)), foundAnswer(float64(i)))
			}
			// and a refused write leaves no trace, before a restart as after it
			c.expect(c.call(protocol.OpQueryPoint, queryP(l, 101)), notFoundAnswer)
			if n, _, last := c.info(l); n != 100 || last != 100 {
				t.Fatalf("SERIES_INFO after the refused writes: %d points, last %d; want 100 and 100", n, last)
			}
			healthz(fault.healthz)
			_, body := get(t, "http://"+srv.HTTPAddr()+"/metrics")
			if !contains(body, "tau_storage_write_refusals_total 4\n") {
				t.Errorf("refusals not counted:\n%s", grepLines(body, "refusals"))
			}
			_ = srv.Stop() // the failed log reports its failure on close; the data is what matters
			fs.Reset()

			srv = servertest.Start(t, func(c *config.Config) { c.DataDir = dir })
			c = connect(t, srv.Addr())
			for i := int64(1); i <= 100; i++ {
				c.expect(c.call(protocol.OpQueryPoint, queryP(l, i)), foundAnswer(float64(i)))
			}
			c.expect(c.call(protocol.OpQueryPoint, queryP(l, 101)), notFoundAnswer)
			c.expect(c.call(protocol.OpQueryPoint, queryP(l, 102)), notFoundAnswer)
			if n, _, _ := c.info(victim); n != 0 { // there, as the refused drop left it
				t.Fatalf("the series whose drop was refused holds %d points", n)
			}
			c.expect(c.call(protocol.OpAppend, appendP(l, 101, 5)), okAnswer) // writable again
		})
	}
}
