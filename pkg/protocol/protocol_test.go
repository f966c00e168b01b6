package protocol

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
	"testing"
)

func TestDecodeHeader(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want Header
		err  error
	}{
		{"connect", []byte{'T', 'A', 'U', 1, 0x01, 0, 0, 0, 0, 32}, Header{OpConnect, 0, 32}, nil},
		{"flags ignored", []byte{'T', 'A', 'U', 1, 0x03, 0xAB, 0, 0, 0, 0}, Header{OpPing, 0xAB, 0}, nil},
		{"big length", []byte{'T', 'A', 'U', 1, 0x20, 0, 0xFF, 0xFF, 0xFF, 0xFF}, Header{OpAppend, 0, math.MaxUint32}, nil},
		{"bad magic", []byte{'T', 'A', 'X', 1, 0x01, 0, 0, 0, 0, 32}, Header{}, ErrBadMagic},
		{"lower case magic", []byte{'t', 'a', 'u', 1, 0x01, 0, 0, 0, 0, 32}, Header{}, ErrBadMagic},
		{"bad version", []byte{'T', 'A', 'U', 2, 0x01, 0, 0, 0, 0, 32}, Header{}, ErrBadVersion},
		{"version zero", []byte{'T', 'A', 'U', 0, 0x01, 0, 0, 0, 0, 32}, Header{}, ErrBadVersion},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b [HeaderSize]byte
			copy(b[:], c.in)
			got, err := DecodeHeader(&b)
			if !errors.Is(err, c.err) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			if err == nil && got != c.want {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestReaderLimits(t *testing.T) {
	cases := []struct {
		name    string
		in      []byte
		max     uint32
		wantErr error
	}{
		{"at limit", AppendHeader(nil, OpPing, 100), 100, nil},
		{"over limit", AppendHeader(nil, OpPing, 101), 100, ErrPayloadTooLarge},
		{"truncated header", []byte{'T', 'A'}, 100, io.ErrUnexpectedEOF},
		{"empty", nil, 100, io.EOF},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := NewReader(bufio.NewReader(bytes.NewReader(c.in)), c.max)
			_, err := r.ReadHeader()
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
		})
	}
}

func TestPayloadSizes(t *testing.T) {
	cases := map[Opcode]int{
		OpConnect: 32, OpCreateSeries: 32, OpDropSeries: 32, OpAppend: 48, OpQueryPoint: 40,
		OpPing: -1, OpDisconnect: -1, OpListSeries: 36, OpSeriesInfo: 32, OpQueryRange: 61, OpAppendBatch: -1,
		OpCreateLens: 96, OpDropLens: 32, OpQueryLens: 40, OpComposeLens: 96, OpListLenses: -1,
	}
	for op, want := range cases {
		if got := op.PayloadSize(); got != want {
			t.Errorf("%v: %d, want %d", op, got, want)
		}
	}
	for op := 0; op < 256; op++ {
		o := Opcode(op)
		want := o == OpConnect || o == OpDisconnect || o == OpPing || o == OpCreateSeries ||
			o == OpDropSeries || o == OpAppend || o == OpQueryPoint ||
			o == OpListSeries || o == OpSeriesInfo || o == OpQueryRange || o == OpAppendBatch ||
			(o >= OpCreateLens && o <= OpListLenses)
		if o.IsRequest() != want {
			t.Errorf("IsRequest(0x%02x) = %v", op, !want)
		}
	}
}

func TestAppendRoundTripExactBits(t *testing.T) {
	bits := []uint64{0, 1 << 63, math.Float64bits(math.Inf(1)), math.Float64bits(math.Inf(-1)),
		0x7FF0000000000001, 0xFFF8DEADBEEF0001, math.Float64bits(1.5)}
	for _, b := range bits {
		l := LabelFromString("cpu")
		p := EncodeAppend(nil, l, -42, math.Float64frombits(b))
		gl, ts, gb := AppendRequest(p)
		if gl != l || ts != -42 || gb != b {
			t.Fatalf("round trip of %#x: label %v ts %d bits %#x", b, gl == l, ts, gb)
		}
		found, qb, err := DecodeQueryAnswer(AppendQueryAnswer(nil, true, b)[HeaderSize:])
		if err != nil || !found || qb != b {
			t.Fatalf("query answer of %#x: %v %v %#x", b, err, found, qb)
		}
	}
}

func TestStatusNames(t *testing.T) {
	if StatusBusy.String() != "busy" || Status(0x42).String() != "status_0x42" {
		t.Fatal("status names")
	}
	if !StatusAuthFailed.ClosesConnection() || StatusSeriesNotFound.ClosesConnection() {
		t.Fatal("close semantics")
	}
}
