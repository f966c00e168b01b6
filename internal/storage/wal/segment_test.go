package wal

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/taudb/tau/internal/storage/diskfmt"
)

// TestSegmentHeaderLayout: the version-2 header this release writes, byte for byte.
func TestSegmentHeaderLayout(t *testing.T) {
	got := appendSegmentHeader(nil, 0x0102030405060708, segmentVersion)
	want := "TAUWSEG2\x08\x07\x06\x05\x04\x03\x02\x01"
	if string(got) != want || len(got) != segmentHeaderSize {
		t.Fatalf("header %q, want %q", got, want)
	}
	v, n, err := readSegmentHeader("x", got, 0x0102030405060708)
	if v != 2 || n != segmentHeaderSize || err != nil {
		t.Fatalf("readSegmentHeader = %d, %d, %v", v, n, err)
	}
}

// TestSegmentHeaderIsNoRecord: what makes a headered segment tell itself apart from a
// headerless one. The header read as a record frame is no record (its length field is far out
// of range), and every record frame, whatever its content, reads as a headerless start.
func TestSegmentHeaderIsNoRecord(t *testing.T) {
	hdr := appendSegmentHeader(nil, 1, segmentVersion)
	if n := int(binary.LittleEndian.Uint32(hdr)); validLength(n) || n <= maxFrameSize {
		t.Fatalf("the header's first four bytes read as length %d, a valid one", n)
	}
	var r Record
	if _, err := decodeFrame(append(hdr, make([]byte, maxFrameSize)...), &r); !errors.Is(err, errBadRecord) {
		t.Fatalf("the header decodes as a record: %v", err)
	}
	for _, rec := range []Record{
		{Type: RecordCreate, LSN: 1, Label: lbl("TAUWSEG1")},
		{Type: RecordDrop, LSN: math.MaxUint64, Label: lbl("\xff")},
		{Type: RecordAppend, LSN: 0x5441555753454731, Label: lbl("T"), TS: -1, Value: math.MaxUint64},
	} {
		frame := appendFrame(nil, &rec)
		for cut := 0; cut <= len(frame); cut++ {
			if v, n, err := readSegmentHeader("x", frame[:cut], 1); v != 0 || n != 0 || err != nil {
				t.Fatalf("%v cut at %d: read as version %d (%d-byte header, %v)", rec, cut, v, n, err)
			}
		}
	}
}

// TestReadSegmentHeader: every way a header can be cut short or damaged, and the versions.
func TestReadSegmentHeader(t *testing.T) {
	good := appendSegmentHeader(nil, 7, segmentVersion)
	with := func(i int, b byte) []byte { h := append([]byte{}, good...); h[i] = b; return h }
	tests := []struct {
		name    string
		data    []byte
		version int
		err     error
	}{
		{"empty", nil, 0, nil},
		{"headerless record", appendFrame(nil, &Record{Type: RecordCreate}), 0, nil},
		{"zeros", make([]byte, 100), 0, nil},
		{"good", good, 2, nil},
		{"good, records after", append(good, appendFrame(nil, &Record{Type: RecordCreate})...), 2, nil},
		{"version 1", with(7, '1'), 1, nil},
		{"version 3", with(7, '3'), 3, nil},
		{"first byte", good[:1], 0, errShortHeader},
		{"whole tag", good[:7], 0, errShortHeader},
		{"tag and version", good[:8], 0, errShortHeader},
		{"one byte short", good[:15], 0, errShortHeader},
		{"version byte zero", with(7, 0), 0, errBadHeader},
		{"version digit 0", with(7, '0'), 0, errBadHeader},
		{"version byte not a digit", with(7, 'x'), 0, errBadHeader},
		{"other segment's number", with(8, 8), 0, errBadHeader},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, n, err := readSegmentHeader("x", tc.data, 7)
			if v != tc.version || !errors.Is(err, tc.err) || (err == nil && (n == segmentHeaderSize) != (tc.version > 0)) {
				t.Fatalf("got version %d, header %d, err %v; want version %d, err %v", v, n, err, tc.version, tc.err)
			}
		})
	}
	for _, v := range []byte{'4', '9'} {
		_, _, err := readSegmentHeader("wal/x", with(7, v), 7)
		var ve *diskfmt.VersionError
		if !errors.As(err, &ve) || ve.Version != int(v-'0') || ve.Path != "wal/x" {
			t.Fatalf("version %c: %v, want a VersionError", v, err)
		}
	}
}
