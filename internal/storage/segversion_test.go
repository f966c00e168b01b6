package storage

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// TestUnknownSegmentVersionRefused: a segment written in a newer format version stops
// recovery with an error naming the file and the version, last segment or not, never read as
// anything else and never cut as a torn tail.
func TestUnknownSegmentVersionRefused(t *testing.T) {
	for _, victim := range []uint64{1, 2} { // 2 is the last segment
		dir := t.TempDir()
		d, _ := openRecovered(t, dir, DiskOptions{})
		mustAppend(t, d, nil, create(lbl("a")))
		_ = d.Close()
		d, _ = openRecovered(t, dir, DiskOptions{}) // segment 2: its header only
		_ = d.Close()
		path := segmentPath(dir, victim)
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.WriteAt([]byte{'4'}, 7)
		must(t, err)
		_ = f.Close()
		before := fileSize(t, path)
		d, err = OpenDisk(dir, DiskOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = d.Recover()
		_ = d.Close()
		var ve *VersionError
		if !errors.As(err, &ve) || ve.Path != path || ve.Version != 4 {
			t.Fatalf("segment %d: %v, want a VersionError for version 4", victim, err)
		}
		if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "format version 4") {
			t.Fatalf("error %q does not name the file and the version", msg)
		}
		if fileSize(t, path) != before {
			t.Fatalf("segment %d was changed", victim)
		}
	}
}
