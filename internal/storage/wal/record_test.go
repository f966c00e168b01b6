package wal

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	tests := []Record{
		{Type: RecordCreate, LSN: 1, Label: lbl("a")},
		{Type: RecordDrop, LSN: math.MaxUint64, Label: lbl("../\x00")},
		{Type: RecordAppend, LSN: 7, Label: lbl("x"), TS: math.MinInt64, Value: math.Float64bits(math.Inf(-1))},
		{Type: RecordAppend, LSN: 8, Label: lbl("x"), TS: -1, Value: 0x7ff8000000000001}, // NaN payload kept
	}
	for _, want := range tests {
		t.Run(want.String(), func(t *testing.T) {
			b := appendFrame(nil, &want)
			if len(b) != frameHeaderSize+payloadSize(&want) {
				t.Fatalf("frame is %d bytes", len(b))
			}
			var got Record
			n, err := decodeFrame(b, &got)
			if err != nil || n != len(b) || !sameRecord(got, want) {
				t.Fatalf("decode = %+v, %d, %v; want %+v", got, n, err, want)
			}
		})
	}
}

// TestFrameDamageDetected: every truncation and every single-bit flip of a frame is caught,
// which is what lets recovery tell a torn tail from good data.
func TestFrameDamageDetected(t *testing.T) {
	for _, r := range []Record{{Type: RecordCreate, LSN: 3, Label: lbl("c")}, {Type: RecordAppend, LSN: 9, Label: lbl("a"), TS: 5, Value: 6}} {
		frame := appendFrame(nil, &r)
		var got Record
		for cut := 0; cut < len(frame); cut++ {
			if _, err := decodeFrame(frame[:cut], &got); !errors.Is(err, errBadRecord) {
				t.Fatalf("%v cut at %d: err %v", r, cut, err)
			}
		}
		for bit := 0; bit < 8*len(frame); bit++ {
			b := append([]byte{}, frame...)
			b[bit/8] ^= 1 << (bit % 8)
			if _, err := decodeFrame(b, &got); !errors.Is(err, errBadRecord) {
				t.Fatalf("%v bit %d flipped: err %v", r, bit, err)
			}
		}
	}
}

func FuzzDecodeFrame(f *testing.F) {
	f.Add(appendFrame(nil, &Record{Type: RecordAppend, LSN: 1, TS: 2, Value: 3}))
	f.Add(appendFrame(nil, &Record{Type: RecordRaft, LSN: 4, Group: 5, Kind: 6, Data: []byte("raft")}))
	f.Add(appendFrame(nil, &Record{Type: RecordBatch, LSN: 7, Points: []Point{{TS: 1, Value: 2}}}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Record
		n, err := decodeFrame(b, &r)
		if err != nil {
			return
		}
		if again := appendFrame(nil, &r); !bytes.Equal(again, b[:n]) {
			t.Fatalf("decoded %+v re-encodes differently", r)
		}
	})
}
