package chunkenc

import (
	"encoding/binary"
	"math"

	"github.com/taudb/tau/internal/query"
)

// decState is a chunkIter's state over a decimal chunk (decimal.go): the header's fields and
// the integer being rebuilt. The bit reader, the point count and index, the current point and
// the error are chunkIter's own, as for a Gorilla chunk. Offsets are 16-bit: a decimal chunk
// of 255 points takes at most 255 × (64+1+64) bits, 255 exceptions and a header, under 7 KiB.
type decState struct {
	on             bool
	mode, p        uint8
	wv, wt, wg     uint8
	nextChange     int16  // modeRuns: the next changed point (>= the points: none)
	excs           uint8  // exceptions reached so far
	nextExc        int16  // position of the next exception; -1 once none is left
	excOff, start  uint16 // offsets in the chunk of the next exception entry and of the stream
	excEnd         uint16
	base, dbase, x int64
	dmin           uint64
}

// initDecimal reads the header of the decimal chunk it.data, whose tagged first timestamp
// takes k bytes, and leaves it before point 0; on damage it sets it.err.
func (it *chunkIter) initDecimal(k int) {
	d, b := &it.dec, it.data
	d.on = true
	if it.n < 2 || it.n > maxDecimalPoints || len(b) < k+5 || b[k] != encDecimal {
		it.err = errMalformed
		return
	}
	mp, nexc := b[k+1], int(b[k+2])
	d.mode, d.p, d.wv, d.wt = mp>>5, mp&31, b[k+3], b[k+4]
	if d.mode >= modeCount || d.p > maxExp || d.wv > 64 || d.wt > 64 || nexc > it.n {
		it.err = errMalformed
		return
	}
	it.t, _ = binary.Varint(b) // the tag ended within 10 bytes: a valid varint
	pos, ok := k+5, true
	d.base, pos, ok = varintAt(b, pos, ok)
	if d.mode != modeFOR {
		d.dbase, pos, ok = varintAt(b, pos, ok)
	}
	if d.mode == modeRuns {
		if ok = ok && pos+2 <= len(b) && b[pos] <= 64 && b[pos+1] >= 1; ok {
			d.wg, d.nextChange = b[pos], int16(b[pos+1])
			pos += 2
		}
	}
	d.dmin, pos, ok = uvarintAt(b, pos, ok)
	end := pos + excEntry*nexc
	if !ok || end > len(b) || end > math.MaxUint16 || !it.checkExceptions(b[pos:end]) {
		it.err = errMalformed
		return
	}
	d.excOff, d.excEnd, d.start = uint16(pos), uint16(end), uint16(end)
	d.nextExc = -1
	if nexc > 0 {
		d.nextExc = int16(b[pos])
	}
	d.x = d.base
	it.r = newBitReader(b[end:])
}

// checkExceptions checks the exception entries e: positions strictly increasing, each a point
// of the chunk.
func (it *chunkIter) checkExceptions(e []byte) bool {
	prev := -1
	for j := 0; j < len(e); j += excEntry {
		at := int(e[j])
		if at <= prev || at >= it.n {
			return false
		}
		prev = at
	}
	return true
}

func varintAt(b []byte, pos int, ok bool) (int64, int, bool) {
	if !ok || pos > len(b) {
		return 0, pos, false
	}
	x, k := binary.Varint(b[pos:])
	return x, pos + k, k > 0
}

func uvarintAt(b []byte, pos int, ok bool) (uint64, int, bool) {
	if !ok || pos > len(b) {
		return 0, pos, false
	}
	x, k := binary.Uvarint(b[pos:])
	return x, pos + k, k > 0
}

// nextDecimal is next for a decimal chunk: the plain decoder, field by field through the bit
// reader, which decodeDecimal must match.
func (it *chunkIter) nextDecimal() bool {
	if it.i >= it.n || it.err != nil {
		return false
	}
	d := &it.dec
	ok := true
	if it.i > 0 {
		var u uint64
		u, ok = it.r.readBits(uint(d.wt))
		t := int64(uint64(it.t) + d.dmin + u)
		ok = ok && t > it.t // strictly increasing: refuses a zero delta or one past int64
		it.t = t
	}
	if !ok || !it.readInteger() {
		it.err = errMalformed
		return false
	}
	it.v = math.Float64bits(float64(d.x) / pow10[d.p])
	if it.i == int(d.nextExc) {
		it.v = it.takeException()
	}
	it.i++
	return true
}

