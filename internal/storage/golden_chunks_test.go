package storage

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/taudb/tau/internal/series"
	"github.com/taudb/tau/internal/storage/chunkfile"
	"github.com/taudb/tau/internal/storage/diskfmt"
)

// Golden files of the chunk-file era: testdata/chunkfile-v1.golden (a chunk file of two runs)
// and testdata/checkpoint-v2.golden (a checkpoint naming them), as the release before decimal
// chunks wrote them; testdata/chunkfile-v2.golden and checkpoint-v2-decimal.golden, the same
// series as this release writes them (its first run's chunks decimal, its second's Gorilla).
// Never change their content.
const (
	goldenChunkFilePath           = "testdata/chunkfile-v1.golden"
	goldenCheckpointV2Path        = "testdata/checkpoint-v2.golden"
	goldenChunkFileV2Path         = "testdata/chunkfile-v2.golden"
	goldenCheckpointV2DecimalPath = "testdata/checkpoint-v2-decimal.golden"
)

// goldenChunkSeries are the two series of the golden chunk file: one regular, one of extremes.
func goldenChunkSeries() map[series.Label][]point {
	reg, odd := lbl("cpu.load"), lbl("odd")
	pts := map[series.Label][]point{}
	for i := range 250 {
		pts[reg] = append(pts[reg], point{int64(i) * 10e9, math.Float64bits(float64(i%17) / 4)})
	}
	pts[odd] = []point{{math.MinInt64, 0x7ff8deadbeef0001}, {-1, 1 << 63}, {0, math.Float64bits(math.Inf(1))},
		{math.MaxInt64 - 1, 0}}
	for i := range 130 {
		pts[odd] = append(pts[odd][:len(pts[odd])-1], point{int64(i) + 1, uint64(i) * 0x9e3779b97f4a7c15}, pts[odd][len(pts[odd])-1])
	}
	return pts
}

// goldenChunkDir writes the golden series through a checkpoint into dir, as the server does,
// and returns the chunk file's and the checkpoint's bytes.
func goldenChunkDir(t *testing.T, dir string) (chunkFile, ckpt []byte) {
	d, _ := openRecovered(t, dir, DiskOptions{})
	m, err := d.BeginCheckpoint()
	must(t, err)
	var snaps []SeriesSnapshot
	pts := goldenChunkSeries()
	for i, l := range []series.Label{lbl("cpu.load"), lbl("odd")} {
		s := NewSeries()
		for _, p := range pts[l] {
			s.Append(p.ts, p.bits)
		}
		snaps = append(snaps, snapshotOf(l, uint64(10+i), s))
	}
	must(t, d.CommitCheckpoint(m, snaps, nil))
	must(t, d.Close())
	chunkFile, err = os.ReadFile(filepath.Join(dir, chunkDirName, chunkfile.Name(1)))
	must(t, err)
	ckpt, err = os.ReadFile(filepath.Join(dir, checkpointDirName, diskfmt.SeqName(m.Segment)))
	must(t, err)
	return chunkFile, ckpt
}

// TestGoldenChunkFileV2Encode: today's writers produce exactly the pinned bytes. (Today's
// writer no longer writes chunkfile-v1.golden: its decimal chunks need version 2.)
func TestGoldenChunkFileV2Encode(t *testing.T) {
	chunkFile, ckpt := goldenChunkDir(t, t.TempDir())
	checkGolden(t, goldenChunkFileV2Path, chunkFile)
	checkGolden(t, goldenCheckpointV2DecimalPath, ckpt)
}

// TestGoldenChunkFileDecode: each pinned pair, put in a data directory, loads to exactly the
// pinned points, their heads in memory and the rest read from the chunk file.
func TestGoldenChunkFileDecode(t *testing.T) {
	for _, g := range []struct{ chunkFile, ckpt, magic string }{
		{goldenChunkFilePath, goldenCheckpointV2Path, "TAUCHNK1"},
		{goldenChunkFileV2Path, goldenCheckpointV2DecimalPath, "TAUCHNK2"},
	} {
		t.Run(g.magic, func(t *testing.T) { checkGoldenChunkFile(t, g.chunkFile, g.ckpt, g.magic) })
	}
}

func checkGoldenChunkFile(t *testing.T, chunkFilePath, ckptPath, magic string) {
	dir := t.TempDir()
	for _, sub := range []string{chunkDirName, checkpointDirName} {
		must(t, os.MkdirAll(filepath.Join(dir, sub), 0o755))
	}
	cf, err := os.ReadFile(chunkFilePath)
	must(t, err)
	ck, err := os.ReadFile(ckptPath)
	must(t, err)
	if !bytes.HasPrefix(cf, []byte(magic)) || !bytes.HasPrefix(ck, []byte("TAUCKPT2")) {
		t.Fatalf("golden files start %q and %q", cf[:8], ck[:8])
	}
	must(t, os.WriteFile(filepath.Join(dir, chunkDirName, chunkfile.Name(1)), cf, 0o644))
	seg := readCheckpointSegment(t, ck)
	must(t, os.WriteFile(filepath.Join(dir, checkpointDirName, diskfmt.SeqName(seg)), ck, 0o644))
	must(t, os.MkdirAll(filepath.Join(dir, walDirName), 0o755))
	d, states := openRecovered(t, dir, DiskOptions{})
	defer func() { _ = d.Close() }()
	want := model(goldenChunkSeries())
	checkStates(t, states, want)
	for _, st := range states {
		if len(st.Series.spans) != 1 || st.Series.mem.Sealed() != 0 {
			t.Fatalf("%v: %d spans, %d full chunks in memory; want all full chunks in the file", st.Label, len(st.Series.spans), st.Series.mem.Sealed())
		}
	}
}

func readCheckpointSegment(t *testing.T, b []byte) uint64 {
	ck, err := readCheckpoint(bytes.NewReader(b), int64(len(b)))
	must(t, err)
	return ck.segment
}
