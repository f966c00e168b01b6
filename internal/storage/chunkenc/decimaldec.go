package chunkenc

import (
	"encoding/binary"
	"math"

	"github.com/taudb/tau/internal/query"
)

// decState is a chunkIter's state over a decimal chunk (decimal.go): the header's fields and
// the integer being rebuilt. The bit reader, the point count and index, the current point and
// the error are chunkIter's own, as for a Gorilla chunk.
type decState struct {
	on      bool
	mode    uint8
	wv, wt  uint
	scale   float64 // 10^p
	base    int64
	dbase   int64
	x       int64
	dmin    uint64
	exc     []byte // exception entries not yet reached
	nextExc int    // position of the next exception; -1 once none is left
	start   int    // offset of the bit stream in the chunk
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
	d.mode, d.wv, d.wt = mp>>5, uint(b[k+3]), uint(b[k+4])
	p := int(mp & 31)
	if d.mode >= modeCount || p > maxExp || d.wv > 64 || d.wt > 64 || nexc > it.n {
		it.err = errMalformed
		return
	}
	d.scale = pow10[p]
	it.t, _ = binary.Varint(b) // the tag ended within 10 bytes: a valid varint
	pos, ok := k+5, true
	d.base, pos, ok = varintAt(b, pos, ok)
	if d.mode != modeFOR {
		d.dbase, pos, ok = varintAt(b, pos, ok)
	}
	d.dmin, pos, ok = uvarintAt(b, pos, ok)
	if !ok || !it.initExceptions(b[pos:], nexc) {
		it.err = errMalformed
		return
	}
	d.start = pos + excEntry*nexc
	d.x = d.base
	it.r = newBitReader(b[d.start:])
}

// initExceptions checks the nexc exception entries at the start of b (positions strictly
// increasing, each a point of the chunk) and points the state at the first.
func (it *chunkIter) initExceptions(b []byte, nexc int) bool {
	if len(b) < excEntry*nexc {
		return false
	}
	prev := -1
	for j := range nexc {
		at := int(b[j*excEntry])
		if at <= prev || at >= it.n {
			return false
		}
		prev = at
	}
	it.dec.exc = b[:excEntry*nexc]
	it.dec.nextExc = -1
	if nexc > 0 {
		it.dec.nextExc = int(b[0])
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

// nextDecimal is next for a decimal chunk.
func (it *chunkIter) nextDecimal() bool {
	if it.i >= it.n || it.err != nil {
		return false
	}
	d := &it.dec
	ok := true
	if it.i > 0 {
		var u uint64
		u, ok = it.r.readBits(d.wt)
		t := int64(uint64(it.t) + d.dmin + u)
		ok = ok && t > it.t // strictly increasing: refuses a zero delta or one past int64
		it.t = t
	}
	if !ok || !it.readInteger() {
		it.err = errMalformed
		return false
	}
	it.v = math.Float64bits(float64(d.x) / d.scale)
	if it.i == d.nextExc {
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
		u, ok = it.r.readBits(d.wv)
		d.x = d.base + int64(u)
	case it.i == 0: // a delta mode's first integer is its base
	case d.mode == modeDelta:
		u, ok = it.r.readBits(d.wv)
		d.x += d.dbase + int64(u)
	default:
		if changed, ok = it.r.readBits(1); changed == 1 && ok {
			u, ok = it.r.readBits(d.wv)
			d.x += d.dbase + int64(u)
		}
	}
	return ok
}

// takeException returns the value bits of the exception reached and moves to the next.
func (it *chunkIter) takeException() uint64 {
	d := &it.dec
	v := binary.BigEndian.Uint64(d.exc[1:excEntry])
	d.exc = d.exc[excEntry:]
	d.nextExc = -1
	if len(d.exc) > 0 {
		d.nextExc = int(d.exc[0])
	}
	return v
}

// readDecimal is read for a decimal chunk.
func (it *chunkIter) readDecimal(ts int64, out []query.Point) int {
	n := 0
	for n < len(out) && it.nextDecimal() {
		out[n] = query.Point{TS: it.t, Value: it.v}
		n++
		if it.t >= ts {
			break
		}
	}
	return n
}

// seekDecimal is seek for a decimal chunk.
func (it *chunkIter) seekDecimal(ts int64) bool {
	if it.i > 0 && it.t >= ts && it.err == nil {
		return true
	}
	for it.nextDecimal() {
		if it.t >= ts {
			return true
		}
	}
	return false
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
