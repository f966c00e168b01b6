package storage

import (
	"errors"
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/taudb/tau/internal/storage/chunkfile"
)

// regularPoints appends n points one second apart from ts on, and returns them.
func regularPoints(s *Series, n int, from int64) []point {
	pts := make([]point, n)
	for i := range pts {
		pts[i] = point{from + int64(i)*1e9, math.Float64bits(float64(i%17) / 4)}
		s.Append(pts[i].ts, pts[i].bits)
	}
	return pts
}

// checkpointAll checkpoints every series through d and installs the result, as the catalog
// does.
func checkpointAll(t *testing.T, d *Disk, ss []*Series) {
	t.Helper()
	m, err := d.BeginCheckpoint()
	must(t, err)
	snaps := make([]SeriesSnapshot, len(ss))
	for i, s := range ss {
		snaps[i] = snapshotOf(lbl(fmt.Sprint("s", i)), 0, s)
	}
	must(t, d.CommitCheckpoint(m, snaps, func() {
		for i, s := range ss {
			s.Install(&snaps[i])
		}
	}))
}

// damageRun flips a bit in every 16th byte of a run's chunk data, in the file itself, which
// the store has mapped: every chunk of the run fails its checksum from now on.
func damageRun(t *testing.T, dir string, ref chunkfile.Ref) {
	t.Helper()
	f, err := os.OpenFile(fmt.Sprintf("%s/%s/%s", dir, chunkDirName, chunkfile.Name(ref.File)), os.O_RDWR, 0)
	must(t, err)
	defer func() { must(t, f.Close()) }()
	b := make([]byte, ref.Size)
	_, err = f.ReadAt(b, int64(ref.Off))
	must(t, err)
	for i := 0; i < len(b); i += 16 {
		b[i] ^= 0x10
	}
	_, err = f.WriteAt(b, int64(ref.Off))
	must(t, err)
}

// TestReadCacheAnswersLookupsOfFlushedChunks: after a checkpoint the newest chunks it wrote
// answer lookups from memory, up to the series' share of the budget, while the older ones and
// every range read the file. Damaging the whole run on disk shows which is which: lookups of
// cached points still answer exactly, every other read reports the damage.
func TestReadCacheAnswersLookupsOfFlushedChunks(t *testing.T) {
	dir := t.TempDir()
	d, _ := openRecovered(t, dir, DiskOptions{})
	defer func() { _ = d.Close() }()
	h := &HeadStats{}
	h.CacheBudget.Store(10)
	s := NewSeries()
	s.SetStats(h)
	pts := regularPoints(s, 40*maxChunkPointsForTest+7, 0) // 40 full chunks and a head
	checkpointAll(t, d, []*Series{s})
	if len(s.spans) != 1 || h.Cached.Load() != 10 || s.spans[0].cached.Chunks() != 10 {
		t.Fatalf("%d spans, %d chunks cached, want 1 span and 10 cached", len(s.spans), h.Cached.Load())
	}
	damageRun(t, dir, s.spans[0].ref)
	cachedFrom := pts[30*maxChunkPointsForTest].ts
	for _, p := range pts[:40*maxChunkPointsForTest] {
		bits, found := s.Lookup(p.ts)
		err := s.TakeErr()
		switch {
		case p.ts >= cachedFrom && (!found || bits != p.bits || err != nil):
			t.Fatalf("cached point %d: %#x, %v, error %v; want %#x", p.ts, bits, found, err, p.bits)
		case p.ts < cachedFrom && !errors.Is(err, chunkfile.ErrCorrupt):
			t.Fatalf("point %d, in the damaged file only: %#x, %v, error %v; want ErrCorrupt", p.ts, bits, found, err)
		}
	}
	for it := s.Range(cachedFrom, math.MaxInt64); it.Next(); {
	}
	if err := s.TakeErr(); !errors.Is(err, chunkfile.ErrCorrupt) {
		t.Fatalf("a range over cached chunks read %v, want the file's ErrCorrupt", err)
	}
}

// maxChunkPointsForTest is chunkenc's points per chunk, which regular points fill.
const maxChunkPointsForTest = 120

// TestReadCacheStaysInBudget: the series share the budget evenly (never below the minimum),
// each keeps its newest chunks across checkpoints, and a dropped series or a budget turned off
// gives its chunks back.
func TestReadCacheStaysInBudget(t *testing.T) {
	d, _ := openRecovered(t, t.TempDir(), DiskOptions{})
	defer func() { _ = d.Close() }()
	h := &HeadStats{}
	h.CacheBudget.Store(60)
	ss := make([]*Series, 5)
	all := make([][]point, len(ss))
	for i := range ss {
		ss[i] = NewSeries()
		ss[i].SetStats(h)
	}
	for round, want := range []int64{5 * 6, 5 * 12, 5 * 12} { // 6 full chunks, then 7 a round; 60 / 5 series = 12 each
		for i, s := range ss {
			all[i] = append(all[i], regularPoints(s, 7*maxChunkPointsForTest, int64(round)*1e12)...)
		}
		checkpointAll(t, d, ss)
		if got := h.Cached.Load(); got != want {
			t.Fatalf("round %d: %d chunks cached, want %d", round, got, want)
		}
		for i, s := range ss {
			newest := s.spans[len(s.spans)-1]
			if newest.cached == nil || newest.cached.Chunks() != int(newest.ref.Chunks) {
				t.Fatalf("round %d, series %d: the newest run is not cached whole", round, i)
			}
			for _, p := range all[i] {
				if bits, found := s.Lookup(p.ts); !found || bits != p.bits {
					t.Fatalf("round %d, series %d, Lookup(%d) = %#x, %v; want %#x", round, i, p.ts, bits, found, p.bits)
				}
			}
		}
	}
	h.CacheBudget.Store(1) // a share of 1 is raised to the minimum
	checkpointAll(t, d, ss)
	if got := h.Cached.Load(); got != 5*minCachedPerSeries {
		t.Fatalf("%d chunks cached, want %d", got, 5*minCachedPerSeries)
	}
	ss[0].Release()
	if got := h.Cached.Load(); got != 4*minCachedPerSeries {
		t.Fatalf("after a drop, %d chunks cached, want %d", got, 4*minCachedPerSeries)
	}
	h.CacheBudget.Store(-1)
	checkpointAll(t, d, ss[1:])
	if got := h.Cached.Load(); got != 0 {
		t.Fatalf("with the cache off, %d chunks cached", got)
	}
}
