package storage

import (
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
)

// refLookback is Lookback done the obvious way: the kept points up to ts, the last k+1 of them,
// when one sits at ts.
func refLookback(all []point, keep, ts int64, k int) ([]point, bool) {
	var upTo []point
	for _, p := range all {
		if p.ts >= keep && p.ts <= ts {
			upTo = append(upTo, p)
		}
	}
	if len(upTo) == 0 || upTo[len(upTo)-1].ts != ts {
		return nil, false
	}
	return upTo[max(0, len(upTo)-k-1):], true
}

// checkLookback compares Lookback with refLookback at every point, just before and after it,
// for lookbacks within a chunk, across chunk and span boundaries, and longer than the series.
func checkLookback(t *testing.T, rng *rand.Rand, s *Series, all []point) {
	t.Helper()
	keep := s.Keep()
	var dst []Point
	ks := []int{0, 1, 2, 7, 119, 120, 121, 250, len(all) + 3}
	for i, p := range all {
		for _, ts := range []int64{p.ts, p.ts - 1, p.ts + 1} {
			k := ks[rng.Intn(len(ks))]
			if i%97 == 0 {
				k = len(all) + 3 // now and then, the whole series
			}
			var found bool
			dst, found = s.Lookback(ts, k, dst)
			want, wantFound := refLookback(all, keep, ts, k)
			if found != wantFound || len(dst) != len(want) {
				t.Fatalf("Lookback(%d, %d): %d points, %v; want %d, %v", ts, k, len(dst), found, len(want), wantFound)
			}
			for j := range want {
				if dst[j].TS != want[j].ts || dst[j].Value != want[j].bits {
					t.Fatalf("Lookback(%d, %d) point %d: %d %#x, want %d %#x", ts, k, j, dst[j].TS, dst[j].Value, want[j].ts, want[j].bits)
				}
			}
		}
	}
	if err := s.TakeErr(); err != nil {
		t.Fatal(err)
	}
}

// TestLookbackAcrossFilesAndMemory: the point at ts and the k before it, from a series whose
// history lies in several chunk files and in memory, with and without retention (E6: an
// expired point is never one of them), before and after a restart.
func TestLookbackAcrossFilesAndMemory(t *testing.T) {
	for _, keep := range []int64{0, 1 << 46} {
		rng := rand.New(rand.NewSource(keep + 3))
		dir := t.TempDir()
		d, _ := openRecovered(t, dir, DiskOptions{})
		s := NewSeries()
		s.SetRetention(keep)
		var all []point
		for round := range 3 {
			for _, p := range randomPoints(rng, 400+round*150, int64(round)<<50) {
				s.Append(p.ts, p.bits)
				all = append(all, p)
			}
			checkLookback(t, rng, s, all) // full chunks still in memory
			flushNow(t, d, s)
			checkLookback(t, rng, s, all) // now in a chunk file, the head in memory
		}
		for _, p := range randomPoints(rng, 200, all[len(all)-1].ts) {
			s.Append(p.ts, p.bits)
			all = append(all, p)
		}
		checkLookback(t, rng, s, all)
		flushNow(t, d, s) // the last points were never logged: a checkpoint keeps them
		must(t, d.Close())
		d2, states := openRecovered(t, dir, DiskOptions{})
		r := states[0].Series
		r.SetRetention(keep)
		checkLookback(t, rng, r, all)
		must(t, d2.Close())
	}
}

// TestLookbackEdges: a lone point, extreme timestamps, a negative k.
func TestLookbackEdges(t *testing.T) {
	s := NewSeries()
	if pts, found := s.Lookback(0, 3, nil); found || len(pts) != 0 {
		t.Fatal("an empty series found a point")
	}
	s.Append(math.MinInt64, 1)
	s.Append(0, 2)
	s.Append(math.MaxInt64, 3)
	cases := []struct {
		ts    int64
		k     int
		want  []uint64
		found bool
	}{
		{math.MinInt64, 0, []uint64{1}, true},
		{math.MinInt64, 5, []uint64{1}, true},
		{math.MaxInt64, 1, []uint64{2, 3}, true},
		{math.MaxInt64, 9, []uint64{1, 2, 3}, true},
		{1, 1, nil, false},
		{0, -1, nil, false},
	}
	for _, c := range cases {
		pts, found := s.Lookback(c.ts, c.k, nil)
		if found != c.found || len(pts) != len(c.want) {
			t.Fatalf("Lookback(%d, %d) = %v, %v", c.ts, c.k, pts, found)
		}
		for i, v := range c.want {
			if pts[i].Value != v {
				t.Fatalf("Lookback(%d, %d) = %v", c.ts, c.k, pts)
			}
		}
	}
}

// TestLookbackAllocatesNothing: with room for k+1 points in dst, a lookback across chunk files
// and memory allocates nothing.
func TestLookbackAllocatesNothing(t *testing.T) {
	dir := t.TempDir()
	d, _ := openRecovered(t, dir, DiskOptions{})
	defer func() { _ = d.Close() }()
	s := NewSeries()
	pts := randomPoints(rand.New(rand.NewSource(1)), 1000, 0)
	for _, p := range pts[:700] {
		s.Append(p.ts, p.bits)
	}
	flushNow(t, d, s)
	for _, p := range pts[700:] {
		s.Append(p.ts, p.bits)
	}
	dst := make([]Point, 0, 300)
	ts := pts[800].ts
	if allocs := testing.AllocsPerRun(100, func() {
		var found bool
		if dst, found = s.Lookback(ts, 299, dst); !found || len(dst) != 300 {
			t.Fatal("lookback lost its points")
		}
	}); allocs != 0 {
		t.Fatalf("%v allocations per lookback", allocs)
	}
}

// TestLookbackDamagedChunkIsAnError: a chunk that fails its checksum on the walk back is an
// error (TakeErr), never a shorter answer.
func TestLookbackDamagedChunkIsAnError(t *testing.T) {
	dir := t.TempDir()
	d, _ := openRecovered(t, dir, DiskOptions{})
	s := NewSeries()
	pts := randomPoints(rand.New(rand.NewSource(2)), 600, 0)
	for _, p := range pts {
		s.Append(p.ts, p.bits)
	}
	flushNow(t, d, s)
	must(t, d.Close())
	files, _ := filepath.Glob(filepath.Join(dir, chunkDirName, "*"))
	b, err := os.ReadFile(files[0])
	must(t, err)
	b[40] ^= 0x01 // inside the first chunk
	must(t, os.WriteFile(files[0], b, 0o644))
	d2, states := openRecovered(t, dir, DiskOptions{})
	defer func() { _ = d2.Close() }()
	r := states[0].Series
	if _, found := r.Lookback(pts[len(pts)-1].ts, len(pts), nil); found {
		t.Fatal("a walk through a damaged chunk answered")
	}
	if r.TakeErr() == nil {
		t.Fatal("the damaged chunk was not reported")
	}
}