// readInteger reads point it.i's integer into it.dec.x.
func (it *chunkIter) readInteger() bool {
	d := &it.dec
	var u, changed uint64
	ok := true
	switch {
	case d.mode == modeFOR:
		u, ok = it.r.readBits(uint(d.wv))
		d.x = d.base + int64(u)
	case it.i == 0: // a delta mode's first integer is its base
	case d.mode == modeDelta:
		u, ok = it.r.readBits(uint(d.wv))
		d.x += d.dbase + int64(u)
	case d.mode == modeRuns:
		if it.i == int(d.nextChange) {
			var g uint64
			u, ok = it.r.readBits(uint(d.wv))
			g, ok2 := it.r.readBits(uint(d.wg))
			d.x += d.dbase + int64(u)
			d.nextChange, ok = afterGap(it.i, g), ok && ok2
		}
	default:
		if changed, ok = it.r.readBits(1); changed == 1 && ok {
			u, ok = it.r.readBits(uint(d.wv))
			d.x += d.dbase + int64(u)
		}
	}
	return ok
}

// takeException returns the value bits of the exception reached and moves to the next.
func (it *chunkIter) takeException() uint64 {
	d := &it.dec
	v := binary.BigEndian.Uint64(it.data[d.excOff+1:])
	d.excOff += excEntry
	d.excs++
	d.nextExc = -1
	if d.excOff < d.excEnd {
		d.nextExc = int16(it.data[d.excOff])
	}
	return v
}

// skipExceptions moves past the first k exceptions (a skip point's).
func (it *chunkIter) skipExceptions(k int) bool {
	d := &it.dec
	off := int(d.excOff) + k*excEntry
	if off > int(d.excEnd) {
		return false
	}
	d.excOff, d.excs, d.nextExc = uint16(off), uint8(k), -1
	if off < int(d.excEnd) {
		d.nextExc = int16(it.data[off])
	}
	return true
}

// readDecimal is read for a decimal chunk.
func (it *chunkIter) readDecimal(ts int64, out []query.Point) int {
	n, _ := it.decodeDecimal(ts, out, 1)
	return n
}

// seekDecimal is seek for a decimal chunk.
func (it *chunkIter) seekDecimal(ts int64) bool {
	if it.i > 0 && it.t >= ts && it.err == nil {
		return true
	}
	if found, ok := it.jumpDecimal(ts); ok {
		return found
	}
	var last [1]query.Point
	_, found := it.decodeDecimal(ts, last[:], 0)
	return found
}

// jumpDecimal is seek without decoding the points before the one it finds, where that needs
// no scan: timestamps that take no bits (a regular series: point i is at t0 + i·dmin) and
// values in modeFOR (point i's bits are at a fixed place) or modeRuns (only the changes
// before it are read). It leaves the iterator exactly as decodeDecimal would; ok is false
// where it does not apply (the caller then decodes point by point), including when the point
// would lie past the chunk, so that the points left are still checked for damage.
func (it *chunkIter) jumpDecimal(ts int64) (found, ok bool) {
	d := &it.dec
	if d.wt != 0 || (d.mode != modeFOR && d.mode != modeRuns) || it.err != nil || it.i >= it.n {
		return false, false
	}
	cur, t := max(it.i-1, 0), it.t // the last point decoded (or point 0, not yet decoded)
	k := cur
	if t < ts {
		diff := uint64(ts) - uint64(t)
		steps := diff / max(d.dmin, 1)
		if diff%max(d.dmin, 1) != 0 {
			steps++
		}
		room := uint64(math.MaxInt64) - uint64(t) // MaxInt64 - t, which int64 may not hold
		if d.dmin == 0 || steps >= uint64(it.n-cur) || room/d.dmin < steps {
			return false, false // past the chunk, or a timestamp that does not increase
		}
		k = cur + int(steps)
		t = int64(uint64(t) + steps*d.dmin)
	}
	stream := it.data[d.start:]
	pos := uint(it.r.bitsRead(len(stream)))
	wv := uint(d.wv)
	x, next := d.x, d.nextChange // state changes only once the jump is sure to succeed
	if d.mode == modeFOR {
		pos += uint(k+1-it.i) * wv
		if pos > uint(8*len(stream)) {
			return false, false
		}
		x = d.base + int64(bitsAt(stream, pos-wv, wv))
	} else {
		wg := uint(d.wg)
		for int(next) <= k {
			if pos+wv+wg > uint(8*len(stream)) {
				return false, false
			}
			x += d.dbase + int64(bitsAt(stream, pos, wv))
			next = afterGap(int(next), bitsAt(stream, pos+wv, wg))
			pos += wv + wg
		}
	}
	d.x, d.nextChange = x, next
	it.v = toFloat(d.x, pow10[d.p])
	for d.nextExc >= 0 && int(d.nextExc) <= k {
		at := int(d.nextExc)
		if v := it.takeException(); at == k {
			it.v = v
		}
	}
	it.i, it.t = k+1, t
	it.r = newBitReader(stream[pos/8:])
	it.r.readBits(pos % 8)
	return true, true
}

