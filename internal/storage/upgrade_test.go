package storage

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/taudb/tau/internal/series"
	"github.com/taudb/tau/internal/storage/diskfmt"
	"github.com/taudb/tau/internal/storage/vfs"
	"github.com/taudb/tau/internal/storage/wal"
)

// fixtureDir is a data directory written by the release on main at commit cc5f6c9, whose log
// segments have no header (format version 0). See testdata/README.md for how it was made.
const fixtureDir = "testdata/release-cc5f6c9"

// fixtureStep is one step of the script that made testdata/release-cc5f6c9: a logged mutation,
// or a store operation (cut: BeginCheckpoint; commit: snapshot every live series and
// CommitCheckpoint; restart: Close, then OpenDisk and Recover).
type fixtureStep struct {
	op    string // create, drop, append, cut, commit, restart
	label [32]byte
	ts    int64
	bits  uint64
}

// fixtureLabels are the series of the fixture: printable, path-like, with zero and control
// bytes inside, with no zero padding at all, and the all-zero label.
func fixtureLabels() (cpu, bin, path, gone, lateDrop, redo, zero [32]byte) {
	copy(cpu[:], "cpu.load")
	for i := range bin {
		bin[i] = byte(i*37 + 5)
	}
	copy(bin[:], "\x00\x01\x7f\x80\xff\n/..\x1b")
	copy(path[:], "../../etc/passwd")
	copy(gone[:], "gone")
	copy(lateDrop[:], "late\x00drop")
	copy(redo[:], "redo")
	return
}

// fixtureScript is everything the fixture's data directory went through, in order.
func fixtureScript() []fixtureStep {
	cpu, bin, path, gone, lateDrop, redo, zero := fixtureLabels()
	var s []fixtureStep
	op := func(op string, l [32]byte) { s = append(s, fixtureStep{op: op, label: l}) }
	app := func(l [32]byte, ts int64, bits uint64) {
		s = append(s, fixtureStep{op: "append", label: l, ts: ts, bits: bits})
	}
	cpuPoint := func(i int) {
		jitter := int64(i*7919%2001-1000) * 1000
		app(cpu, 1_700_000_000_000_000_000+int64(i)*15_000_000_000+jitter, math.Float64bits(0.25*float64(i%9)-1))
	}
	// Session 1: segments 1 and 2 (rotation at 4 KiB), then a checkpoint at the cut.
	op("create", cpu)
	for i := 0; i < 150; i++ {
		cpuPoint(i)
	}
	op("create", bin)
	app(bin, math.MinInt64, 0x7ff8deadbeef0001) // NaN with a payload
	app(bin, -1, 1<<63)                         // -0.0
	app(bin, 0, 0x7ff0000000000000)             // +Inf
	app(bin, 1, 0xfff0000000000000)             // -Inf
	app(bin, 2, 0x7ff0000000000001)             // signalling NaN
	app(bin, 1<<40, 1)                          // smallest denormal
	app(bin, 1<<62, 0x7fefffffffffffff)         // MaxFloat64
	op("create", path)
	app(path, 1, math.Float64bits(1))
	op("create", gone)
	app(gone, 5, math.Float64bits(5))
	op("drop", gone) // dropped before the checkpoint: in neither
	op("create", lateDrop)
	app(lateDrop, 10, math.Float64bits(10))
	app(lateDrop, 11, math.Float64bits(11))
	op("create", redo)
	app(redo, 1, math.Float64bits(1))
	app(redo, 2, math.Float64bits(2))
	app(redo, 3, math.Float64bits(3))
	op("create", zero) // a series with no points
	op("cut", [32]byte{})
	cpuPoint(150) // after the cut, before the snapshot: in the checkpoint and in the log
	cpuPoint(151)
	op("commit", [32]byte{})
	app(bin, math.MaxInt64, 0xfff8000000000123) // after the checkpoint: only in the log
	op("drop", lateDrop)
	op("drop", redo)
	op("create", redo)
	app(redo, -100, math.Float64bits(42))
	// Session 2: more segments, headerless, after the checkpoint.
	op("restart", [32]byte{})
	for i := 152; i < 252; i++ {
		cpuPoint(i)
	}
	app(path, 2, math.Float64bits(2))
	app(path, 3, math.Float64bits(-273.15))
	// Session 3: opened and closed without a write, which leaves an empty last segment.
	op("restart", [32]byte{})
	return s
}

