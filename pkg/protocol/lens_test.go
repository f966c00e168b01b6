package protocol

import (
	"bytes"
	"errors"
	"testing"
)

func TestCreateLensRoundTrip(t *testing.T) {
	lens, source := LabelFromString("lens"), Label{0, 0xFF, 7}
	for _, name := range append([]string{"", "x", "exactly_thirty_two_bytes_long_ab"}, Transforms...) {
		p, err := EncodeCreateLens(nil, lens, source, name)
		if err != nil || len(p) != CreateLensPayloadSize {
			t.Fatalf("%q: %d bytes, %v", name, len(p), err)
		}
		gl, gs, gn := CreateLensRequest(p)
		if gl != lens || gs != source || gn != name {
			t.Fatalf("%q: decoded %v %v %q", name, gl == lens, gs == source, gn)
		}
	}
	if _, err := EncodeCreateLens(nil, lens, source, "thirty_three_bytes_is_one_too_big"); !errors.Is(err, ErrTransformTooLong) {
		t.Fatalf("a 33-byte name: %v", err)
	}
}

// TestTransformNameIsTrimmedOnlyAtTheEnd: trailing zero bytes go (E5), any other byte stays,
// so a name with a zero inside or bytes after the padding never equals a known one.
func TestTransformNameIsTrimmedOnlyAtTheEnd(t *testing.T) {
	cases := []struct {
		name string
		raw  []byte
		want string
	}{
		{"padded", []byte("returns"), "returns"},
		{"zero inside", []byte("ret\x00urns"), "ret\x00urns"},
		{"bytes after the padding", append(append([]byte("returns"), make([]byte, 20)...), 'x'), "returns" + string(make([]byte, 20)) + "x"},
		{"leading zero", []byte("\x00returns"), "\x00returns"},
		{"all zero", nil, ""},
		{"trailing space kept", []byte("returns "), "returns "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := make([]byte, CreateLensPayloadSize)
			copy(p[2*LabelSize:], c.raw)
			if _, _, got := CreateLensRequest(p); got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestComposeLensRoundTrip(t *testing.T) {
	a, b, c := LabelFromString("a"), Label{1}, Label{31: 0xFF}
	p := EncodeComposeLens(nil, a, b, c)
	if len(p) != ComposeLensPayloadSize {
		t.Fatalf("%d bytes", len(p))
	}
	if ga, gb, gc := ComposeLensRequest(p); ga != a || gb != b || gc != c {
		t.Fatal("compose round trip")
	}
}

func TestLensListRoundTrip(t *testing.T) {
	labels := []Label{{}, LabelFromString("x"), {0: 0xFF, 31: 1}}
	frame := AppendLensListHeader(nil, len(labels))
	for _, l := range labels {
		frame = append(frame, l[:]...)
	}
	var hdr [HeaderSize]byte
	copy(hdr[:], frame)
	h, err := DecodeHeader(&hdr)
	if err != nil || h.Opcode != OpOK || int(h.Length) != len(frame)-HeaderSize {
		t.Fatalf("header %+v, %v", h, err)
	}
	got, err := DecodeLensList(frame[HeaderSize:], nil)
	if err != nil || len(got) != len(labels) {
		t.Fatalf("%d labels, %v", len(got), err)
	}
	for i := range got {
		if got[i] != labels[i] {
			t.Fatalf("label %d differs", i)
		}
	}
	if got, err := DecodeLensList(nil, nil); err != nil || len(got) != 0 {
		t.Fatalf("empty list: %v %v", got, err)
	}
	if _, err := DecodeLensList(make([]byte, 33), nil); err == nil {
		t.Fatal("33 bytes decoded as labels")
	}
}

func TestLensOpcodeNames(t *testing.T) {
	want := map[Opcode]string{OpCreateLens: "CREATE_LENS", OpDropLens: "DROP_LENS", OpQueryLens: "QUERY_LENS",
		OpComposeLens: "COMPOSE_LENS", OpListLenses: "LIST_LENSES"}
	for op, name := range want {
		if op.String() != name {
			t.Errorf("%#x: %q, want %q", byte(op), op.String(), name)
		}
	}
	// QUERY_LENS travels as QUERY_POINT does: the same codec serves both.
	l := LabelFromString("l")
	if !bytes.Equal(EncodeQuery(nil, l, -3), append(l[:], 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFD)) {
		t.Fatal("QUERY_LENS layout")
	}
}
