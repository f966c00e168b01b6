package chunkenc

import (
	"errors"
	"math/bits"
)

// Chunk encoding, one bit stream per chunk (all multi-bit fields most significant bit first):
//
//	point 0:  varint (zigzag) timestamp, then the 64 value bits verbatim
//	point 1:  uvarint delta = t1 - t0, then the value as XOR (below)
//	point n:  delta-of-delta (below), then the value as XOR
//
// Delta-of-delta dod = delta(n) - delta(n-1), with a prefix code sized for nanosecond
// timestamps (a regular scrape costs one bit; scheduler jitter of a few ms fits in 27 bits):
//
//	0                       dod == 0
//	10   + 14-bit signed    -2^13 <= dod < 2^13
//	110  + 24-bit signed    -2^23 <= dod < 2^23
//	1110 + 36-bit signed    -2^35 <= dod < 2^35
//	1111 + 64-bit delta     anything else: the full delta, not the dod, because a dod of two
//	                        uint64 deltas may not fit even in 64 bits (MinInt64 -> MaxInt64)
//
// Deltas are uint64: timestamps strictly increase, so t(n) - t(n-1) lies in [1, 2^64-1], which
// uint64 holds even when int64 subtraction would overflow.
//
// Values are the XOR with the previous value's bits (Gorilla), never compared as floats:
//
//	0                                   same bits as before
//	10 + meaningful bits                XOR fits the current leading/trailing-zero window
//	11 + 5-bit leading + 6-bit length   a new window (length 64 is written as 0),
//	   + meaningful bits                then the XOR's bits inside it
const (
	// maxChunkPoints follows Gorilla and Prometheus: 120 points amortise the verbatim first
	// point and delta (~22 bytes for ns timestamps, ~1.5 bits/point) while a lookup decodes
	// at most 120 points.
	maxChunkPoints = 120
	// maxChunkBytes bounds a lookup's decoding work when values barely compress.
	maxChunkBytes = 1024

	noWindow = 0xff // appender/iterator leading before any XOR window exists
)

// dodBucket is one delta-of-delta width and the prefix that announces it.
type dodBucket struct {
	prefix    uint64
	prefixLen uint
	width     uint
}

// dodBuckets lists the bounded widths, narrowest first; the prefix with one more leading 1
// (1111) is the 64-bit escape.
var dodBuckets = [...]dodBucket{
	{0b10, 2, 14},
	{0b110, 3, 24},
	{0b1110, 4, 36},
}

const dodEscape, dodEscapeLen = 0b1111, 4

var errMalformed = errors.New("chunkenc: malformed chunk")

// chunk is a run of consecutive points. Only the newest chunk of a series (its head) is ever
// written; older chunks are immutable, so they can be shared between clones.
type chunk struct {
	w          bitWriter
	minT, maxT int64
	n          int
	mid        skipPoint // decoder state after point skipAt, once the chunk has it
}

// skipAt is the point whose decoder state each chunk keeps, so a lookup in the second half of
// a chunk starts there: it halves the points decoded per QUERY_POINT for 32 bytes of memory
// per chunk (about 0.27 bytes per point), and nothing on disk (rebuilt when decoded).
const skipAt = maxChunkPoints / 2

// skipPoint is a chunkIter's state right after decoding point skipAt.
type skipPoint struct {
	off               uint16 // bits of the chunk before point skipAt+1 (chunks stay under 8 KiB)
	leading, trailing uint8
	t                 int64
	delta, v          uint64
}

// hasMid reports whether the chunk has its skip point (a chunk decoded from a checkpoint too
// long for a 16-bit offset has none, and is decoded from its start).
func (c *chunk) hasMid() bool { return c.mid.off != 0 }

// iterFrom resumes decoding after the skip point.
func (c *chunk) iterFrom() chunkIter {
	if isDecimal(c.w.b) {
		return c.decimalIterFrom()
	}
	m := &c.mid
	return chunkIter{data: c.w.b, parked: true, pos: uint(m.off), n: c.n, i: skipAt + 1,
		t: m.t, v: m.v, delta: m.delta, leading: m.leading, trailing: m.trailing}
}

func (c *chunk) full() bool { return c.n >= maxChunkPoints || len(c.w.b) >= maxChunkBytes }

// appender is the head chunk's encoder state, kept so Append continues the stream in O(1)
// without re-decoding it.
type appender struct {
	delta             uint64 // delta between the head's last two timestamps
	v                 uint64 // last value bits
	leading, trailing uint8  // current XOR window; leading is noWindow before the first
}

func newAppender() appender { return appender{leading: noWindow} }

// append adds a point to c; t must be greater than c.maxT when c is not empty.
func (a *appender) append(c *chunk, t int64, v uint64) {
	switch c.n {
	case 0:
		c.w.writeVarint(t)
		c.w.writeBits(v, 64)
		c.minT = t
	case 1:
		a.delta = uint64(t) - uint64(c.maxT)
		c.w.writeUvarint(a.delta)
		a.writeValue(&c.w, v)
	default:
		a.writeTime(&c.w, uint64(t)-uint64(c.maxT))
		a.writeValue(&c.w, v)
	}
	c.maxT = t
	c.n++
	a.v = v
	if c.n == skipAt+1 {
		c.mid = skipPoint{off: uint16(c.w.bitLen()), leading: a.leading, trailing: a.trailing,
			t: t, delta: a.delta, v: v}
	}
}