// fixtureModel applies fixtureScript to a model: the series and points the fixture must load
// as, the LastLSN of each, and the last LSN the script logged.
func fixtureModel() (m model, lastLSN map[series.Label]uint64, maxLSN uint64) {
	m, lastLSN = model{}, map[series.Label]uint64{}
	for _, s := range fixtureScript() {
		r := Record{Label: series.Label(s.label), TS: s.ts, Value: s.bits}
		switch s.op {
		case "create":
			r.Type = RecordCreate
		case "drop":
			r.Type = RecordDrop
		case "append":
			r.Type = RecordAppend
		default:
			continue
		}
		maxLSN++
		r.LSN = maxLSN
		m.apply(r)
		if r.Type == RecordDrop {
			delete(lastLSN, r.Label)
		} else {
			lastLSN[r.Label] = r.LSN
		}
	}
	return m, lastLSN, maxLSN
}

// checkExact is checkStates plus the order of every point (Iterate) and each LastLSN.
func checkExact(t *testing.T, got []SeriesState, want model, lastLSN map[series.Label]uint64) {
	t.Helper()
	checkStates(t, got, want)
	for _, s := range got {
		var pts []point
		s.Series.Iterate(func(ts int64, bits uint64) bool {
			pts = append(pts, point{ts, bits})
			return true
		})
		w := want[s.Label]
		for i := range w {
			if pts[i] != w[i] {
				t.Fatalf("series %v point %d: got (%d, %#016x), want (%d, %#016x)", s.Label, i, pts[i].ts, pts[i].bits, w[i].ts, w[i].bits)
			}
		}
		if s.LastLSN != lastLSN[s.Label] {
			t.Fatalf("series %v: LastLSN %d, want %d", s.Label, s.LastLSN, lastLSN[s.Label])
		}
	}
}

// readTree returns every file under dir by its path relative to dir.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		files[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestUpgrade_ReleaseCC5F6C9: a data directory written by the release on main before segment
// headers (cc5f6c9: a checkpoint, headerless segments after it, an empty last segment) loads
// unchanged: every series and point exactly, no file of it rewritten. It then takes writes,
// restarts, checkpoints and restarts again without losing anything.
func TestUpgrade_ReleaseCC5F6C9(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, fixtureDir, dir)
	old := readTree(t, dir)
	want, lastLSN, maxLSN := fixtureModel()
	if len(want) != 5 {
		t.Fatalf("fixture model has %d series, want 5", len(want))
	}

	log, logs := observed()
	d, states := openRecovered(t, dir, DiskOptions{Logger: log})
	checkExact(t, states, want, lastLSN)
	if logs.Len() != 0 {
		t.Fatalf("warnings loading the fixture: %v", logs.All())
	}
	for name, b := range old {
		if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || !bytes.Equal(got, b) {
			t.Fatalf("loading the old directory changed %s (err %v)", name, err)
		}
	}

	// New writes continue the LSNs and land in a new segment after the old ones.
	cpu, _, path, _, _, redo, zero := fixtureLabels()
	r := mustAppend(t, d, want, app(cpu, math.MaxInt64, math.Float64bits(7)))
	if r.LSN != maxLSN+1 {
		t.Fatalf("first new LSN %d, want %d", r.LSN, maxLSN+1)
	}
	lastLSN[cpu] = r.LSN
	lastLSN[zero] = mustAppend(t, d, want, app(zero, 0, 0)).LSN
	// A batch (segment version 2 on) beside the old segments.
	lastLSN[zero] = mustAppend(t, d, want, Record{Type: RecordBatch, Label: zero,
		Points: []Point{{TS: 1, Value: 2}, {TS: 3, Value: 0x7ff8000000000001}}}).LSN
	mustAppend(t, d, want, drop(path))
	delete(lastLSN, path)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	checkSegmentVersions(t, dir, map[uint64]int{4: 0, 5: 0, 6: 0, 7: 0, 8: wal.SegmentVersion})
	d, states = openRecovered(t, dir, DiskOptions{})
	checkExact(t, states, want, lastLSN)

	// A checkpoint retires the old segments; everything is still there after it.
	lastLSN[redo] = mustAppend(t, d, want, app(redo, 0, 1)).LSN
	mark, err := d.BeginCheckpoint()
	if err != nil {
		t.Fatal(err)
	}
	var snaps []SeriesSnapshot
	for _, s := range states {
		if s.Label == redo {
			s.Series.Append(0, 1)
			s.LastLSN = lastLSN[redo]
		}
		snaps = append(snaps, snapshotOf(s.Label, s.LastLSN, s.Series))
	}
	if err := d.CommitCheckpoint(mark, snaps, nil); err != nil {
		t.Fatal(err)
	}
	lastLSN[redo] = mustAppend(t, d, want, app(redo, 5, 0)).LSN
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	// The old segments are retired; every segment left has a header.
	checkSegmentVersions(t, dir, map[uint64]int{10: wal.SegmentVersion})
	d, states = openRecovered(t, dir, DiskOptions{})
	defer func() { _ = d.Close() }()
	checkExact(t, states, want, lastLSN)
}

