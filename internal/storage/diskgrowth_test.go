package storage

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func chunkBytes(t *testing.T, dir string) (n int, total int64) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, chunkDirName, "*"))
	for _, f := range files {
		fi, err := os.Stat(f)
		must(t, err)
		total += fi.Size()
	}
	return len(files), total
}

// TestCheckpointsWithoutWritesNeverGrowDisk: many series under retention, progressing
// unevenly, flushed over many checkpoints of uneven size (so merges and rewrites both happen,
// and a rewritten file's higher number puts file numbers out of time order); then, with
// nothing new written, further checkpoints, before and after a restart, never make the chunk
// files larger.
func TestCheckpointsWithoutWritesNeverGrowDisk(t *testing.T) {
	dir := t.TempDir()
	d, _ := openRecovered(t, dir, DiskOptions{})
	const nSeries, keep = 20, 30000e9
	ss := make([]*Series, nSeries)
	for i := range ss {
		ss[i] = NewSeries()
		ss[i].SetRetention(keep)
	}
	checkpoint := func(d *Disk, ss []*Series) {
		m, err := d.BeginCheckpoint()
		must(t, err)
		snaps := make([]SeriesSnapshot, len(ss))
		for i, s := range ss {
			snaps[i] = snapshotOf(lbl(fmt.Sprint(i)), 0, s)
		}
		must(t, d.CommitCheckpoint(m, snaps, func() {
			for i, s := range ss {
				s.Install(&snaps[i])
			}
		}))
	}
	ts := int64(0)
	for round := range 30 {
		n := 100 + (round*37)%400
		for range n {
			ts += 10e9
			for i, s := range ss {
				if (round+i)%4 == 0 && i%2 == 0 {
					continue // series progress unevenly, as under real load: their files differ
				}
				s.Append(ts+int64(i), math.Float64bits(float64((ts/1e9)%13)))
			}
		}
		checkpoint(d, ss)
	}
	files, before := chunkBytes(t, dir)
	t.Logf("%d chunk files, %d bytes, %v compactions", files, before, testutilCompactions(d))
	for range 3 {
		checkpoint(d, ss)
		if _, after := chunkBytes(t, dir); after > before {
			t.Fatalf("a checkpoint with nothing new grew the chunk files from %d to %d bytes", before, after)
		} else {
			before = after
		}
	}
	must(t, d.Close())
	d2, states := openRecovered(t, dir, DiskOptions{})
	defer func() { _ = d2.Close() }()
	rs := make([]*Series, len(states))
	for i := range states {
		rs[i] = states[i].Series
		rs[i].SetRetention(keep)
	}
	for range 3 {
		checkpoint(d2, rs)
		if _, after := chunkBytes(t, dir); after > before {
			t.Fatalf("after a restart, a checkpoint with nothing new grew the chunk files from %d to %d bytes", before, after)
		} else {
			before = after
		}
	}
}