// writeTime encodes delta as a delta-of-delta against the previous delta.
func (a *appender) writeTime(w *bitWriter, delta uint64) {
	prev := a.delta
	a.delta = delta
	dod := delta - prev
	if dod == 0 {
		w.writeBits(0, 1)
		return
	}
	// dod wrapped mod 2^64; it is the true delta-of-delta only when its sign agrees with
	// the order of the deltas (e.g. deltas 1 and 2^64-1 differ by more than int64 holds).
	if (delta >= prev) == (int64(dod) >= 0) {
		for _, b := range dodBuckets {
			if fitsSigned(int64(dod), b.width) {
				w.writeBits(b.prefix, b.prefixLen)
				w.writeBits(dod, b.width)
				return
			}
		}
	}
	w.writeBits(dodEscape, dodEscapeLen)
	w.writeBits(delta, 64)
}

// fitsSigned reports whether x is representable in width-bit two's complement.
func fitsSigned(x int64, width uint) bool {
	return -1<<(width-1) <= x && x < 1<<(width-1)
}

// writeValue encodes v as the XOR with the previous value.
func (a *appender) writeValue(w *bitWriter, v uint64) {
	x := v ^ a.v
	if x == 0 {
		w.writeBits(0, 1)
		return
	}
	lead, trail := uint8(bits.LeadingZeros64(x)), uint8(bits.TrailingZeros64(x))
	if a.leading != noWindow && lead >= a.leading && trail >= a.trailing {
		w.writeBits(0b10, 2)
		w.writeBits(x>>a.trailing, 64-uint(a.leading)-uint(a.trailing))
		return
	}
	lead = min(lead, 31) // the header holds 5 bits; extra leading zeros become meaningful bits
	sig := 64 - uint(lead) - uint(trail)
	// One write for the 2-bit marker, 5-bit leading and 6-bit length (64 wraps to 0).
	w.writeBits(0b11<<11|uint64(lead)<<6|uint64(sig&63), 13)
	w.writeBits(x>>trail, sig)
	a.leading, a.trailing = lead, trail
}

// chunkIter decodes a chunk's points in order. It checks everything it reads (input length,
// window bounds, strictly increasing timestamps), since chunks may come from disk.
type chunkIter struct {
	data []byte // the whole chunk, for seek
	r    bitReader
	// parked: r is not positioned; decoding resumes at bit pos of data. seek leaves the
	// iterator so, and next positions r only if it is called: a lookup never does.
	parked            bool
	pos               uint
	n, i              int
	t                 int64
	v                 uint64
	delta             uint64
	leading, trailing uint8
	err               error
	dec               decState // a decimal chunk's state (decimaldec.go); dec.on tells
}

func (c *chunk) iter() chunkIter { return newChunkIter(c.w.b, c.n) }

func newChunkIter(b []byte, n int) chunkIter {
	it := chunkIter{data: b, r: newBitReader(b), n: n, leading: noWindow}
	if k, ok := decimalHeader(b); ok {
		it.initDecimal(k)
	}
	return it
}

// next decodes the next point into it.t and it.v; it returns false at the end or on error.
func (it *chunkIter) next() bool {
	if it.dec.on {
		return it.nextDecimal()
	}
	if it.i >= it.n || it.err != nil {
		return false
	}
	if it.parked && !it.unpark() {
		return false
	}
	var ok bool
	switch it.i {
	case 0:
		ok = it.readFirst()
	case 1:
		it.delta, ok = it.r.readUvarint()
		ok = ok && it.advance() && it.readValue()
	default:
		ok = it.readDoD() && it.advance() && it.readValue()
	}
	if !ok {
		it.err = errMalformed
		return false
	}
	it.i++
	return true
}

// unpark positions r at pos.
func (it *chunkIter) unpark() bool {
	it.parked = false
	if it.pos > uint(8*len(it.data)) {
		it.err = errMalformed
		return false
	}
	it.r = newBitReader(it.data[it.pos/8:])
	it.r.readBits(it.pos % 8)
	return true
}

// bitPos is the bit position in data where the next point starts.
func (it *chunkIter) bitPos() uint {
	if it.parked {
		return it.pos
	}
	return uint(it.r.bitsRead(len(it.data)))
}

func (it *chunkIter) readFirst() bool {
	t, ok1 := it.r.readVarint()
	v, ok2 := it.r.readBits(64)
	it.t, it.v = t, v
	return ok1 && ok2
}

// advance applies it.delta to it.t, refusing a zero delta or one that overflows int64, so a
// decoded chunk's timestamps always strictly increase.
func (it *chunkIter) advance() bool {
	t := int64(uint64(it.t) + it.delta)
	if t <= it.t {
		return false
	}
	it.t = t
	return true
}

// readDoD reads a delta-of-delta code and updates it.delta.
func (it *chunkIter) readDoD() bool {
	ones, ok := it.r.readPrefix(dodEscapeLen)
	if !ok {
		return false
	}
	switch ones {
	case 0:
		return true
	case dodEscapeLen:
		d, ok := it.r.readBits(64)
		it.delta = d
		return ok
	}
	w := dodBuckets[ones-1].width
	u, ok := it.r.readBits(w)
	dod := int64(u<<(64-w)) >> (64 - w) // sign-extend
	it.delta += uint64(dod)
	return ok
}

// readValue reads an XOR-encoded value and updates it.v.
func (it *chunkIter) readValue() bool {
	ctl, ok := it.r.readPrefix(2) // 0: same value, 1 (10): current window, 2 (11): new window
	if !ok || ctl == 0 {
		return ok
	}
	if ctl == 2 {
		hdr, ok := it.r.readBits(11)
		lead, sig := uint8(hdr>>6), uint8(hdr&63)
		if sig == 0 {
			sig = 64
		}
		if !ok || lead+sig > 64 {
			return false
		}
		it.leading, it.trailing = lead, 64-lead-sig
	} else if it.leading == noWindow {
		return false // "reuse the window" before any window was set
	}
	x, ok := it.r.readBits(64 - uint(it.leading) - uint(it.trailing))
	it.v ^= x << it.trailing
	return ok
}
