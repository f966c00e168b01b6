package storage

import (
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"testing"

	"github.com/taudb/tau/internal/storage/chunkenc"
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

// cacheCost is what chunks from..to-1 of s's memory cost the read cache.
func cacheCost(s *Series, from, to int) int64 {
	var n int64
	for i := from; i < to; i++ {
		n += int64(len(s.mem.SealedChunk(i).Data) + chunkenc.HeaderBytes)
	}
	return n
}

// cachedBytes walks s's spans: the bytes its read cache holds, and whether it is a suffix of
// the series (no cached span older than one cached in part or not at all).
func cachedBytes(s *Series) (n int64, suffix bool) {
	suffix, cut := true, false
	for i := len(s.spans) - 1; i >= 0; i-- {
		c := s.spans[i].cached
		if c == nil {
			cut = true
			continue
		}
		suffix = suffix && !cut
		n += int64(c.Size() + c.Chunks()*chunkenc.HeaderBytes)
		cut = cut || c.Chunks() < int(s.spans[i].ref.Chunks)
	}
	return n, suffix
}

// cachedSeries is an empty series counting itself in fresh HeadStats, and a recovered store
// in a temporary directory to checkpoint it through (closed when the test ends).
func cachedSeries(t *testing.T) (dir string, d *Disk, h *HeadStats, s *Series) {
	t.Helper()
	dir = t.TempDir()
	d, _ = openRecovered(t, dir, DiskOptions{})
	t.Cleanup(func() { _ = d.Close() })
	h = &HeadStats{}
	s = NewSeries()
	s.SetStats(h)
	return dir, d, h, s
}

// checkDamagedLookups looks every point of pts up in s, whose file holding the points before
// cachedFrom is damaged: the cached ones (from cachedFrom on) answer exactly and without
// error, the others report ErrCorrupt.
func checkDamagedLookups(t *testing.T, s *Series, pts []point, cachedFrom int64) {
	t.Helper()
	for _, p := range pts {
		bits, found := s.Lookup(p.ts)
		err := s.TakeErr()
		switch {
		case p.ts >= cachedFrom && (!found || bits != p.bits || err != nil):
			t.Fatalf("cached point %d: %#x, %v, error %v; want %#x", p.ts, bits, found, err, p.bits)
		case p.ts < cachedFrom && !errors.Is(err, chunkfile.ErrCorrupt):
			t.Fatalf("point %d, in the damaged file only: %#x, %v, error %v; want ErrCorrupt", p.ts, bits, found, err)
		}
	}
}

// TestReadCacheAnswersLookupsOfFlushedChunks: after a checkpoint the newest chunks it wrote
// answer lookups and ranges from memory, as many as the series' share of the budget holds,
// while the older ones are read from the file. Damaging the whole run on disk shows which is
// which: cached points still answer exactly, every read of the others reports the damage.
func TestReadCacheAnswersLookupsOfFlushedChunks(t *testing.T) {
	dir, d, h, s := cachedSeries(t)
	pts := regularPoints(s, 40*maxChunkPointsForTest+7, 0) // 40 full chunks and a head
	budget := cacheCost(s, 30, 40) + 1                     // the newest 10, and not an 11th
	h.CacheBudget.Store(budget)
	checkpointAll(t, d, []*Series{s})
	if len(s.spans) != 1 || s.spans[0].cached.Chunks() != 10 || h.Cached.Load() != budget-1 {
		t.Fatalf("%d spans, %d bytes cached; want 1 span, 10 chunks cached in %d bytes", len(s.spans), h.Cached.Load(), budget-1)
	}
	damageRun(t, dir, s.spans[0].ref)
	cachedFrom := pts[30*maxChunkPointsForTest].ts
	checkDamagedLookups(t, s, pts[:40*maxChunkPointsForTest], cachedFrom)
	var got []point
	for it := s.Range(cachedFrom, math.MaxInt64); it.Next(); {
		ts, bits := it.At()
		got = append(got, point{ts, bits})
	}
	if err := s.TakeErr(); err != nil || !slices.Equal(got, pts[30*maxChunkPointsForTest:]) {
		t.Fatalf("a range over the cached chunks and the head: %d points, error %v; want %d exact", len(got), err, len(pts)-30*maxChunkPointsForTest)
	}
	n := 0
	for it := s.Range(cachedFrom-1, math.MaxInt64); it.Next(); {
		n++
	}
	if err := s.TakeErr(); !errors.Is(err, chunkfile.ErrCorrupt) || n != 0 {
		t.Fatalf("a range from before the cached chunks read %d points and %v, want none and ErrCorrupt", n, err)
	}
}

// TestReadCacheWarmsAfterRestart: a series recovered from disk starts with an empty cache and
// fills it on its first read of a file with the newest chunks its share holds, copied out of
// the file: damaged afterwards, the file fails every other read while those points still
// answer exactly, to lookups and to ranges. A budget turned off leaves the cache empty.
func TestReadCacheWarmsAfterRestart(t *testing.T) {
	dir, d, _, s := cachedSeries(t)
	pts := regularPoints(s, 40*maxChunkPointsForTest+7, 0) // 40 full chunks and a head
	budget := cacheCost(s, 30, 40) + 1                     // the newest 10, and not an 11th
	checkpointAll(t, d, []*Series{s})
	must(t, d.Close())
	for _, b := range []int64{-1, budget} {
		d2, states := openRecovered(t, dir, DiskOptions{})
		r, h := states[0].Series, &HeadStats{}
		h.CacheBudget.Store(b)
		r.SetStats(h)
		if r.spans[0].cached != nil || h.Cached.Load() != 0 {
			t.Fatal("a recovered series has a read cache before any read")
		}
		if bits, found := r.Lookup(pts[0].ts); !found || bits != pts[0].bits {
			t.Fatalf("Lookup(%d) = %#x, %v; want %#x", pts[0].ts, bits, found, pts[0].bits)
		}
		if b < 0 {
			if r.spans[0].cached != nil || h.Cached.Load() != 0 {
				t.Fatal("the cache filled with the budget off")
			}
			must(t, d2.Close())
			continue
		}
		if c := r.spans[0].cached; c == nil || c.Chunks() != 10 || h.Cached.Load() != budget-1 {
			t.Fatalf("after the first read: %d bytes cached; want 10 chunks in %d bytes", h.Cached.Load(), budget-1)
		}
		damageRun(t, dir, r.spans[0].ref)
		cachedFrom := pts[30*maxChunkPointsForTest].ts
		checkDamagedLookups(t, r, pts[:40*maxChunkPointsForTest], cachedFrom)
		if got := readRange(r.Range(cachedFrom, math.MaxInt64), 100); !slices.Equal(got, pts[30*maxChunkPointsForTest:]) {
			t.Fatalf("a range over the warmed chunks and the head: %d points, want %d exact", len(got), len(pts)-30*maxChunkPointsForTest)
		}
		must(t, r.TakeErr())
		must(t, d2.Close())
	}
}

// maxChunkPointsForTest is chunkenc's points per chunk, which regular points fill.
const maxChunkPointsForTest = 120

// TestReadCacheStaysInBudget: the series share the budget evenly, each keeps its newest
// chunks across checkpoints (the newest run whole when it fits), the gauge adds up, and a
// dropped series or a budget turned off gives its bytes back.
func TestReadCacheStaysInBudget(t *testing.T) {
	d, _ := openRecovered(t, t.TempDir(), DiskOptions{})
	defer func() { _ = d.Close() }()
	h := &HeadStats{}
	ss := make([]*Series, 5)
	all := make([][]point, len(ss))
	for i := range ss {
		ss[i] = NewSeries()
		ss[i].SetStats(h)
	}
	for round := range 4 {
		for i, s := range ss {
			all[i] = append(all[i], regularPoints(s, 7*maxChunkPointsForTest+i, int64(round)*1e12)...)
		}
		if round == 0 { // a share of about 12 chunks: one round whole, and part of the one before
			h.CacheBudget.Store(int64(len(ss)) * cacheCost(ss[0], 0, 6) * 2)
		}
		checkpointAll(t, d, ss)
		share := h.CacheBudget.Load() / int64(len(ss))
		var total int64
		for i, s := range ss {
			n, suffix := cachedBytes(s)
			total += n
			newest := s.spans[len(s.spans)-1]
			switch {
			case n > share || !suffix:
				t.Fatalf("round %d, series %d: %d bytes cached (share %d), a suffix: %v", round, i, n, share, suffix)
			case newest.cached == nil || newest.cached.Chunks() != int(newest.ref.Chunks):
				t.Fatalf("round %d, series %d: the newest run is not cached whole", round, i)
			case round > 0 && len(s.spans) > 1 && s.spans[len(s.spans)-2].cached == nil:
				t.Fatalf("round %d, series %d: nothing of the run before the newest is cached", round, i)
			}
			for _, p := range all[i] {
				if bits, found := s.Lookup(p.ts); !found || bits != p.bits {
					t.Fatalf("round %d, series %d, Lookup(%d) = %#x, %v; want %#x", round, i, p.ts, bits, found, p.bits)
				}
			}
		}
		if got := h.Cached.Load(); got != total {
			t.Fatalf("round %d: the gauge says %d bytes cached, the spans hold %d", round, got, total)
		}
	}
	n, _ := cachedBytes(ss[0])
	before := h.Cached.Load()
	ss[0].Release()
	if got := h.Cached.Load(); got != before-n || n == 0 {
		t.Fatalf("a drop of a series caching %d bytes took the gauge from %d to %d", n, before, got)
	}
	h.CacheBudget.Store(-1)
	checkpointAll(t, d, ss[1:])
	if got := h.Cached.Load(); got != 0 {
		t.Fatalf("with the cache off, %d bytes cached", got)
	}
}

// TestReadCacheSurvivesCompaction: when a checkpoint merges the runs of older files into one,
// the merged run keeps their cached chunks, so lookups of them still skip the file: with the
// merged file damaged on disk, every point still answers exactly from memory. With the budget
// holding only part of the older runs, the merged run keeps that part.
func TestReadCacheSurvivesCompaction(t *testing.T) {
	for _, tc := range []struct {
		name   string
		budget int64 // 0: everything fits
		whole  bool
	}{{"all cached", 0, true}, {"part cached", 1, false}} {
		t.Run(tc.name, func(t *testing.T) {
			dir, d, h, s := cachedSeries(t)
			var pts []point
			for round := range 5 { // the fifth checkpoint merges the four files before its own
				pts = append(pts, regularPoints(s, 3*maxChunkPointsForTest, int64(round)*1e12)...)
				if round == 4 && tc.budget > 0 { // room for the new run and two chunks more
					h.CacheBudget.Store(cacheCost(s, 0, s.mem.Sealed()) + cacheCost(s, 0, 2))
				}
				checkpointAll(t, d, []*Series{s})
			}
			if len(s.spans) != 2 {
				t.Fatalf("%d spans after the merge, want 2", len(s.spans))
			}
			merged := s.spans[0]
			switch c := merged.cached; {
			case c == nil:
				t.Fatal("the merged run kept none of its runs' cached chunks")
			case tc.whole && c.Chunks() != int(merged.ref.Chunks):
				t.Fatalf("the merged run has %d of its %d chunks cached, want all", c.Chunks(), merged.ref.Chunks)
			case !tc.whole && c.Chunks() != 2:
				t.Fatalf("the merged run has %d chunks cached, want the 2 the budget leaves", c.Chunks())
			}
			damageRun(t, dir, merged.ref)
			first, _ := merged.cached.FirstTimestamp()
			checkDamagedLookups(t, s, pts, first)
		})
	}
}
