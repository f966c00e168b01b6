package chunkenc

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestBitStream writes fields of every width at every alignment and reads them back.
func TestBitStream(t *testing.T) {
	type field struct {
		v uint64
		n uint
	}
	r := rand.New(rand.NewPCG(3, 4))
	var fields []field
	var w bitWriter
	for i := range 2000 {
		n := uint(r.IntN(65))
		if i%97 == 0 {
			n = 0
		}
		v := r.Uint64()
		if n < 64 {
			v &= 1<<n - 1
		}
		fields = append(fields, field{v, n})
		w.writeBits(v|r.Uint64()<<n, n) // bits above n are garbage that must be ignored
	}
	rd := newBitReader(w.b)
	for i, f := range fields {
		if got, ok := rd.readBits(f.n); !ok || got != f.v {
			t.Fatalf("field %d (%d bits): got %#x, %v; want %#x", i, f.n, got, ok, f.v)
		}
	}
	if _, ok := rd.readBits(uint(w.free) + 1); ok {
		t.Fatal("read past the end succeeded")
	}
}

func TestVarints(t *testing.T) {
	cases := []int64{0, 1, -1, 63, -64, 64, 1 << 40, math.MinInt64, math.MaxInt64}
	for _, pre := range []uint{0, 3} { // byte-aligned and not
		var w bitWriter
		w.writeBits(0, pre)
		for _, c := range cases {
			w.writeVarint(c)
			w.writeUvarint(uint64(c))
		}
		r := newBitReader(w.b)
		r.readBits(pre)
		for _, c := range cases {
			s, ok1 := r.readVarint()
			u, ok2 := r.readUvarint()
			if !ok1 || !ok2 || s != c || u != uint64(c) {
				t.Fatalf("pre %d: %d round-tripped as %d, %d (%v %v)", pre, c, s, u, ok1, ok2)
			}
		}
	}
}

// TestReadPrefix decodes prefix codes from the buffered word and, near the end of the
// input, bit by bit; both must agree.
func TestReadPrefix(t *testing.T) {
	cases := []struct {
		bits       uint64 // written MSB first
		n, limit   uint
		ones, left uint // expected 1s read and bits left unread
	}{
		{0b0, 1, 4, 0, 0},
		{0b10, 2, 4, 1, 0},
		{0b1110, 4, 4, 3, 0},
		{0b1111, 4, 4, 4, 0},
		{0b11111, 5, 4, 4, 1},
		{0b110, 3, 2, 2, 1},
		{0b10_0000_0000, 10, 4, 1, 8},
	}
	for _, c := range cases {
		for _, pre := range []uint{0, 6, 60} { // bits consumed first: buffered or at the end
			var w bitWriter
			w.writeBits(0, pre)
			w.writeBits(c.bits, c.n)
			r := newBitReader(w.b)
			r.readBits(pre)
			ones, ok := r.readPrefix(c.limit)
			total := uint(len(w.b)) * 8
			if left := total - uint(r.bitsRead(len(w.b))) - uint(w.free); !ok || ones != c.ones || left != c.left {
				t.Errorf("%b/%d after %d: ones %d ok %v left %d; want %d, %d", c.bits, c.limit, pre, ones, ok, left, c.ones, c.left)
			}
		}
	}
	r := newBitReader([]byte{0xff})
	r.readBits(6) // "11" left: a run of 1s cut by the end of the input
	if _, ok := r.readPrefix(4); ok {
		t.Error("prefix running off the end decoded")
	}
}

func TestReadUvarintOverflow(t *testing.T) {
	for _, in := range [][]byte{
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, // 65 bits
		{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00},
		{0x80},
	} {
		r := newBitReader(in)
		if v, ok := r.readUvarint(); ok {
			t.Errorf("%x decoded as %d", in, v)
		}
	}
}
