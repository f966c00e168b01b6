package storage

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/taudb/tau/internal/query"
	"github.com/taudb/tau/internal/storage/chunkfile"
)

// flushNow checkpoints s through d and installs the result, as the catalog does: its full
// chunks go to a chunk file and leave memory.
func flushNow(t *testing.T, d *Disk, s *Series) {
	t.Helper()
	m, err := d.BeginCheckpoint()
	must(t, err)
	snaps := []SeriesSnapshot{snapshotOf(lbl("s"), 0, s)}
	must(t, d.CommitCheckpoint(m, snaps, func() { s.Install(&snaps[0]) }))
}

// randomPoints are n points with irregular gaps (some of them huge) and values of every kind.
func randomPoints(rng *rand.Rand, n int, from int64) []point {
	pts := make([]point, 0, n)
	ts := from
	for range n {
		switch rng.Intn(10) {
		case 0:
			ts += rng.Int63n(1 << 40)
		default:
			ts += 1e9 + rng.Int63n(1000)
		}
		pts = append(pts, point{ts, math.Float64bits(float64(rng.Intn(100)) / 4)})
	}
	return pts
}

// checkSeries compares every read of s with the points in want that a retention of keepNS
// keeps: Lookup of each (and of the gaps), Range over random windows, Info.
func checkSeries(t *testing.T, rng *rand.Rand, s *Series, all []point, keepNS int64) {
	t.Helper()
	last := all[len(all)-1].ts
	want := all
	if keepNS > 0 {
		for len(want) > 0 && want[0].ts < last-keepNS {
			want = want[1:]
		}
	}
	for _, p := range all {
		bits, found := s.Lookup(p.ts)
		live := p.ts >= want[0].ts
		if found != live || (live && bits != p.bits) {
			t.Fatalf("Lookup(%d) = %#x, %v; want %#x, %v", p.ts, bits, found, p.bits, live)
		}
		if _, found := s.Lookup(p.ts - 1); found && (len(want) == 0 || p.ts-1 != want[0].ts) {
			// p.ts-1 is a point only if it is the previous one
			var prev bool
			for _, q := range all {
				prev = prev || q.ts == p.ts-1
			}
			if !prev {
				t.Fatalf("Lookup(%d) found a point that is not there", p.ts-1)
			}
		}
	}
	points, first, lastTS := s.Info()
	if points != uint64(len(want)) || first != want[0].ts || lastTS != last {
		t.Fatalf("Info = %d, %d, %d; want %d, %d, %d", points, first, lastTS, len(want), want[0].ts, last)
	}
	for range 200 {
		a, b := all[rng.Intn(len(all))].ts+rng.Int63n(3)-1, all[rng.Intn(len(all))].ts+rng.Int63n(3)-1
		var exp []point
		for _, p := range want {
			if p.ts >= a && p.ts < b {
				exp = append(exp, p)
			}
		}
		it := s.Range(a, b)
		var got []point
		for it.Next() {
			ts, v := it.At()
			got = append(got, point{ts, v})
		}
		if len(got) != len(exp) {
			t.Fatalf("Range(%d, %d): %d points, want %d", a, b, len(got), len(exp))
		}
		for i := range got {
			if got[i] != exp[i] {
				t.Fatalf("Range(%d, %d) point %d: %v, want %v", a, b, i, got[i], exp[i])
			}
		}
		size := 1 + rng.Intn(300)
		if read := readRange(s.Range(a, b), size); !slices.Equal(read, exp) {
			t.Fatalf("Range(%d, %d) through Read(%d): %d points, want %d", a, b, size, len(read), len(exp))
		}
	}
	if err := s.TakeErr(); err != nil {
		t.Fatal(err)
	}
}

// readRange is its points through Read, size at a time.
func readRange(it *RangeIter, size int) []point {
	var got []point
	buf := make([]query.Point, size)
	for {
		n := it.Read(buf)
		for _, p := range buf[:n] {
			got = append(got, point{p.TS, p.Value})
		}
		if n < size {
			return got
		}
	}
}

// TestSeriesReadsAcrossFilesAndMemory: a series whose history lies in several chunk files and
// in memory answers every read exactly as one held whole in memory, before and after a
// restart, with and without retention (E6), with the read cache off, holding a few chunks,
// and holding all.
func TestSeriesReadsAcrossFilesAndMemory(t *testing.T) {
	for _, budget := range []int64{-1, 4 << 10, 0} {
		t.Run(fmt.Sprint("cache budget ", budget), func(t *testing.T) { testReadsAcrossFiles(t, budget) })
	}
}

