package e2e

import (
	"encoding/binary"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/taudb/tau/internal/testenv/hang"
	"github.com/taudb/tau/internal/testenv/tauproc"
	"github.com/taudb/tau/pkg/protocol"
)

// mountTmpfs mounts a tmpfs of size at dir for the test, or skips the test where this
// process may not mount (it needs root).
func mountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (it takes root): %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
}

// TestStorageFaults_FullDiskResumesWithoutRestart runs the binary on a small tmpfs, fills it
// with APPEND_BATCH until writes are refused, and then grows the filesystem: writes resume in
// the same process, reads went on meanwhile and never showed a refused point, the liveness
// probe never asked for a restart, and after a SIGKILL and a restart every acknowledged point
// is there and no refused one (CONFIG.md "Storage faults").
func TestStorageFaults_FullDiskResumesWithoutRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary on a tmpfs")
	}
	mnt := filepath.Join(t.TempDir(), "mnt")
	mountTmpfs(t, mnt, "8m")
	dir := filepath.Join(mnt, "data")
	p := tauproc.Start(t, tauproc.Options{DataDir: dir})
	c := connect(t, p.Addr)
	l := label("fill")
	c.expect(c.call(protocol.OpCreateSeries, series(l)), okAnswer)
	const per = 4000 // 64 KiB a batch
	acked, ts := 0, int64(0)
	batch := func() answer {
		pts := make([]bpt, per)
		for i := range pts {
			pts[i] = bpt{ts + int64(i) + 1, uint64(ts) + uint64(i)}
		}
		a := c.call(protocol.OpAppendBatch, batchP(l, pts...))
		if isOK(a) {
			acked += per
			ts += per
		}
		return a
	}
	for isOK(batch()) {
		if hang.Passed(t) {
			t.Fatal("an 8 MiB tmpfs never filled")
		}
	}
	refusedTS := ts + 1                                        // the refused batch's first point
	c.expect(batch(), errAnswer(protocol.StatusInternalError)) // still full: still refused
	if n, _, last := c.info(l); n != uint64(acked) || last != ts {
		t.Fatalf("on a full disk SERIES_INFO says %d points, last %d; %d were acknowledged, the last at %d", n, last, acked, ts)
	}
	c.expect(c.call(protocol.OpQueryPoint, queryP(l, refusedTS)), notFoundAnswer)
	c.expect(c.call(protocol.OpQueryPoint, queryP(l, ts)), foundBits(uint64(ts-1)))
	if code, _ := get(t, "http://"+p.HTTPAddr+"/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz %d on a full disk: a full disk needs space, not a restart", code)
	}
	if out, err := exec.Command("mount", "-o", "remount,size=64m", mnt).CombinedOutput(); err != nil {
		t.Fatalf("grow the tmpfs: %v %s", err, out)
	}
	grown := time.Now()
	for !isOK(batch()) {
		if hang.Passed(t) {
			t.Fatal("writes never resumed after the disk was grown")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("%d points acknowledged; writes resumed %v after the disk was grown", acked, time.Since(grown).Round(time.Millisecond))
	_ = c.nc.Close()
	p.Kill()

	r := tauproc.Start(t, tauproc.Options{DataDir: dir})
	rc := connect(t, r.Addr)
	if n, _, last := rc.info(l); n != uint64(acked) || last != ts {
		t.Fatalf("after a restart: %d points, last %d; want the %d acknowledged, the last at %d", n, last, acked, ts)
	}
	for _, at := range []int64{1, refusedTS - 1, ts} {
		rc.expect(rc.call(protocol.OpQueryPoint, queryP(l, at)), foundBits(uint64(at-1)))
	}
}

func isOK(a answer) bool { return a.op == protocol.OpOK && len(a.payload) == 0 }

// foundBits is QUERY_POINT's answer for a point with value bits b.
func foundBits(b uint64) answer {
	return answer{protocol.OpOK, binary.BigEndian.AppendUint64([]byte{1}, b)}
}
