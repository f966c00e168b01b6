package wal

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"testing"

	"github.com/taudb/tau/internal/storage/diskfmt"
	"github.com/taudb/tau/internal/testenv/golden"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from today's encoders")

// goldenSegmentV3Path pins a version-3 segment: what a cluster's log writes.
const goldenSegmentV3Path = "testdata/segment-v3.golden"

// goldenRaftRecords is the content of testdata/segment-v3.golden: Raft records of two groups
// and every kind byte, empty and binary data, between a series record (a founding node's
// data). Never change it.
func goldenRaftRecords() []Record {
	bin := make([]byte, 300)
	for i := range bin {
		bin[i] = byte(i * 31)
	}
	return []Record{
		{Type: RecordRaft, LSN: 1, Group: 0, Kind: 1, Data: []byte("entry: index 1, term 1")},
		{Type: RecordRaft, LSN: 2, Group: 0, Kind: 2, Data: nil},
		{Type: RecordCreate, LSN: 3, Label: lbl("founded")},
		{Type: RecordRaft, LSN: 4, Group: 7, Kind: 3, Data: bin},
		{Type: RecordRaft, LSN: 5, Group: 1<<64 - 1, Kind: 255, Data: []byte{0}},
	}
}

func TestGoldenSegmentV3(t *testing.T) {
	want := appendSegmentHeader(nil, 1, raftVersion)
	for _, r := range goldenRaftRecords() {
		want = appendFrame(want, &r)
	}
	golden.Check(t, goldenSegmentV3Path, want, *update)

	// Today's write path writes the same bytes.
	dir := t.TempDir()
	l, _ := openLog(t, dir, Options{Raft: true})
	for _, r := range goldenRaftRecords() {
		c := r
		c.LSN = 0
		tk, err := l.Append(&c)
		if err != nil {
			t.Fatal(err)
		}
		if err := tk.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(dir + "/" + diskfmt.SeqName(1))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the log wrote a %d-byte segment that differs from the encoders' %d", len(got), len(want))
	}

	// And the pinned bytes decode to exactly the pinned records, last segment or not.
	b, err := os.ReadFile(goldenSegmentV3Path)
	if err != nil {
		t.Fatal(err)
	}
	for _, last := range []bool{false, true} {
		var recs []Record
		scan, err := scanSegment("x", 1, b, last, false, func(r *Record) { recs = append(recs, clone(r)) })
		if err != nil || scan.version != raftVersion || scan.valid != len(b) {
			t.Fatalf("scan %+v, %v", scan, err)
		}
		wantRecs := goldenRaftRecords()
		if len(recs) != len(wantRecs) {
			t.Fatalf("%d records, want %d", len(recs), len(wantRecs))
		}
		for i := range recs {
			if !sameRaftRecord(recs[i], wantRecs[i]) {
				t.Fatalf("record %d: %+v, want %+v", i, recs[i], wantRecs[i])
			}
		}
	}
}

func sameRaftRecord(a, b Record) bool {
	return sameRecord(a, b) && a.Group == b.Group && a.Kind == b.Kind && bytes.Equal(a.Data, b.Data)
}

// TestRaftRecordOnlyInVersion3: a Raft record, even with a right checksum, is damage in a
// segment of version 0 to 2, which no release writes it into; a single node's log keeps
// writing version 2.
func TestRaftRecordOnlyInVersion3(t *testing.T) {
	r := Record{Type: RecordRaft, LSN: 1, Kind: 1, Data: []byte("x")}
	pad := Record{Type: RecordCreate, LSN: 2, Label: lbl("a")}
	for _, v := range []int{0, 1, 2} {
		var data []byte
		if v > 0 {
			data = appendSegmentHeader(nil, 1, v)
		}
		data = appendFrame(data, &r)
		data = appendFrame(data, &pad)
		_, err := scanSegment("x", 1, data, false, false, func(*Record) {})
		var ce *diskfmt.CorruptionError
		if !errors.As(err, &ce) {
			t.Fatalf("version %d: %v, want corruption", v, err)
		}
	}
	dir := t.TempDir()
	l, _ := openLog(t, dir, Options{})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(dir + "/" + diskfmt.SeqName(1))
	if err != nil || len(b) < segmentHeaderSize || b[7] != '2' {
		t.Fatalf("a single node's log wrote %q, %v; want a version-2 header", b, err)
	}
}

// TestRaftRecordTornEveryOffset: a crash at any byte of a Raft record's write, with zeros after
// the cut or not, recovers every record before it and nothing of it.
func TestRaftRecordTornEveryOffset(t *testing.T) {
	big := Record{Type: RecordRaft, Kind: 1, Data: bytes.Repeat([]byte("raft"), 100)}
	head := appendSegmentHeader(nil, 1, raftVersion)
	first := Record{Type: RecordRaft, LSN: 1, Kind: 2, Data: []byte("hs")}
	head = appendFrame(head, &first)
	big.LSN = 2
	whole := appendFrame(append([]byte(nil), head...), &big)
	for cut := len(head); cut < len(whole); cut++ {
		for _, zeros := range []int{0, 100} {
			data := append(append([]byte(nil), whole[:cut]...), make([]byte, zeros)...)
			var n int
			scan, err := scanSegment("x", 1, data, true, false, func(*Record) { n++ })
			if err != nil || scan.valid != len(head) || n != 1 {
				t.Fatalf("cut at %d (+%d zeros): scan %+v, %d records, %v", cut, zeros, scan, n, err)
			}
		}
	}
	if _, err := scanSegment("x", 1, whole, true, false, func(*Record) {}); err != nil {
		t.Fatal(err)
	}
}

func TestRaftRecordFrame(t *testing.T) {
	for _, data := range [][]byte{nil, {}, []byte("abc"), make([]byte, MaxRaftData)} {
		want := Record{Type: RecordRaft, LSN: 9, Group: 3, Kind: 4, Data: data}
		b := appendFrame(nil, &want)
		if len(b) != FrameSize(&want) {
			t.Fatalf("frame %d bytes, FrameSize says %d", len(b), FrameSize(&want))
		}
		var got Record
		if n, err := decodeFrame(b, &got); err != nil || n != len(b) || !sameRaftRecord(got, want) {
			t.Fatalf("%d bytes of data: decode %d, %v", len(data), n, err)
		}
	}
	if FrameSize(&Record{Type: RecordRaft, Data: make([]byte, MaxRaftData+1)}) != 0 {
		t.Fatal("a Raft record over MaxRaftData has a size")
	}
}
