package storage

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/taudb/tau/internal/series"
	"github.com/taudb/tau/internal/storage/diskfmt"
)

// TestR11_RoundTrip: every acknowledged create, append and drop comes back after Close and
// reopen, under both policies and across segment rotations.
func TestR11_RoundTrip(t *testing.T) {
	a, b, c := lbl("a/../../etc/passwd"), lbl("\x00\x00zero"), lbl("..")
	tests := []struct {
		name string
		opts DiskOptions
		ops  []Record
	}{
		{"empty", DiskOptions{}, nil},
		{"create only", DiskOptions{}, []Record{create(a)}},
		{"appends", DiskOptions{}, []Record{create(a), app(a, 1, 10), app(a, 2, 20), create(b), app(b, -5, math.Float64bits(math.NaN()))}},
		{"drop", DiskOptions{}, []Record{create(a), app(a, 1, 1), create(b), drop(a)}},
		{"drop and recreate", DiskOptions{}, []Record{create(a), app(a, 1, 1), app(a, 2, 2), drop(a), create(a), app(a, 1, 7)}},
		{"interval", DiskOptions{Fsync: FsyncInterval}, []Record{create(c), app(c, math.MinInt64, 0), app(c, math.MaxInt64, 1), drop(c), create(c)}},
		{"tiny segments", DiskOptions{SegmentSize: 100}, []Record{create(a), app(a, 1, 1), app(a, 2, 2), create(b), app(b, 3, 3), drop(a), app(b, 4, 4), create(a)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data") // created by OpenDisk
			d, states := openRecovered(t, dir, tc.opts)
			checkStates(t, states, model{})
			m := model{}
			var lastLSN uint64
			for _, r := range tc.ops {
				r = mustAppend(t, d, m, r)
				if r.LSN <= lastLSN {
					t.Fatalf("LSN %d not after %d", r.LSN, lastLSN)
				}
				lastLSN = r.LSN
			}
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := d.Append(&Record{Type: RecordCreate}); !errors.Is(err, ErrClosed) {
				t.Fatalf("append after close: %v, want ErrClosed", err)
			}
			for round := 0; round < 2; round++ { // twice: recovery must also survive itself
				d, states = openRecovered(t, dir, tc.opts)
				checkStates(t, states, m)
				r := mustAppend(t, d, nil, create(lbl("new")))
				if r.LSN <= lastLSN {
					t.Fatalf("LSN after reopen %d, want > %d", r.LSN, lastLSN)
				}
				lastLSN = r.LSN
				mustAppend(t, d, nil, drop(lbl("new")))
				if err := d.Close(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestLabelsNeverBecomePaths: whatever the labels, the data directory holds only the store's
// own names.
func TestLabelsNeverBecomePaths(t *testing.T) {
	dir := t.TempDir()
	d, _ := openRecovered(t, dir, DiskOptions{})
	for _, s := range []string{"../../x", "/", "a/b", "\x00", ".."} {
		mustAppend(t, d, nil, create(lbl(s)))
	}
	_ = d.Close()
	err := filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		rel, _ := filepath.Rel(dir, path)
		switch filepath.Dir(rel) {
		case ".":
			if rel != "." && rel != walDirName && rel != checkpointDirName && rel != chunkDirName {
				t.Errorf("unexpected entry %q", rel)
			}
		case walDirName, checkpointDirName, chunkDirName:
			if _, ok := diskfmt.ParseSeq(fi.Name()); !ok {
				t.Errorf("unexpected file %q", rel)
			}
		default:
			t.Errorf("unexpected entry %q", rel)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAppendBeforeRecoverFails(t *testing.T) {
	d, err := OpenDisk(t.TempDir(), DiskOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Append(&Record{Type: RecordCreate, Label: series.Label{}}); err == nil {
		t.Fatal("append before Recover succeeded")
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestParseFsyncPolicy(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want FsyncPolicy
		ok   bool
	}{{"always", FsyncAlways, true}, {"interval", FsyncInterval, true}, {"never", 0, false}, {"", 0, false}} {
		got, err := ParseFsyncPolicy(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseFsyncPolicy(%q) = %v, %v", tc.in, got, err)
		}
		if tc.ok && got.String() != tc.in {
			t.Errorf("String() = %q, want %q", got.String(), tc.in)
		}
	}
}
