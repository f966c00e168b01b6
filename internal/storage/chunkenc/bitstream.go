package chunkenc

import (
	"encoding/binary"
	"math/bits"
)

// bitWriter appends bits, most significant first, to a byte slice. free counts the unused low
// bits of the last byte, so a chunk can keep growing mid-byte after being decoded.
type bitWriter struct {
	b    []byte
	free uint8
}

// writeBits writes the low n bits of u (n <= 64). Bits above n are ignored, so callers can
// pass a two's-complement value and a width without masking.
func (w *bitWriter) writeBits(u uint64, n uint) {
	if n == 0 {
		return
	}
	u <<= 64 - n // left-align: the next bit to write is the top one, bits past n are zero
	if w.free > 0 {
		w.b[len(w.b)-1] |= byte(u >> (64 - uint(w.free)))
		k := min(n, uint(w.free))
		u <<= k
		n -= k
		w.free -= uint8(k)
	}
	if n > 0 {
		// Append all 8 bytes of u in one go (cheaper than a byte loop), then keep the ones
		// holding bits; the zero bits after n in the last kept byte are its free bits.
		nb := (n + 7) / 8
		w.b = binary.BigEndian.AppendUint64(w.b, u)
		w.b = w.b[:len(w.b)-8+int(nb)]
		w.free = uint8(8*nb - n)
	}
}

func (w *bitWriter) writeUvarint(x uint64) {
	var buf [binary.MaxVarintLen64]byte
	for _, c := range buf[:binary.PutUvarint(buf[:], x)] {
		w.writeBits(uint64(c), 8)
	}
}

func (w *bitWriter) writeVarint(x int64) {
	var buf [binary.MaxVarintLen64]byte
	for _, c := range buf[:binary.PutVarint(buf[:], x)] {
		w.writeBits(uint64(c), 8)
	}
}

// bitReader reads what bitWriter wrote. Up to 64 unread bits wait left-aligned in buf, so most
// reads are one shift rather than a loop over bytes. Every read reports running out of input
// instead of panicking: the bytes may come from a corrupt checkpoint.
type bitReader struct {
	b     []byte // bytes not yet moved into buf
	buf   uint64
	valid uint // unread bits at the top of buf
}

func newBitReader(b []byte) bitReader { return bitReader{b: b} }

// fill tops buf up to at least 57 valid bits, or fewer at the end of the input.
func (r *bitReader) fill() {
	if len(r.b) >= 8 && r.valid <= 56 {
		// Load the whole bytes that fit with one 8-byte read; clear the bits of the next
		// byte that came along, which the next fill loads properly.
		k := (64 - r.valid) / 8
		r.buf |= binary.BigEndian.Uint64(r.b) >> r.valid
		r.valid += 8 * k
		r.buf &^= 1<<(64-r.valid) - 1
		r.b = r.b[k:]
		return
	}
	for r.valid <= 56 && len(r.b) > 0 {
		r.buf |= uint64(r.b[0]) << (56 - r.valid)
		r.b = r.b[1:]
		r.valid += 8
	}
}

// readBits reads n bits (n <= 64); ok is false at the end of the input. The common case,
// enough bits already buffered, is kept small enough to inline.
func (r *bitReader) readBits(n uint) (v uint64, ok bool) {
	if r.valid < n {
		return r.readBitsSlow(n)
	}
	v = r.buf >> (64 - n) // a shift by 64 yields 0 in Go, so n == 0 needs no special case
	r.buf <<= n
	r.valid -= n
	return v, true
}

func (r *bitReader) readBitsSlow(n uint) (uint64, bool) {
	if n > 56 { // fill guarantees only 57 bits, so wide reads go in two parts
		hi, ok1 := r.readBits(n - 32)
		lo, ok2 := r.readBits(32)
		return hi<<32 | lo, ok1 && ok2
	}
	r.fill()
	if r.valid < n {
		return 0, false
	}
	return r.readBits(n)
}

// readPrefix reads a prefix code: a run of 1 bits ended by a 0, or cut off after limit 1s
// (limit <= 8). It returns the number of 1s; the ending 0, if any, is consumed too. Decoding
// it from the buffered word at once saves a readBits call per bit.
func (r *bitReader) readPrefix(limit uint) (ones uint, ok bool) {
	if r.valid < limit {
		r.fill()
	}
	if r.valid < limit { // near the end of the input: bit by bit
		for ones < limit {
			b, ok := r.readBits(1)
			if !ok || b == 0 {
				return ones, ok
			}
			ones++
		}
		return ones, true
	}
	ones = min(uint(bits.LeadingZeros64(^r.buf)), limit)
	used := min(ones+1, limit)
	r.buf <<= used
	r.valid -= used
	return ones, true
}

// readUvarint mirrors binary.Uvarint, including its rejection of values over 64 bits.
func (r *bitReader) readUvarint() (uint64, bool) {
	var x uint64
	var s uint
	for i := range binary.MaxVarintLen64 {
		c, ok := r.readBits(8)
		if !ok {
			return 0, false
		}
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				return 0, false
			}
			return x | c<<s, true
		}
		x |= (c & 0x7f) << s
		s += 7
	}
	return 0, false
}

func (r *bitReader) readVarint() (int64, bool) {
	ux, ok := r.readUvarint()
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x, ok
}

// bitLen is how many bits have been written.
func (w *bitWriter) bitLen() int { return 8*len(w.b) - int(w.free) }

// bitsRead is how many bits have been consumed from an input of total bytes.
func (r *bitReader) bitsRead(total int) int {
	return 8*(total-len(r.b)) - int(r.valid)
}
