package chunkenc

import (
	"encoding/binary"
	"math/bits"
	"unsafe"

	"github.com/taudb/tau/internal/query"
)

// seek is the point lookup's decoder: it advances it to the first point at or after ts and
// reports whether there is one, decoding exactly the points next would.
func (it *chunkIter) seek(ts int64) bool {
	if it.dec.on {
		return it.seekDecimal(ts)
	}
	if it.i == 0 && it.err == nil && it.n > 0 {
		it.seekStart(ts)
	}
	for it.i < 2 && it.t < ts { // point 1 of a one-point chunk: the plain decoder
		if !it.next() {
			return false
		}
	}
	if it.i > 0 && it.t >= ts && it.err == nil { // seekStart stopped at point 0 or 1
		return true
	}
	var last [1]query.Point
	_, found := it.decode(ts, last[:], 0)
	return found
}

// read decodes the iterator's next points into out, as many as fit, and returns how many it
// stored: fewer only at the chunk's end, on damage (it.err), or after a point at or after ts.
// Points 0 and 1 go through next; decode takes the rest.
func (it *chunkIter) read(ts int64, out []query.Point) int {
	if it.dec.on {
		return it.readDecimal(ts, out)
	}
	n := 0
	for ; n < len(out) && it.i < 2; n++ {
		if !it.next() {
			return n
		}
		out[n] = query.Point{TS: it.t, Value: it.v}
		if it.t >= ts {
			return n + 1
		}
	}
	if n < len(out) {
		k, _ := it.decode(ts, out[n:], 1)
		n += k
	}
	return n
}

// decode is the decoder from point 2 on (next decodes points 0 and 1, with the bit reader).
// It decodes exactly what next would and checks the same things, but keeps its state in locals
// and reads each point with one 8-byte load, or two, at a bit position, instead of going
// through the bit reader field by field: several times faster a point, for lookups (half a
// chunk on average) and ranges (whole chunks). It stops after the first point at or after ts
// (found), at the chunk's end, on damage (it.err), or, when step is 1, once out is full. With
// step 1 it stores the points in out and returns how many; with step 0 (seek) it only keeps
// overwriting out[0], which costs the loop less than a branch would. The iterator is left on
// the last point decoded.
func (it *chunkIter) decode(ts int64, out []query.Point, step int) (n int, found bool) {
	if it.i >= it.n || it.err != nil || len(out) == 0 {
		return 0, false
	}
	// Locals, not fields, so the loop keeps them in registers. b is the chunk's bytes or,
	// near their end, a zero-padded copy of the rest (tail), so that every load stays in
	// bounds without a check per field; pos and end are bit positions in b, base the bytes of
	// the chunk before b.
	var tail [2 * seekReach]byte
	b, base := it.data, uint(0)
	pos, end := it.bitPos(), uint(8*len(b))
	if pos > end {
		it.err = errMalformed
		return 0, false
	}
	t, v, delta := it.t, it.v, it.delta
	lead, trail := uint(it.leading), uint(it.trailing)
	found, ok := false, true
	stop := it.n
	if step != 0 {
		stop = min(stop, it.i+len(out))
	}
	// Point i goes to out[(i-first)*step], addressed with a pointer and no bounds check: an
	// indexed store's check made lookups measurably slower. stop keeps it within out.
	first, at, stride := it.i, unsafe.Pointer(&out[0]), uintptr(step)*pointSize
	for i := it.i; i < stop && ok && !found; i++ {
		if k := pos >> 3; k+seekReach > uint(len(b)) {
			clear(tail[copy(tail[:], b[k:]):])
			b, base, pos, end = tail[:], base+k, pos-8*k, end-8*k
		}
		// One load usually serves the whole point: w holds the next avail bits (at least 57),
		// consumed from the top; a field that does not fit is read from b instead.
		w := peek(b, pos)
		avail := 64 - pos&7
		// Timestamp: a delta-of-delta prefix code (chunk.go).
		switch ones := uint(bits.LeadingZeros64(^w)); {
		case ones == 0:
			w, avail, pos = w<<1, avail-1, pos+1
		case ones < dodEscapeLen:
			width := dodBuckets[ones-1].width
			u := w << (ones + 1) >> (64 - width)
			delta += uint64(int64(u<<(64-width)) >> (64 - width)) // the dod, sign-extended
			n := ones + 1 + width
			w, avail, pos = w<<n, avail-n, pos+n
		default:
			delta = readN(b, pos+dodEscapeLen, 64)
			pos += dodEscapeLen + 64
			w, avail = peek(b, pos), 64-pos&7
		}
		next := int64(uint64(t) + delta)
		ok = next > t // refuses a zero delta or one past int64, as advance does
		t = next
		// Value: the XOR with the previous one.
		if avail < 13 { // the control bits and a new window's header
			w, avail = peek(b, pos), 64-pos&7
		}
		switch {
		case w>>63 == 0:
			pos++
		case w>>62 == 0b10:
			ok = ok && lead != noWindow
			sig := max((64-lead-trail)&127, 1) // masked: lead may be noWindow (refused above)
			x := w << 2 >> (64 - sig)
			if 2+sig > avail {
				x = readN(b, pos+2, sig)
			}
			v ^= x << (trail & 63)
			pos += 2 + sig
		default:
			hdr := w << 2 >> 53
			l, sig := uint(hdr>>6), uint(hdr&63)
			if sig == 0 {
				sig = 64
			}
			ok = ok && l+sig <= 64
			lead, trail = l, (64-l-sig)&63
			x := w << 13 >> (64 - sig)
			if 13+sig > avail {
				x = readN(b, pos+13, sig)
			}
			v ^= x << trail
			pos += 13 + sig
		}
		ok = ok && pos <= end
		it.i = i + 1
		found = t >= ts
		*(*query.Point)(unsafe.Add(at, uintptr(i-first)*stride)) = query.Point{TS: t, Value: v}
	}
	n = (it.i - first) * step
	it.t, it.v, it.delta, it.leading, it.trailing = t, v, delta, uint8(lead), uint8(trail)
	if !ok {
		it.err = errMalformed
		return n - step, false // the point that failed was stored last
	}
	// Park where decoding stopped: the next call carries on from there, and a lookup, which
	// calls no next, pays nothing for it.
	it.parked, it.pos = true, base*8+pos
	return n, found
}

