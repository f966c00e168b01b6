package client

import (
	"testing"

	"github.com/taudb/tau/pkg/protocol"
)

// The per-request encode and decode steps, without the network.

func BenchmarkEncodeAppend(b *testing.B) {
	var buf [maxFrame]byte
	r := request{op: protocol.OpAppend, key: protocol.LabelFromString("cpu"), ts: 1, bits: 2}
	b.ReportAllocs()
	b.SetBytes(maxFrame)
	for b.Loop() {
		r.ts++
		if len(r.appendFrame(buf[:0])) != maxFrame {
			b.Fatal("bad frame")
		}
	}
}

func BenchmarkEncodeQuery(b *testing.B) {
	var buf [maxFrame]byte
	r := request{op: protocol.OpQueryPoint, key: protocol.LabelFromString("cpu"), ts: 1}
	b.ReportAllocs()
	for b.Loop() {
		r.ts++
		r.appendFrame(buf[:0])
	}
}

func BenchmarkDecodeQueryAnswer(b *testing.B) {
	frame := protocol.AppendQueryAnswer(nil, true, 0x7ff8000000000001)
	var hdr [protocol.HeaderSize]byte
	copy(hdr[:], frame)
	b.ReportAllocs()
	for b.Loop() {
		h, err := protocol.DecodeHeader(&hdr)
		if err != nil {
			b.Fatal(err)
		}
		res := decodeAnswer(protocol.OpQueryPoint, h, frame[protocol.HeaderSize:])
		if !res.found || res.bits != 0x7ff8000000000001 {
			b.Fatal("bad answer")
		}
	}
}

func BenchmarkDecodeStatus(b *testing.B) {
	frame := protocol.AppendErr(nil, protocol.StatusBusy)
	h := protocol.Header{Opcode: protocol.OpErr, Length: 1}
	b.ReportAllocs()
	for b.Loop() {
		if decodeAnswer(protocol.OpAppend, h, frame[protocol.HeaderSize:]).status != protocol.StatusBusy {
			b.Fatal("bad answer")
		}
	}
}
