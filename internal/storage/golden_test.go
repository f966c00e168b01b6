package storage

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/taudb/tau/internal/testenv/golden"

	"github.com/taudb/tau/internal/series"
	"github.com/taudb/tau/internal/storage/chunkenc"
	"github.com/taudb/tau/internal/storage/diskfmt"
	"github.com/taudb/tau/internal/storage/vfs"
	"github.com/taudb/tau/internal/storage/wal"
)

// update rewrites the golden files from today's encoders instead of checking them:
//
//	go test ./internal/storage -run Golden -update
//
// (./internal/storage/chunkenc has its own, for the series encoding.) Only do that to add the
// golden file of a new format version. A golden file that fails after a code change means the
// change broke every data directory on disk: fix the code, or add a new version (and keep a
// reader for this one); never regenerate a released version's file to make the test pass.
var update = flag.Bool("update", false, "rewrite testdata/*.golden from today's encoders")

const (
	goldenSegmentPath    = "testdata/segment-v1.golden"
	goldenSegmentV2Path  = "testdata/segment-v2.golden"
	goldenCheckpointPath = "testdata/checkpoint-v1.golden"
)

// checkGolden compares got with the golden file at path, or rewrites the file under -update.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	golden.Check(t, path, got, *update)
}

// goldenLabels: printable, all 32 bytes used with zero, control and high bytes inside, and the
// all-zero label.
func goldenLabels() (cpu, bin, zero series.Label) {
	cpu = series.LabelFromString("cpu.load")
	for i := range bin {
		bin[i] = byte(255 - i*7)
	}
	copy(bin[:], "\x00\x01\x7f\x80\xff\r\n\t/..\\")
	return cpu, bin, zero
}

// goldenRecords is the content of testdata/segment-v1.golden: segment 1 of a fresh data
// directory after these records were logged, LSNs 1 to 14. Never change it.
func goldenRecords() []Record {
	cpu, bin, zero := goldenLabels()
	recs := []Record{
		create(cpu),
		create(bin),
		create(zero),
		app(cpu, math.MinInt64, 0x7ff8deadbeef0001), // NaN with a payload
		app(cpu, -1, 1<<63),                         // -0.0
		app(cpu, 0, 0x7ff0000000000000),             // +Inf
		app(cpu, 1, 0xfff0000000000000),             // -Inf
		app(cpu, 1_700_000_000_000_000_000, math.Float64bits(0.1)),
		app(cpu, math.MaxInt64, 0x7ff0000000000001), // signalling NaN
		app(bin, -1_700_000_000_000_000_000, 0xfff8000000000123),
		app(zero, 0, 0),
		drop(cpu),
		create(cpu),
		drop(bin),
	}
	for i := range recs {
		recs[i].LSN = uint64(i + 1)
	}
	return recs
}

// goldenRecordsV2 is the content of testdata/segment-v2.golden: goldenRecords, then batch
// records (which only version 2 may hold), LSNs 1 to 17. Never change it.
func goldenRecordsV2() []Record {
	cpu, bin, zero := goldenLabels()
	recs := goldenRecords()
	recs = append(recs,
		Record{Type: RecordBatch, Label: cpu, Points: []Point{
			{TS: math.MinInt64, Value: 0x7ff8deadbeef0001}, // NaN with a payload
			{TS: -1, Value: 1 << 63},                       // -0.0
			{TS: 0, Value: 0x7ff0000000000000},             // +Inf
			{TS: 1_700_000_000_000_000_000, Value: math.Float64bits(0.1)},
			{TS: math.MaxInt64, Value: 0x7ff0000000000001}, // signalling NaN
		}},
		Record{Type: RecordBatch, Label: zero, Points: []Point{{TS: 1, Value: 0xfff0000000000000}}},
		create(bin),
	)
	for i := range recs {
		recs[i].LSN = uint64(i + 1)
	}
	return recs
}