// bitsAt is the n bits (0 <= n <= 64) at bit pos of b, whose bits end at or after pos+n.
func bitsAt(b []byte, pos, n uint) uint64 {
	if k := pos / 8; k+16 <= uint(len(b)) {
		return readN0(b, pos, n)
	}
	var tail [24]byte
	copy(tail[:], b[pos/8:])
	return readN0(tail[:], pos%8, n)
}

// decReach is how many bytes past a point's first byte its decoding may load: the widest point
// is 64+64+64 bits (modeRuns: time, delta, gap; within 25 bytes of its first byte, whatever its
// bit offset), and each load reads 8 bytes.
const decReach = 25 + 8

// decodeDecimal is nextDecimal for a run of points, as decode is for Gorilla chunks: the same
// points and the same checks, with the state in locals and each field read by a load at a bit
// position instead of through the bit reader. It stops after the first point at or after ts
// (found), at the chunk's end, on damage (it.err), or, when step is 1, once out is full; with
// step 1 it stores the points in out and returns how many. With step 0 (seek) it computes only
// the last point's value, into out[0]: a lookup divides once, not once a point. The iterator
// is left on the last point decoded, its reader after it.
func (it *chunkIter) decodeDecimal(ts int64, out []query.Point, step int) (n int, found bool) {
	if it.i >= it.n || it.err != nil || len(out) == 0 {
		return 0, false
	}
	d := &it.dec
	stream := it.data[d.start:]
	// b is the stream or, near its end, a zero-padded copy of the rest (tail), so that every
	// load stays in bounds; pos and end are bit positions in b, base the bytes before b.
	var tail [2 * decReach]byte
	b, base := stream, uint(0)
	pos, end := uint(it.r.bitsRead(len(stream))), uint(8*len(stream))
	t, x := it.t, d.x
	wt, wv, mode, dmin, dbase, scale := uint(d.wt), uint(d.wv), d.mode, d.dmin, d.dbase, pow10[d.p]
	stop := it.n
	if step != 0 {
		stop = min(stop, it.i+len(out))
	}
	first, ok, exc, excV := it.i, true, false, uint64(0)
	nextExc, nextChange, wg := int(d.nextExc), int(d.nextChange), uint(d.wg)
	i := it.i
	for ; i < stop && ok && !found; i++ {
		if k := pos >> 3; k+decReach > uint(len(b)) {
			clear(tail[copy(tail[:], b[k:]):])
			b, base, pos, end = tail[:], base+k, pos-8*k, end-8*k
		}
		// One load usually serves the whole point: w holds the next avail bits (at least 57),
		// consumed from the top; a field that does not fit is read from b instead. A regular
		// series in modeRuns reads nothing but its changes.
		var w uint64
		var avail uint
		if wt != 0 || mode != modeRuns {
			w, avail = peek(b, pos), 64-pos&7
		}
		if i > 0 {
			step := dmin
			if wt != 0 { // a regular series' timestamps take no bits
				if wt <= avail {
					step += w >> (64 - wt)
					w, avail = w<<(wt&63), avail-wt
				} else {
					step += readN0(b, pos, wt)
					avail = 0
				}
				pos += wt
			}
			nt := int64(uint64(t) + step)
			ok = nt > t
			t = nt
		}
		if avail < 1+wv && mode != modeRuns {
			w, avail = peek(b, pos), 64-pos&7
		}
		switch {
		case mode == modeFOR:
			x = d.base + int64(field(w, avail, b, pos, wv))
			pos += wv
		case i == 0:
		case mode == modeDelta:
			x += dbase + int64(field(w, avail, b, pos, wv))
			pos += wv
		case mode == modeRuns:
			if i == nextChange {
				x += dbase + int64(readN0(b, pos, wv))
				nextChange = int(afterGap(i, readN0(b, pos+wv, wg)))
				pos += wv + wg
			}
		case w>>63 == 0:
			pos++
		default:
			x += dbase + int64(field(w<<1, avail-1, b, pos+1, wv))
			pos += 1 + wv
		}
		if exc = i == nextExc; exc {
			excV = it.takeException()
			nextExc = int(d.nextExc)
		}
		ok = ok && pos <= end
		found = t >= ts
		if step != 0 {
			v := toFloat(x, scale)
			if exc {
				v = excV
			}
			out[i-first] = query.Point{TS: t, Value: v}
		}
	}
	n = (i - first) * step
	it.i, it.t, d.x, d.nextChange = i, t, x, int16(nextChange)
	it.v = toFloat(x, scale)
	if exc {
		it.v = excV
	}
	if !ok {
		it.err = errMalformed
		return n - step, false // the point that failed was stored last
	}
	if step == 0 {
		out[0] = query.Point{TS: t, Value: it.v}
	}
	pos += 8 * base
	it.r = newBitReader(stream[pos/8:])
	it.r.readBits(pos % 8)
	return n, found
}