func testReadsAcrossFiles(t *testing.T, budget int64) {
	// Rounds lie 13 days apart and span about 10 hours: the retention of ~19.5 hours keeps
	// part of the newest round only, so whole files expire and one is read in part.
	for _, keep := range []int64{0, 1 << 46} {
		rng := rand.New(rand.NewSource(keep + 1))
		dir := t.TempDir()
		d, _ := openRecovered(t, dir, DiskOptions{})
		s := NewSeries()
		h := &HeadStats{}
		h.CacheBudget.Store(budget)
		s.SetStats(h)
		s.SetRetention(keep)
		var all []point
		for round := range 4 {
			for _, p := range randomPoints(rng, 700+round*100, int64(round)<<50) {
				s.Append(p.ts, p.bits)
				all = append(all, p)
			}
			flushNow(t, d, s)
			if (keep == 0 && len(s.spans) == 0) || s.mem.Sealed() != 0 {
				t.Fatalf("round %d: %d spans, %d full chunks left in memory", round, len(s.spans), s.mem.Sealed())
			}
			checkSeries(t, rng, s, all, keep)
		}
		for _, p := range randomPoints(rng, 300, all[len(all)-1].ts) {
			s.Append(p.ts, p.bits)
			all = append(all, p)
		}
		checkSeries(t, rng, s, all, keep)
		flushNow(t, d, s)
		// Without retention, the fifth checkpoint merged the four files before its own into one
		// (compaction); with it, the files of expired rounds are gone.
		files, _ := filepath.Glob(filepath.Join(dir, chunkDirName, "*"))
		if live := len(s.spans); len(files) != live || (keep == 0 && live != 2) || (keep > 0 && live > 2) {
			t.Fatalf("retention %d: %d chunk files, %d spans", keep, len(files), live)
		}
		must(t, d.Close())
		d2, states := openRecovered(t, dir, DiskOptions{})
		if len(states) != 1 {
			t.Fatalf("%d series recovered, want 1", len(states))
		}
		r := states[0].Series
		r.SetRetention(keep)
		checkSeries(t, rng, r, all, keep)
		must(t, d2.Close())
	}
}

// TestChunkFileDamageIsAnError: a chunk whose bytes changed on disk is never answered from:
// the read fails with ErrCorrupt instead of answering "not found" or a wrong value.
func TestChunkFileDamageIsAnError(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	dir := t.TempDir()
	d, _ := openRecovered(t, dir, DiskOptions{})
	s := NewSeries()
	pts := randomPoints(rng, 1000, 0)
	for _, p := range pts {
		s.Append(p.ts, p.bits)
	}
	flushNow(t, d, s)
	must(t, d.Close())
	files, _ := filepath.Glob(filepath.Join(dir, chunkDirName, "*"))
	if len(files) != 1 {
		t.Fatalf("chunk files %v, want 1", files)
	}
	b, err := os.ReadFile(files[0])
	must(t, err)
	b[100] ^= 0x10
	must(t, os.WriteFile(files[0], b, 0o644))
	d2, states := openRecovered(t, dir, DiskOptions{})
	defer func() { _ = d2.Close() }()
	r := states[0].Series
	failed := 0
	for _, p := range pts {
		if bits, found := r.Lookup(p.ts); !found || bits != p.bits {
			if err := r.TakeErr(); !errors.Is(err, chunkfile.ErrCorrupt) {
				t.Fatalf("Lookup(%d) = %#x, %v with error %v, want ErrCorrupt", p.ts, bits, found, err)
			}
			failed++
		}
	}
	if failed == 0 {
		t.Fatal("no read noticed the damaged chunk")
	}
	// A range over the damaged chunk stops short, through Next and through Read, and says why.
	var next []point
	for it := r.Range(math.MinInt64, math.MaxInt64); it.Next(); {
		ts, v := it.At()
		next = append(next, point{ts, v})
	}
	if err := r.TakeErr(); len(next) >= len(pts) || !errors.Is(err, chunkfile.ErrCorrupt) {
		t.Fatalf("Range through Next: %d of %d points, error %v; want fewer and ErrCorrupt", len(next), len(pts), err)
	}
	read := readRange(r.Range(math.MinInt64, math.MaxInt64), 64)
	if err := r.TakeErr(); !slices.Equal(read, next) || !errors.Is(err, chunkfile.ErrCorrupt) {
		t.Fatalf("Range through Read: %d points, error %v; want Next's %d and ErrCorrupt", len(read), err, len(next))
	}
}

