package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/taudb/tau/internal/config"
	"github.com/taudb/tau/pkg/protocol"
)

// TestE6_Retention: with TAU_RETENTION set, a point older than its series' newest minus the
// retention is invisible to every read (QUERY_POINT, QUERY_RANGE raw and aggregated,
// SERIES_INFO), the one exactly at the boundary is kept, and that holds after a restart, when
// the points sit in a chunk file, and after newer points move the boundary into that file.
// Once everything a chunk file holds has expired, the file is deleted.
func TestE6_Retention(t *testing.T) {
	dir := t.TempDir()
	onDisk := func(c *config.Config) { c.DataDir = dir; c.Retention = 1000 * time.Nanosecond }
	srv := startOnDisk(t, onDisk)
	c := connect(t, srv.Addr())
	l := label("retained")
	pts := make([]rp, 3000) // ts 0 … 2999: 25 chunks, so the boundary falls inside a full one
	for i := range pts {
		pts[i] = rp{TS: int64(i), Bits: fb(float64(i))}
	}
	c.create(l, pts)
	checkKept(t, c, l, 1999, 2999) // 2999 − 1000: the boundary itself is kept

	restart := func() {
		t.Helper()
		if err := srv.Stop(); err != nil { // the final checkpoint moves full chunks to a file
			t.Fatal(err)
		}
		srv = startOnDisk(t, onDisk)
		c = connect(t, srv.Addr())
	}
	restart()
	if files := chunkFiles(t, dir); len(files) != 1 {
		t.Fatalf("chunk files after the first restart: %v, want 1", files)
	}
	checkKept(t, c, l, 1999, 2999)

	// A newer point moves the boundary into the file: still exact, before and after a restart.
	c.expect(c.call(protocol.OpAppend, appendBits(l, 3500, fb(3500))), okAnswer)
	checkKept(t, c, l, 2500, 3500)
	restart()
	checkKept(t, c, l, 2500, 3500)

	// Once all the first file held has expired, no checkpoint names it and it is deleted.
	before := chunkFiles(t, dir)
	c.expect(c.call(protocol.OpAppend, appendBits(l, 100000, fb(100000))), okAnswer)
	checkKept(t, c, l, 99000, 100000)
	restart()
	checkKept(t, c, l, 99000, 100000)
	for _, f := range before {
		if _, err := os.Stat(f); err == nil {
			t.Fatalf("chunk file %s holds only expired points and was not deleted", f)
		}
	}
}

// checkKept checks that l answers exactly the points from keep to last of those TestE6_Retention
// wrote (ts 0…2999 with value ts, then later ones).
func checkKept(t *testing.T, c *rawConn, l protocol.Label, keep, last int64) {
	t.Helper()
	c.expect(c.call(protocol.OpQueryPoint, queryP(l, keep-1)), notFoundAnswer)
	c.expect(c.call(protocol.OpQueryPoint, queryP(l, 0)), notFoundAnswer)
	c.expect(c.call(protocol.OpQueryPoint, queryP(l, last)), foundAnswer(float64(last)))
	var want []rp
	for ts := keep; ts < 3000; ts++ {
		want = append(want, rp{TS: ts, Bits: fb(float64(ts))})
	}
	for _, ts := range []int64{3500, 100000} {
		if ts >= keep && ts <= last {
			want = append(want, rp{TS: ts, Bits: fb(float64(ts))})
		}
	}
	if keep < 3000 {
		c.expect(c.call(protocol.OpQueryPoint, queryP(l, keep)), foundAnswer(float64(keep)))
	}
	n, first, gotLast := c.info(l)
	if n != uint64(len(want)) || first != want[0].TS || gotLast != last {
		t.Fatalf("SERIES_INFO = %d points, %d…%d; want %d, %d…%d", n, first, gotLast, len(want), want[0].TS, last)
	}
	more, got := c.queryRange(l, minT, maxT, 0, protocol.AggRaw, 0)
	if more || len(got) != len(want) {
		t.Fatalf("QUERY_RANGE raw: %d points (more %v), want %d", len(got), more, len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("QUERY_RANGE raw point %d: %v, want %v", i, got[i], want[i])
		}
	}
	_, agg := c.queryRange(l, 0, maxT, 0, protocol.AggCount, 1<<40)
	if len(agg) != 1 || agg[0].Bits != fb(float64(len(want))) {
		t.Fatalf("QUERY_RANGE count: %v, want one bucket of %d", agg, len(want))
	}
}

func chunkFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "chunks", "*"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}
