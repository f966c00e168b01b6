package storage

import (
	"os"
	"path/filepath"
	"testing"
)

// batchOf is a batch record of n points on l, timestamps from ts0 on, with NaN payloads.
func batchOf(l string, ts0 int64, n int) Record {
	r := Record{Type: RecordBatch, Label: lbl(l)}
	for i := 0; i < n; i++ {
		r.Points = append(r.Points, Point{TS: ts0 + int64(i), Value: 0x7ff8000000000000 | uint64(i+1)})
	}
	return r
}

// TestE3_BatchTornEveryOffset: a crash at any byte of a batch record's write leaves the batch
// whole or not at all after recovery, never a part of it; with zeros after the cut (a file
// extended before its data landed) too.
func TestE3_BatchTornEveryOffset(t *testing.T) {
	src := t.TempDir()
	d, _ := openRecovered(t, src, DiskOptions{})
	before := model{}
	mustAppend(t, d, before, create(lbl("a")))
	mustAppend(t, d, before, app(lbl("a"), -10, 1))
	start := fileSize(t, segmentPath(src, 1))
	after := model{lbl("a"): append([]point{}, before[lbl("a")]...)}
	mustAppend(t, d, after, batchOf("a", 0, 20))
	must(t, d.Close())
	whole, err := os.ReadFile(segmentPath(src, 1))
	must(t, err)
	for cut := start; cut <= int64(len(whole)); cut++ {
		for _, zeros := range []int{0, 100} {
			dir := t.TempDir()
			must(t, os.MkdirAll(filepath.Join(dir, walDirName), 0o755))
			data := append(append([]byte{}, whole[:cut]...), make([]byte, zeros)...)
			must(t, os.WriteFile(segmentPath(dir, 1), data, 0o644))
			d, states := openRecovered(t, dir, DiskOptions{})
			want := before
			if cut == int64(len(whole)) {
				want = after
			}
			checkStates(t, states, want)
			must(t, d.Close())
		}
	}
}
