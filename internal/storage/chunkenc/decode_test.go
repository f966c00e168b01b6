package chunkenc

import (
	"math"
	"testing"
)

// decodeChunkPlain is what decodeChunk must match: every point through next, one at a time
// with the bit reader, as chunks were decoded before decodeChunk read runs of them.
func decodeChunkPlain(data []byte, n uint64) (chunk, appender, error) {
	if n == 0 || n > 4*uint64(len(data)) && (n > maxDecimalPoints || !isDecimal(data)) {
		return chunk{}, appender{}, errMalformed
	}
	it := newChunkIter(data, int(n))
	c := chunk{n: int(n)}
	for it.next() {
		switch it.i {
		case 1:
			c.minT = it.t
		case skipAt + 1:
			if it.dec.on {
				c.mid, _ = it.decimalMid()
				break
			}
			if it.bitPos() > math.MaxUint16 {
				break
			}
			c.mid = skipPoint{off: uint16(it.bitPos()), leading: it.leading,
				trailing: it.trailing, t: it.t, delta: it.delta, v: it.v}
		}
	}
	return finishChunk(c, &it, data)
}

// checkDecodeChunk compares decodeChunk with decodeChunkPlain: the same chunk, skip point and
// appender state, or the same refusal.
func checkDecodeChunk(t *testing.T, data []byte, n uint64) {
	t.Helper()
	c, a, err := decodeChunk(data, n)
	wc, wa, werr := decodeChunkPlain(data, n)
	if (err == nil) != (werr == nil) || a != wa || c.n != wc.n || c.minT != wc.minT || c.maxT != wc.maxT ||
		c.mid != wc.mid || c.w.free != wc.w.free || len(c.w.b) != len(wc.w.b) {
		t.Fatalf("decodeChunk of %d points of %x: %+v %+v %v; one point at a time: %+v %+v %v", n, data, c, a, err, wc, wa, werr)
	}
}

// TestDecodeChunkMatchesPlain: on every seek case, whole, cut short and with bits flipped,
// decodeChunk decodes exactly what next does one point at a time.
func TestDecodeChunkMatchesPlain(t *testing.T) {
	for k, pts := range seekCases() {
		c := &build(pts).chunks[0]
		checkDecodeChunk(t, c.w.b, uint64(c.n))
		for i := 1; i < c.n; i++ {
			checkDecodeChunk(t, c.w.b, uint64(i))
		}
		if k%5 != 0 {
			continue // a sample keeps the test short
		}
		for cut := 0; cut < len(c.w.b); cut++ {
			checkDecodeChunk(t, c.w.b[:cut], uint64(c.n))
		}
		for bit := 0; bit < 8*len(c.w.b); bit++ {
			data := append([]byte(nil), c.w.b...)
			data[bit/8] ^= 0x80 >> (bit % 8)
			checkDecodeChunk(t, data, uint64(c.n))
		}
	}
}

// FuzzDecodeChunk: on any bytes and count, decodeChunk agrees with the plain decoder.
func FuzzDecodeChunk(f *testing.F) {
	for _, pts := range seekCases()[:8] {
		c := &build(pts).chunks[0]
		f.Add(c.w.b, uint8(c.n))
	}
	for _, b := range decimalCases() {
		f.Add(b, uint8(maxChunkPoints))
	}
	f.Fuzz(func(t *testing.T, data []byte, n uint8) {
		checkDecodeChunk(t, data, uint64(n))
	})
}
