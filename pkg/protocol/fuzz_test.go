package protocol

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
	"testing"
)

// FuzzReader feeds arbitrary bytes to the frame reader the way the server does: header, then
// payload read or discarded. It must never panic, never hand out more than it buffers, and fail
// only with the errors the server maps to status codes or with end of input.
func FuzzReader(f *testing.F) {
	cert := make([]byte, 32)
	f.Add(AppendFrame(nil, OpConnect, cert))
	f.Add(AppendFrame(AppendFrame(nil, OpPing, nil), OpAppend, make([]byte, 48)))
	f.Add(AppendHeader(nil, OpQueryPoint, 0xFFFFFFFF))
	f.Add([]byte("TAU\x02\x01\x00\x00\x00\x00\x00"))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	// The lens family (E5): each request well-formed, a wrong length, and LIST_LENSES with a
	// payload (ignored) followed by a frame that must still be read as one.
	create, _ := EncodeCreateLens(nil, Label{1}, Label{2}, TransformReturns)
	f.Add(AppendFrame(nil, OpCreateLens, create))
	f.Add(AppendFrame(AppendFrame(nil, OpCreateLens, create[:CreateLensPayloadSize-1]), OpPing, nil))
	f.Add(AppendFrame(nil, OpDropLens, make([]byte, DropLensPayloadSize)))
	f.Add(AppendFrame(nil, OpQueryLens, EncodeQuery(nil, Label{1}, -1)))
	f.Add(AppendFrame(nil, OpComposeLens, EncodeComposeLens(nil, Label{3}, Label{1}, Label{1})))
	f.Add(AppendFrame(AppendFrame(nil, OpListLenses, []byte("ignored")), OpListLenses, nil))
	f.Add(AppendHeader(nil, OpComposeLens, 0xFFFFFFFF))
	f.Add(AppendFrame(nil, OpListSeries, EncodeListSeries(nil, Label{}, 0)))
	f.Add(AppendFrame(nil, OpSeriesInfo, make([]byte, SeriesInfoPayloadSize)))
	f.Add(AppendFrame(AppendFrame(nil, OpQueryRange, EncodeQueryRange(nil, &QueryRange{End: 100, Aggregation: AggAvg, Bucket: 10})),
		OpQueryRange, make([]byte, QueryRangePayloadSize-1)))
	// APPEND_BATCH (E3): valid, n = 0, a length that is no 36 + 16n, a count that disagrees
	// with the length, a huge count, and a header claiming more than the limit.
	batch := AppendBatchPoint(AppendBatchPoint(AppendBatchHeader(nil, Label{1}, 2), -1, 0.5), 2, math.Copysign(0, -1))
	f.Add(AppendFrame(nil, OpAppendBatch, batch))
	f.Add(AppendFrame(nil, OpAppendBatch, AppendBatchHeader(nil, Label{}, 0)))
	f.Add(AppendFrame(nil, OpAppendBatch, batch[:len(batch)-3]))
	f.Add(AppendFrame(nil, OpAppendBatch, AppendBatchPoint(AppendBatchHeader(nil, Label{}, 5), 1, 1)))
	f.Add(AppendFrame(AppendFrame(nil, OpAppendBatch, AppendBatchPoint(AppendBatchHeader(nil, Label{}, 0xFFFFFFFF), 1, 1)), OpPing, nil))
	f.Add(AppendHeader(nil, OpAppendBatch, 0xFFFFFFF4))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(bufio.NewReader(bytes.NewReader(in)), 1024)
		for {
			h, err := r.ReadHeader()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) &&
					!errors.Is(err, ErrBadMagic) && !errors.Is(err, ErrBadVersion) && !errors.Is(err, ErrPayloadTooLarge) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if h.Length > 1024 {
				t.Fatalf("length %d passed the limit", h.Length)
			}
			if h.Opcode == OpAppendBatch {
				if !readBatch(t, r, h) {
					return
				}
				continue
			}
			if h.Length <= MaxRequestPayload {
				p, err := r.ReadPayload(h)
				if err != nil {
					return
				}
				if len(p) != int(h.Length) {
					t.Fatalf("payload %d bytes, header says %d", len(p), h.Length)
				}
			} else if err := r.Discard(h); err != nil {
				return
			}
		}
	})
}

// readBatch reads an APPEND_BATCH as the server does: the length, the head and its count, then
// the points into a bounded buffer; a malformed one is discarded. False at the end of input.
func readBatch(t *testing.T, r *Reader, h Header) bool {
	n, ok := BatchCount(h.Length)
	if !ok {
		return r.Discard(h) == nil
	}
	if n > (1024-BatchHeaderSize)/BatchPointSize {
		t.Fatalf("length %d gives %d points, more than the limit allows", h.Length, n)
	}
	var head [BatchHeaderSize]byte
	if r.ReadFull(head[:]) != nil {
		return false
	}
	if _, count := BatchHeader(head[:]); int64(count) != int64(n) {
		return r.DiscardN(n*BatchPointSize) == nil
	}
	var pt [BatchPointSize]byte
	for i := 0; i < n; i++ {
		if r.ReadFull(pt[:]) != nil {
			return false
		}
		ts, bits := BatchPoint(pt[:])
		if again := AppendBatchPointBits(nil, ts, bits); !bytes.Equal(again, pt[:]) {
			t.Fatalf("point %x decodes to %d, %#x, which encodes to %x", pt, ts, bits, again)
		}
	}
	return true
}