// TestGoldenSegmentEncode: today's encoders write the pinned records of each version as
// exactly the pinned bytes (the framing of version 1's records did not change in version 2),
// and today's write path (a fresh Disk, the committer, createSegment) writes the version-2 file.
func TestGoldenSegmentEncode(t *testing.T) {
	v1 := wal.SegmentHeader(1, 1)
	for _, r := range goldenRecords() {
		v1 = wal.AppendFrame(v1, &r)
	}
	if *update {
		t.Logf("not rewriting %s: version 1 is released", goldenSegmentPath)
	} else {
		checkGolden(t, goldenSegmentPath, v1)
	}

	want := wal.SegmentHeader(1, wal.SegmentVersion)
	for _, r := range goldenRecordsV2() {
		want = wal.AppendFrame(want, &r)
	}
	checkGolden(t, goldenSegmentV2Path, want)

	dir := t.TempDir()
	d, _ := openRecovered(t, dir, DiskOptions{})
	for _, r := range goldenRecordsV2() {
		if got := mustAppend(t, d, nil, Record{Type: r.Type, Label: r.Label, TS: r.TS, Value: r.Value, Points: r.Points}); !sameRecord(got, r) {
			t.Fatalf("logged %+v, want %+v", got, r)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(segmentPath(dir, 1))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the Disk wrote a segment of %d bytes that differs from the encoders' %d", len(got), len(want))
	}
}

// TestGoldenSegmentDecode: the pinned bytes of each version decode to exactly the pinned
// records, as a last segment and as an earlier one, and recover as a data directory.
func TestGoldenSegmentDecode(t *testing.T) {
	for _, tc := range []struct {
		path    string
		version int
		recs    []Record
	}{
		{goldenSegmentPath, 1, goldenRecords()},
		{goldenSegmentV2Path, 2, goldenRecordsV2()},
	} {
		t.Run(tc.path, func(t *testing.T) { checkGoldenSegment(t, tc.path, tc.version, tc.recs) })
	}
}

func checkGoldenSegment(t *testing.T, path string, version int, want []Record) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, wal.SegmentHeader(1, version)[:8]) {
		t.Fatalf("golden segment starts %q, want a version-%d header", b[:8], version)
	}
	for _, last := range []bool{false, true} {
		var got []Record
		scan, err := wal.ScanSegment(path, 1, b, last, func(r *Record) {
			c := *r
			c.Points = slices.Clone(r.Points)
			got = append(got, c)
		})
		if err != nil || scan != (wal.Scan{Version: version, Valid: len(b)}) {
			t.Fatalf("scan: %+v, %v", scan, err)
		}
		if len(got) != len(want) {
			t.Fatalf("decoded %d records, want %d", len(got), len(want))
		}
		for i := range want {
			if !sameRecord(got[i], want[i]) {
				t.Fatalf("record %d: got %+v, want %+v", i, got[i], want[i])
			}
		}
	}

	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, walDirName), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(segmentPath(dir, 1), b, 0o644); err != nil {
		t.Fatal(err)
	}
	m := model{}
	for _, r := range want {
		m.apply(r)
	}
	d, states := openRecovered(t, dir, DiskOptions{})
	defer func() { _ = d.Close() }()
	checkStates(t, states, m)
}

// goldenSnapshots is the content of testdata/checkpoint-v1.golden, with its segment and LSN.
// Never change it.
func goldenSnapshots() (seg, lsn uint64, snaps []SeriesSnapshot, points map[series.Label][]point) {
	cpu, bin, zero := goldenLabels()
	points = map[series.Label][]point{
		zero: {},
		bin: {
			{math.MinInt64, 0x7ff8deadbeef0001}, // NaN with a payload
			{-1, 1 << 63},                       // -0.0
			{0, 0x7ff0000000000000},             // +Inf
			{1, 0xfff0000000000000},             // -Inf
			{math.MaxInt64, 0x7ff0000000000001}, // signalling NaN
		},
	}
	for i := 0; i < 130; i++ { // two chunks
		points[cpu] = append(points[cpu], point{1_700_000_000_000_000_000 + int64(i)*15_000_000_000, math.Float64bits(float64(i%7) * 0.5)})
	}
	lastLSN := map[series.Label]uint64{zero: 3, bin: 0x0102030405060708, cpu: 0x0102030405060709}
	for _, l := range []series.Label{zero, bin, cpu} { // the order they are written in
		s := chunkenc.NewGorillaSeries() // version 1 held Gorilla chunks only
		for _, p := range points[l] {
			s.Append(p.ts, p.bits)
		}
		snaps = append(snaps, SeriesSnapshot{Label: l, LastLSN: lastLSN[l], Data: s.AppendBinary(nil)})
	}
	return 0x0000000000000203, 0x010203040506070a, snaps, points
}

// TestGoldenCheckpointEncode: today's encoder writes the pinned snapshots as exactly the pinned
// bytes.
func TestGoldenCheckpointEncode(t *testing.T) {
	seg, lsn, snaps, _ := goldenSnapshots()
	var buf bytes.Buffer
	if err := encodeCheckpoint(&buf, 1, seg, lsn, snaps); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, goldenCheckpointPath, buf.Bytes())
}

