package chunkfile

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/taudb/tau/internal/storage/chunkenc"
	"github.com/taudb/tau/internal/storage/vfs"
)

// sealedChunks are the full chunks of a series of n regular points.
func sealedChunks(t *testing.T, n int) []chunkenc.Chunk {
	t.Helper()
	s := chunkenc.NewSeries()
	for i := range n {
		s.Append(int64(i)*1e9, math.Float64bits(float64(i)))
	}
	out := make([]chunkenc.Chunk, s.Sealed())
	for i := range out {
		out[i] = s.SealedChunk(i)
	}
	return out
}

func writeFile(t *testing.T, dir string, seq uint64, runs ...[]chunkenc.Chunk) []Ref {
	t.Helper()
	w, err := Create(vfs.OS, dir, seq)
	if err != nil {
		t.Fatal(err)
	}
	var refs []Ref
	for _, r := range runs {
		ref, err := w.AddRun(r, r[len(r)-1].MaxT)
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref)
	}
	if _, err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	return refs
}

// TestRunsReadBack: every chunk of every run comes back byte for byte, with its point count,
// and Find lands on the chunk holding a timestamp.
func TestRunsReadBack(t *testing.T) {
	dir := t.TempDir()
	a, b := sealedChunks(t, 1000), sealedChunks(t, 250)
	refs := writeFile(t, dir, 7, a, b)
	f, err := Open(filepath.Join(dir, Name(7)), 7)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	for i, want := range [][]chunkenc.Chunk{a, b} {
		run, err := f.Run(refs[i])
		if err != nil {
			t.Fatal(err)
		}
		if run.Chunks() != len(want) || refs[i].MinT != want[0].MinT || refs[i].MaxT != want[len(want)-1].MaxT {
			t.Fatalf("run %d: %d chunks, ref %+v", i, run.Chunks(), refs[i])
		}
		for j, c := range want {
			data, n, err := run.Chunk(j)
			if err != nil || n != c.N || !bytes.Equal(data, c.Data) || run.MinT(j) != c.MinT {
				t.Fatalf("run %d chunk %d: n %d err %v", i, j, n, err)
			}
			if got := run.Find(c.MinT + 1); got != j {
				t.Fatalf("Find(%d) = %d, want %d", c.MinT+1, got, j)
			}
		}
	}
}

// TestOpenRefusesWhatIsNotAWholeFile: a file of another number, version, or without its
// trailer is refused at open; a Ref outside the file is refused, never read.
func TestOpenRefusesWhatIsNotAWholeFile(t *testing.T) {
	dir := t.TempDir()
	refs := writeFile(t, dir, 3, sealedChunks(t, 500))
	good, err := os.ReadFile(filepath.Join(dir, Name(3)))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		edit    func([]byte) []byte
		seq     uint64
		version bool
	}{
		{"another file's number", func(b []byte) []byte { return b }, 4, false},
		{"bad magic", func(b []byte) []byte { b[0] = 'X'; return b }, 3, false},
		{"a newer version", func(b []byte) []byte { b[7] = '3'; return b }, 3, true},
		{"no trailer (torn)", func(b []byte) []byte { return b[:len(b)-3] }, 3, false},
		{"too short", func(b []byte) []byte { return b[:10] }, 3, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f")
			if err := os.WriteFile(path, tc.edit(append([]byte(nil), good...)), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Open(path, tc.seq)
			var ve *VersionError
			if tc.version && !errors.As(err, &ve) || !tc.version && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open: %v", err)
			}
		})
	}
	f, err := Open(filepath.Join(dir, Name(3)), 3)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	for _, bad := range []Ref{
		{File: 4, Off: refs[0].Off, Size: refs[0].Size, Chunks: refs[0].Chunks},
		{File: 3, Off: 2, Size: refs[0].Size, Chunks: refs[0].Chunks},
		{File: 3, Off: refs[0].Off, Size: refs[0].Size + 1<<20, Chunks: refs[0].Chunks},
		{File: 3, Off: refs[0].Off, Size: refs[0].Size, Chunks: 0},
		{File: 3, Off: math.MaxUint64 - 4, Size: 8, Chunks: 1},
	} {
		if _, err := f.Run(bad); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Run(%+v): %v, want ErrCorrupt", bad, err)
		}
	}
}

// TestFindMatchesALinearScan: interpolation and galloping find the same chunk a scan does, on
// runs whose chunks are spread anything but evenly in time.
func TestFindMatchesALinearScan(t *testing.T) {
	s := chunkenc.NewSeries()
	ts := int64(math.MinInt64 + 1)
	for i := range 6000 {
		switch {
		case i%997 == 0:
			ts += 1 << 60 // a few huge gaps
		case i%120 < 3:
			ts += 1 << 30
		default:
			ts++
		}
		s.Append(ts, uint64(i))
	}
	chunks := make([]chunkenc.Chunk, s.Sealed())
	for i := range chunks {
		chunks[i] = s.SealedChunk(i)
	}
	dir := t.TempDir()
	refs := writeFile(t, dir, 1, chunks)
	f, err := Open(filepath.Join(dir, Name(1)), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	run, err := f.Run(refs[0])
	if err != nil {
		t.Fatal(err)
	}
	scan := func(ts int64) int {
		k := 0
		for i, c := range chunks {
			if c.MinT <= ts {
				k = i
			}
		}
		return k
	}
	for _, c := range chunks {
		for _, q := range []int64{c.MinT - 1, c.MinT, c.MinT + 1, c.MaxT, math.MinInt64, math.MaxInt64} {
			if got, want := run.Find(q), scan(q); got != want {
				t.Fatalf("Find(%d) = %d, want %d", q, got, want)
			}
		}
	}
}

// TestVersions: this release writes version 2, which holds decimal chunks; it reads version 1,
// whose Gorilla chunks come back as they were, and refuses a decimal chunk in a version-1 file
// as damage.
func TestVersions(t *testing.T) {
	dir := t.TempDir()
	dec := sealedChunks(t, 500) // integer values: decimal chunks
	gor := func() []chunkenc.Chunk {
		s, x := chunkenc.NewSeries(), uint64(88172645463325252)
		for i := range 500 {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			s.Append(int64(i)*1e9, x) // random bits: Gorilla chunks
		}
		out := make([]chunkenc.Chunk, s.Sealed())
		for i := range out {
			out[i] = s.SealedChunk(i)
		}
		return out
	}()
	if !chunkenc.IsDecimal(dec[0].Data) || chunkenc.IsDecimal(gor[0].Data) {
		t.Fatal("the test's chunks are not one decimal run and one Gorilla run")
	}
	refs := writeFile(t, dir, 5, dec, gor)
	path := filepath.Join(dir, Name(5))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("TAUCHNK2")) {
		t.Fatalf("written as %q, want version 2", b[:8])
	}
	b[7] = '1' // the same bytes as a version-1 file
	v1 := filepath.Join(t.TempDir(), Name(5))
	if err := os.WriteFile(v1, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, v1} {
		f, err := Open(p, 5)
		if err != nil {
			t.Fatal(err)
		}
		runDec, err1 := f.Run(refs[0])
		runGor, err2 := f.Run(refs[1])
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		for j, c := range gor {
			if data, _, err := runGor.Chunk(j); err != nil || !bytes.Equal(data, c.Data) {
				t.Fatalf("%s: Gorilla chunk %d: %v", p, j, err)
			}
		}
		_, _, err = runDec.Chunk(0)
		if p == v1 && !errors.Is(err, ErrCorrupt) || p == path && err != nil {
			t.Fatalf("%s: decimal chunk: %v", p, err)
		}
		_ = f.Close()
	}
}
