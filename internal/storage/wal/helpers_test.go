package wal

import (
	"fmt"
	"slices"

	"github.com/taudb/tau/internal/series"
)

// lbl makes a label from s, zero-padded: tests use labels with '/', "..", and zero bytes to
// show none of it reaches a path.
func lbl(s string) series.Label {
	var l series.Label
	copy(l[:], s)
	return l
}

func create(l series.Label) Record { return Record{Type: RecordCreate, Label: l} }
func app(l series.Label, ts int64, bits uint64) Record {
	return Record{Type: RecordAppend, Label: l, TS: ts, Value: bits}
}

// batchOf is a batch record of n points on l, timestamps from ts0 on, with NaN payloads.
func batchOf(l string, ts0 int64, n int) Record {
	r := Record{Type: RecordBatch, Label: lbl(l)}
	for i := 0; i < n; i++ {
		r.Points = append(r.Points, Point{TS: ts0 + int64(i), Value: 0x7ff8000000000000 | uint64(i+1)})
	}
	return r
}

func (r Record) String() string { return fmt.Sprintf("%d@%d", r.Type, r.LSN) }

// sameRecord compares records field by field, a batch's points included.
func sameRecord(a, b Record) bool {
	return a.Type == b.Type && a.LSN == b.LSN && a.Label == b.Label && a.TS == b.TS && a.Value == b.Value &&
		slices.Equal(a.Points, b.Points)
}

// segmentHeaderV is the header of segment seq in format version v.
func segmentHeaderV(seq uint64, v int) []byte { return SegmentHeader(seq, v) }