// TestGoldenCheckpointDecode: the pinned bytes decode to exactly the pinned series, points,
// LastLSNs, segment and LSN.
func TestGoldenCheckpointDecode(t *testing.T) {
	b, err := os.ReadFile(goldenCheckpointPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("TAUCKPT1")) {
		t.Fatalf("golden checkpoint starts %q, want version 1", b[:8])
	}
	ck, err := readCheckpoint(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	seg, lsn, snaps, points := goldenSnapshots()
	if ck.segment != seg || ck.lsn != lsn || len(ck.series) != len(snaps) {
		t.Fatalf("segment %#x, LSN %#x, %d series; want %#x, %#x, %d", ck.segment, ck.lsn, len(ck.series), seg, lsn, len(snaps))
	}
	for _, want := range snaps {
		got := ck.series[want.Label]
		if got == nil || got.Label != want.Label || got.LastLSN != want.LastLSN {
			t.Fatalf("series %v: got %+v, want LastLSN %#x", want.Label, got, want.LastLSN)
		}
		var pts []point
		got.Series.Iterate(func(ts int64, bits uint64) bool {
			pts = append(pts, point{ts, bits})
			return true
		})
		wp := points[want.Label]
		if len(pts) != len(wp) {
			t.Fatalf("series %v: %d points, want %d", want.Label, len(pts), len(wp))
		}
		for i := range wp {
			if pts[i] != wp[i] {
				t.Fatalf("series %v point %d: got (%d, %#016x), want (%d, %#016x)", want.Label, i, pts[i].ts, pts[i].bits, wp[i].ts, wp[i].bits)
			}
		}
	}
}

// TestUnknownCheckpointVersionRefused: a checkpoint, or a series inside one, in a format version
// this release does not read stops recovery with an error naming the file and the version. It
// is not skipped for an older checkpoint, as damage is: that one may lack what the newer
// release logged since.
func TestUnknownCheckpointVersionRefused(t *testing.T) {
	tests := []struct {
		name    string
		format  string
		version int
		patch   func(t *testing.T, path string)
	}{
		{"checkpoint version 3", "checkpoint", 3, func(t *testing.T, path string) {
			b, _ := os.ReadFile(path)
			b[7] = '3'
			must(t, os.WriteFile(path, b, 0o644))
		}},
		{"series encoding version 3", "series encoding in checkpoint", 3, func(t *testing.T, path string) {
			seg, lsn, snaps, _ := goldenSnapshots()
			snaps[1].Data[0] = 3 // the checksum is right: this is no damage
			var buf bytes.Buffer
			if err := encodeCheckpoint(&buf, 1, seg, lsn, snaps); err != nil {
				t.Fatal(err)
			}
			must(t, os.WriteFile(path, buf.Bytes(), 0o644))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, before := t.TempDir(), t.TempDir()
			actors := []*actor{{label: lbl("x")}}
			rng := rand.New(rand.NewSource(1))
			d, _ := openRecovered(t, dir, DiskOptions{})
			must(t, actors[0].step(t, d, rng).Wait())
			checkpointNow(t, d, actors)
			must(t, actors[0].step(t, d, rng).Wait())
			copyDir(t, dir, before)
			checkpointNow(t, d, actors)
			_ = d.Close()
			// Put the older checkpoint and its segments back (a crash before they were
			// deleted): falling back to it would be possible, and wrong.
			copyDir(t, before, dir)
			ckpts, _ := diskfmt.ListSeqs(vfs.OS, filepath.Join(dir, checkpointDirName))
			if len(ckpts) != 2 {
				t.Fatalf("checkpoints %v, want 2", ckpts)
			}
			path := filepath.Join(dir, checkpointDirName, diskfmt.SeqName(ckpts[1]))
			tc.patch(t, path)
			d, err := OpenDisk(dir, DiskOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = d.Close() }()
			_, err = d.Recover()
			var ve *VersionError
			if !errors.As(err, &ve) || ve.Path != path || ve.Version != tc.version || ve.Format != tc.format {
				t.Fatalf("recover: %v, want a VersionError of %s version %d for %s", err, tc.format, tc.version, path)
			}
			if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, fmt.Sprintf("format version %d", tc.version)) {
				t.Fatalf("error %q does not name the file and the version", msg)
			}
		})
	}
}