// afterGap is the changed point after point i when g unchanged ones follow it; past any
// chunk (a count of 255 points at most) when g is larger.
func afterGap(i int, g uint64) int16 {
	return int16(i + 1 + int(min(g, 1000)))
}

// field is the n bits at the top of w, which holds avail bits from bit pos of b on, or, when
// they are not all there, read from b.
func field(w uint64, avail uint, b []byte, pos, n uint) uint64 {
	if n <= avail {
		return w >> (64 - n) // a shift by 64 gives 0
	}
	return readN0(b, pos, n)
}

// toFloat is the bits of float64(x) / scale. Dividing by 1 changes nothing, so integers
// (exponent 0) skip the division.
func toFloat(x int64, scale float64) uint64 {
	if scale == 1 {
		return math.Float64bits(float64(x))
	}
	return math.Float64bits(float64(x) / scale)
}

// readN0 is readN that also reads no bits (n == 0) as 0.
func readN0(b []byte, pos, n uint) uint64 {
	if n <= 57 {
		return peek(b, pos) >> (64 - n) // a shift by 64 gives 0
	}
	return peek(b, pos)>>32<<(n-32) | peek(b, pos+32)>>(96-n)
}

// decimalMid is the skip point of an iterator right after point skipAt of a decimal chunk:
// the bit position in the chunk, the exceptions passed, and the point's time, integer and
// value.
func (it *chunkIter) decimalMid() (skipPoint, bool) {
	pos := 8*int(it.dec.start) + it.r.bitsRead(len(it.data)-int(it.dec.start))
	if pos > math.MaxUint16 {
		return skipPoint{}, false
	}
	// trailing: modeRuns' next changed point, counted from the next point (255: past any chunk)
	next := uint8(min(int(it.dec.nextChange)-it.i, 255))
	return skipPoint{off: uint16(pos), leading: it.dec.excs, trailing: next, t: it.t,
		delta: uint64(it.dec.x), v: it.v}, true
}

// decimalIterFrom resumes decoding a decimal chunk after its skip point.
func (c *chunk) decimalIterFrom() chunkIter {
	it := newChunkIter(c.w.b, c.n)
	m := &c.mid
	if it.err != nil || !it.skipExceptions(int(m.leading)) {
		it.err = errMalformed
		return it
	}
	it.i, it.t, it.v, it.dec.x = skipAt+1, m.t, m.v, int64(m.delta)
	if it.dec.mode == modeRuns {
		it.dec.nextChange = int16(skipAt + 1 + int(m.trailing))
	}
	it.r = newBitReader(c.w.b[m.off/8:])
	it.r.readBits(uint(m.off % 8))
	return it
}

// finishDecimal is finishChunk for a decimal chunk: its stream must end in its last byte, the
// padding zero.
func finishDecimal(c chunk, it *chunkIter, data []byte) (chunk, appender, error) {
	if it.err != nil {
		return chunk{}, appender{}, it.err
	}
	stream := data[it.dec.start:]
	used := it.r.bitsRead(len(stream))
	free := uint8((8 - used%8) % 8)
	if (used+7)/8 != len(stream) || (free > 0 && stream[len(stream)-1]&(1<<free-1) != 0) {
		return chunk{}, appender{}, errMalformed
	}
	c.maxT = it.t
	c.w = bitWriter{b: data}
	return c, appender{}, nil
}
