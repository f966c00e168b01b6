package protocol

import (
	"bufio"
	"bytes"
	"errors"
	"io"
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
	f.Add(AppendFrame(nil, Opcode(0x40), []byte("lens")))
	f.Add(AppendFrame(nil, OpListSeries, EncodeListSeries(nil, Label{}, 0)))
	f.Add(AppendFrame(nil, OpSeriesInfo, make([]byte, SeriesInfoPayloadSize)))
	f.Add(AppendFrame(AppendFrame(nil, OpQueryRange, EncodeQueryRange(nil, &QueryRange{End: 100, Aggregation: AggAvg, Bucket: 10})),
		OpQueryRange, make([]byte, QueryRangePayloadSize-1)))
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
