package wal

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"testing"

	"github.com/taudb/tau/internal/storage/diskfmt"
)

func crcOf(b []byte) uint32 { return crc32.Checksum(b, diskfmt.Castagnoli) }

func TestBatchFrameRoundTrip(t *testing.T) {
	for _, n := range []int{1, 2, 1000} {
		want := batchOf("b", math.MinInt64, n)
		want.LSN = 42
		b := appendFrame(nil, &want)
		if len(b) != frameHeaderSize+batchHeaderSize+16*n {
			t.Fatalf("frame of %d points is %d bytes", n, len(b))
		}
		var got Record
		if k, err := decodeFrame(b, &got); err != nil || k != len(b) || !sameRecord(got, want) {
			t.Fatalf("decode = %d, %v", k, err)
		}
	}
	// Points out of range are refused before they reach the disk.
	for _, n := range []int{0, MaxBatchPoints + 1} {
		r := Record{Type: RecordBatch, Points: make([]Point, n)}
		if payloadSize(&r) != 0 {
			t.Fatalf("a batch of %d points has a payload size", n)
		}
	}
}

// TestBatchFrameDamageDetected: every cut and every single-bit flip of a batch frame is
// caught, as for the fixed-size records, and an n that disagrees with the length is damage
// even under a right checksum.
func TestBatchFrameDamageDetected(t *testing.T) {
	r := batchOf("a", 5, 3)
	frame := appendFrame(nil, &r)
	var got Record
	for cut := 0; cut < len(frame); cut++ {
		if _, err := decodeFrame(frame[:cut], &got); !errors.Is(err, errBadRecord) {
			t.Fatalf("cut at %d: err %v", cut, err)
		}
	}
	for bit := 0; bit < 8*len(frame); bit++ {
		b := append([]byte{}, frame...)
		b[bit/8] ^= 1 << (bit % 8)
		if _, err := decodeFrame(b, &got); !errors.Is(err, errBadRecord) {
			t.Fatalf("bit %d flipped: err %v", bit, err)
		}
	}
	for _, n := range []uint32{0, 2, 4, MaxBatchPoints + 1} {
		b := append([]byte{}, frame...)
		binary.LittleEndian.PutUint32(b[frameHeaderSize+seriesPayloadSize:], n)
		binary.LittleEndian.PutUint32(b[4:], crcOf(b[frameHeaderSize:]))
		if _, err := decodeFrame(b, &got); !errors.Is(err, errBadRecord) {
			t.Fatalf("n = %d in a 3-point frame: err %v", n, err)
		}
	}
}

// TestBatchDamagedLengthBounded: a damaged length field that reads as a batch reaching past the
// end of the last segment is a torn tail, so at most one largest record is cut; one whose
// frame ends inside the file, or in an earlier segment, is corruption, never skipped over.
func TestBatchDamagedLengthBounded(t *testing.T) {
	seg := appendSegmentHeader(nil, 1, segmentVersion)
	c := create(lbl("a"))
	seg = appendFrame(seg, &c)
	at := len(seg)
	b := batchOf("a", 0, 4)
	seg = appendFrame(seg, &b)
	for i := 0; i < 3; i++ {
		r := app(lbl("a"), int64(100+i), 1)
		seg = appendFrame(seg, &r)
	}
	rest := len(seg) - at
	reach := batchHeaderSize + 16*((rest-frameHeaderSize-batchHeaderSize+15)/16) // a batch length reaching the end
	for _, tc := range []struct {
		name string
		n    int // the damaged length
		last bool
		torn bool
	}{
		{"reaches the end, last segment", reach, true, true},
		{"reaches past the end, last segment", batchHeaderSize + 16*MaxBatchPoints, true, true},
		{"ends inside the file", batchHeaderSize + 16*5, true, false},
		{"reaches the end, earlier segment", reach, false, false},
		{"no batch length", rest - frameHeaderSize + 1, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := append([]byte{}, seg...)
			binary.LittleEndian.PutUint32(data[at:], uint32(tc.n))
			scan, err := scanSegment("x", 1, data, tc.last, false, func(*Record) {})
			if tc.torn {
				if err != nil || scan.valid != at || scan.tail != rest || scan.tail > maxFrameSize {
					t.Fatalf("scan %+v, %v; want a torn tail of %d bytes at %d", scan, err, rest, at)
				}
				return
			}
			var ce *diskfmt.CorruptionError
			if !errors.As(err, &ce) || ce.Offset != int64(at) {
				t.Fatalf("scan %+v, %v; want corruption at %d", scan, err, at)
			}
		})
	}
}

// TestBatchInOldSegmentIsCorruption: only version 2 segments hold batches; a batch record in
// a version-1 or headerless segment is damage, even with a right checksum.
func TestBatchInOldSegmentIsCorruption(t *testing.T) {
	b := batchOf("a", 0, 2)
	frame := appendFrame(nil, &b)
	c := create(lbl("a"))
	pad := appendFrame(nil, &c)
	for _, v := range []int{0, 1} {
		var data []byte
		if v == 1 {
			data = segmentHeaderV(1, 1)
		}
		data = append(append(data, frame...), make([]byte, 0)...)
		for i := 0; i < 3; i++ {
			data = append(data, pad...)
		}
		_, err := scanSegment("x", 1, data, false, false, func(*Record) {})
		var ce *diskfmt.CorruptionError
		if !errors.As(err, &ce) {
			t.Fatalf("version %d: %v, want corruption", v, err)
		}
	}
}