// seekStart decodes point 0 of a fresh iterator, and point 1 too unless point 0 is at or after
// ts. Both start on a byte (a varint timestamp, 64 value bits, a uvarint delta), so they need
// no bit reader. It leaves the iterator as next would, or failed on malformed data.
func (it *chunkIter) seekStart(ts int64) {
	b := it.data
	t0, k0 := binary.Varint(b)
	if k0 <= 0 || len(b) < k0+8 {
		it.err = errMalformed
		return
	}
	it.t, it.v, it.i = t0, binary.BigEndian.Uint64(b[k0:]), 1
	it.r = newBitReader(b[k0+8:])
	if t0 >= ts || it.n < 2 {
		return
	}
	delta, k1 := binary.Uvarint(b[k0+8:])
	if k1 <= 0 {
		it.err = errMalformed
		return
	}
	it.delta = delta
	it.r = newBitReader(b[k0+8+k1:])
	if !it.advance() || !it.readValue() {
		it.err = errMalformed
		return
	}
	it.i = 2
}

// pointSize is the size of a query.Point in bytes.
const pointSize = unsafe.Sizeof(query.Point{})

// seekReach is how many bytes past a point's first byte its decoding may load: the widest
// point is 4+64 bits of timestamp and 2+11+64 of value (145 bits, within 19 bytes of its first
// byte, whatever its bit offset), and each load reads 8 bytes.
const seekReach = 19 + 8

// peek is the 64 bits from bit pos on (at least 57 of them real: the rest are the next byte's
// low bits shifted out, zero).
func peek(b []byte, pos uint) uint64 {
	return binary.BigEndian.Uint64(b[pos>>3:]) << (pos & 7)
}

// readN is the n bits (1 <= n <= 64) from bit pos on.
func readN(b []byte, pos, n uint) uint64 {
	if n <= 57 {
		return peek(b, pos) >> (64 - n)
	}
	return peek(b, pos)>>32<<(n-32) | peek(b, pos+32)>>(96-n)
}