// BenchmarkLookup: QUERY_POINT's work on a point only in a chunk file (mmapped, checksum
// checked) against one in memory and one in the read cache, in one run:
// go test -run '^$' -bench Lookup ./internal/storage
func BenchmarkLookup(b *testing.B) {
	benchReads(b, func(b *testing.B, s *Series, ts int64) {
		if _, ok := s.Lookup(ts); !ok {
			b.Fatal("not found")
		}
	})
}

// BenchmarkRange: a 1,000-point QUERY_RANGE's work (about 8 chunks), from the same three
// places: go test -run '^$' -bench Range ./internal/storage
func BenchmarkRange(b *testing.B) {
	benchReads(b, func(b *testing.B, s *Series, ts int64) {
		n := 0
		for it := s.Range(ts, ts+1000*10e9); it.Next(); {
			n++
		}
		if n != 1000 {
			b.Fatalf("%d points in range", n)
		}
	})
}

// BenchmarkRangeRead is BenchmarkRange through Read, 256 points a call, as QUERY_RANGE reads.
func BenchmarkRangeRead(b *testing.B) {
	buf := make([]query.Point, 256)
	benchReads(b, func(b *testing.B, s *Series, ts int64) {
		n, it := 0, s.Range(ts, ts+1000*10e9)
		for k := it.Read(buf); k > 0; k = it.Read(buf) {
			n += k
		}
		if n != 1000 {
			b.Fatalf("%d points in range", n)
		}
	})
}

// benchReads runs read on a series of 120,000 points held in memory, in a chunk file, and in
// a chunk file and the read cache, at random points away from the head.
func benchReads(b *testing.B, read func(b *testing.B, s *Series, ts int64)) {
	const n = 120_000
	for _, where := range []string{"memory", "disk", "cached"} {
		b.Run(where, func(b *testing.B) {
			s := NewSeries()
			h := &HeadStats{}
			if where == "disk" {
				h.CacheBudget.Store(-1)
			}
			s.SetStats(h)
			for i := range n {
				s.Append(int64(i)*10e9, math.Float64bits(float64(i%17)/4))
			}
			if where != "memory" {
				d, _ := openRecovered(b, b.TempDir(), DiskOptions{})
				m, err := d.BeginCheckpoint()
				must(b, err)
				snaps := []SeriesSnapshot{snapshotOf(lbl("s"), 0, s)}
				must(b, d.CommitCheckpoint(m, snaps, func() { s.Install(&snaps[0]) }))
				defer func() { _ = d.Close() }()
			}
			rng := rand.New(rand.NewSource(1))
			ts := make([]int64, 1024)
			for i := range ts {
				ts[i] = int64(rng.Intn(n-1200)) * 10e9 // never the head chunk
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				read(b, s, ts[i&1023])
			}
		})
	}
}

// TestMostlyExpiredFileIsRewritten: a chunk file most of whose points have expired is
// rewritten without them at the next checkpoint (retention reclaims disk before a file
// expires whole), and every read stays exact.
func TestMostlyExpiredFileIsRewritten(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	dir := t.TempDir()
	d, _ := openRecovered(t, dir, DiskOptions{})
	s := NewSeries()
	const keep = 500e9
	s.SetRetention(keep)
	var all []point
	add := func(from, to int) {
		for i := from; i < to; i++ {
			p := point{int64(i) * 1e9, math.Float64bits(float64(i % 7))}
			s.Append(p.ts, p.bits)
			all = append(all, p)
		}
	}
	add(0, 1200)
	flushNow(t, d, s) // one file: the 4 full chunks not expired yet, 600 s … 1079 s
	first := s.spans[0].ref
	add(1200, 1500) // the newest point is at 1499 s: points before 999 s expire, 83% of the file
	flushNow(t, d, s)
	if testutilCompactions(d) != 1 {
		t.Fatalf("%v compactions, want the mostly expired file rewritten", testutilCompactions(d))
	}
	for _, sp := range s.spans {
		if sp.ref.File == first.File {
			t.Fatalf("the mostly expired file %d is still read", first.File)
		}
	}
	if got := s.spans[0].ref; first.Chunks != 4 || got.Chunks != 1 || got.MinT != 960e9 {
		t.Fatalf("rewritten span %+v, want only the chunk holding 999 s on (from %+v)", got, first)
	}
	files, _ := filepath.Glob(filepath.Join(dir, chunkDirName, "*"))
	if len(files) != len(s.spans) {
		t.Fatalf("%d chunk files for %d spans", len(files), len(s.spans))
	}
	checkSeries(t, rng, s, all, keep)
	must(t, d.Close())
	d2, states := openRecovered(t, dir, DiskOptions{})
	defer func() { _ = d2.Close() }()
	states[0].Series.SetRetention(keep)
	checkSeries(t, rng, states[0].Series, all, keep)
}