// TestUpgrade_ReleaseCC5F6C9TornTail: the old release crashed in the middle of a write: the
// last headerless segment ends in a torn record. It is cut as a torn tail, like any other.
func TestUpgrade_ReleaseCC5F6C9TornTail(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, fixtureDir, dir)
	if err := os.Remove(segmentPath(dir, 7)); err != nil { // the empty last segment
		t.Fatal(err)
	}
	want, lastLSN, _ := fixtureModel()
	good := fileSize(t, segmentPath(dir, 6))
	torn := wal.AppendFrame(nil, &Record{Type: RecordAppend, LSN: 1 << 20, Label: lbl("x"), TS: 1, Value: 2})
	f, err := os.OpenFile(segmentPath(dir, 6), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Write(torn[:len(torn)/2])
	must(t, err)
	_ = f.Close()
	log, logs := observed()
	d, states := openRecovered(t, dir, DiskOptions{Logger: log})
	defer func() { _ = d.Close() }()
	checkExact(t, states, want, lastLSN)
	if w := tornTailWarnings(logs); len(w) != 1 || w[0].ContextMap()["bytes"] != int64(len(torn)/2) {
		t.Fatalf("want one torn-tail warning of %d bytes, got %v", len(torn)/2, logs.All())
	}
	if got := fileSize(t, segmentPath(dir, 6)); got != good {
		t.Fatalf("segment 6 is %d bytes after repair, want %d", got, good)
	}
}

// TestUpgrade_ReleaseCC5F6C9Corrupt: damage inside a headerless segment that is not the last is
// corruption, reported with the file and the offset of the damaged record.
func TestUpgrade_ReleaseCC5F6C9Corrupt(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, fixtureDir, dir)
	flipBit(t, segmentPath(dir, 5), 100)
	d, err := OpenDisk(dir, DiskOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.Close() }()
	_, err = d.Recover()
	var ce *CorruptionError
	if !errors.As(err, &ce) || ce.Path != segmentPath(dir, 5) || ce.Offset != 100/appendFrameSize*appendFrameSize {
		t.Fatalf("recover: %v, want corruption of %s at %d", err, segmentPath(dir, 5), 100/appendFrameSize*appendFrameSize)
	}
}

// checkSegmentVersions checks that the log holds exactly the segments of want, each of the
// format version given (0: no header).
func checkSegmentVersions(t *testing.T, dir string, want map[uint64]int) {
	t.Helper()
	segs, err := diskfmt.ListSeqs(vfs.OS, filepath.Join(dir, walDirName))
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != len(want) {
		t.Fatalf("segments %v, want %v", segs, want)
	}
	for _, n := range segs {
		v, ok := want[n]
		b, err := os.ReadFile(segmentPath(dir, n))
		if !ok || err != nil {
			t.Fatalf("segment %d: unexpected (%v); want %v", n, err, want)
		}
		got, _, err := wal.ReadSegmentHeader("", b, n)
		if err != nil || got != v {
			t.Fatalf("segment %d is version %d (%v), want %d", n, got, err, v)
		}
	}
}
