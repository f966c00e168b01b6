package chunkenc

import (
	"encoding/binary"
	"math"
	"math/bits"

	"github.com/taudb/tau/internal/query"
)

// Decimal chunks: values that are decimals (23.45, 0.5, 1200) stored as integers, the way ALP
// does (Afroozeh and Boncz, "ALP: Adaptive Lossless floating-Point Compression", SIGMOD 2024).
// A Gorilla XOR of two decimals such as 23.45 and 23.46 keeps about 40 meaningful bits; the
// integers 2345 and 2346 differ by 1.
//
// Layout (docs/storage-format.md has it bit for bit):
//
//	tag       the first timestamp as a zigzag varint in its extended form (below)
//	encoding  1 byte: encDecimal
//	mode|exp  1 byte: value mode << 5 | exponent p (0..18): a value is x / 10^p
//	nexc      1 byte: exceptions
//	wv, wt    1 byte each: bit widths of a value and of a timestamp delta
//	base      varint: the FOR base (modeFOR) or the first integer (delta modes)
//	dbase     varint, delta modes only: subtracted from every stored integer delta
//	dmin      uvarint: the smallest timestamp delta (>= 1)
//	nexc ×    position <1b> | value bits <8b, big-endian>, positions strictly increasing
//	stream    per point, most significant bit first: from point 1 on, wt bits of
//	          delta-dmin; then the value (modeFOR: wv bits of x-base for every point; modeDelta:
//	          from point 1 on, wv bits of x(i)-x(i-1)-dbase; modeSparse: from point 1 on, one
//	          bit "changed", and when set wv bits of x(i)-x(i-1)-dbase); the last byte is
//	          zero-padded
//
// The tag: Go's varint encoder never ends a varint of two bytes or more with a zero byte, so no
// Gorilla chunk starts that way. A decimal chunk writes its first timestamp with the
// continuation bit set on the varint's last byte and a zero byte after it: binary.Varint reads
// the same timestamp (ChunkMinT and a file's binary search need no change), and the chunk says
// what it is without a byte outside it. That is what keeps Gorilla chunks byte for byte as they
// were. A timestamp whose varint already takes 10 bytes (beyond ±2^62) has no extended form:
// such a chunk stays Gorilla.
//
// Exactness: an integer x with |x| < 2^51 and 10^p (p <= 18, below 2^63 and exact as a float64
// up to 10^22) are exact float64s, so float64(x)/10^p is the correctly rounded quotient: the
// float64 nearest to the decimal x·10^-p, which is what parsing the decimal or rounding to p
// places with math.Round(v*10^p)/10^p gives. The encoder keeps a value as an integer only if
// that division gives back its bits exactly; anything else (NaN, ±Inf, -0, a value with more
// digits than the chunk's exponent) is an exception, kept raw.
const (
	encDecimal       = 1
	maxDecimalPoints = 255 // positions are one byte (and a chunk file's point count is)
	maxExp           = 18
	exactInt         = 1 << 51 // integers stay below it: roundHalfEven is exact there
	roundMagic       = 1 << 52 * 1.5
	decimalSamples   = 16 // values whose exponent is looked for: a chunk's candidates

	modeFOR    = 0 // frame of reference: x - base, every point
	modeDelta  = 1 // x(i) - x(i-1) - dbase
	modeSparse = 2 // a "changed" bit, and the delta only when it is not zero
	modeCount  = 3

	excEntry = 9 // an exception: position <1b>, value bits <8b>
)

var pow10 = [maxExp + 1]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18}

// toDecimal is the integer x with float64(x)/10^p == v bit for bit, if there is one below
// exactInt.
func toDecimal(v uint64, p int) (int64, bool) {
	y := float64(math.Float64frombits(v) * pow10[p]) // float64(): rounded, never fused
	if !(y > -exactInt && y < exactInt) {            // NaN fails too
		return 0, false
	}
	x := int64(float64(y+roundMagic) - roundMagic) // round half to even, exact below 2^51
	return x, math.Float64bits(float64(x)/pow10[p]) == v
}

// minExp is the smallest exponent at which v is a decimal; false if none is.
func minExp(v uint64) (int, bool) {
	for p := 0; p <= maxExp; p++ {
		if _, ok := toDecimal(v, p); ok {
			return p, true
		}
	}
	return 0, false
}

// decimalPlan is how a chunk is encoded as decimals, and what that costs.
type decimalPlan struct {
	p, mode     int
	nexc        int
	base, dbase int64
	wv, wt      uint
	dmin        uint64
	streamBits  int
	size        int // bytes of the whole chunk
	excs        [maxDecimalPoints]bool
	xs          [maxDecimalPoints]int64
}

// encodeDecimal encodes pts (at least 2, strictly increasing timestamps) as a decimal chunk,
// if that takes fewer than limit bytes; false otherwise (the caller keeps its Gorilla chunk).
func encodeDecimal(pts []query.Point, limit int) ([]byte, bool) {
	n := len(pts)
	if n < 2 || n > maxDecimalPoints || varintLen(pts[0].TS) >= binary.MaxVarintLen64 {
		return nil, false
	}
	cands := candidateExps(pts)
	if cands == 0 {
		return nil, false
	}
	var best, pl decimalPlan
	best.size = limit
	for cands != 0 {
		p := bits.TrailingZeros32(cands)
		cands &^= 1 << p
		pl.plan(pts, p)
		if pl.size < best.size {
			best = pl
		}
	}
	if best.size >= limit {
		return nil, false
	}
	return best.write(pts), true
}

// candidateExps is the set (bit p for exponent p) of the smallest exponents of a sample of
// pts' values: ALP's way of keeping the search to a few exponents a chunk.
func candidateExps(pts []query.Point) uint32 {
	var set uint32
	n := len(pts)
	k := min(n, decimalSamples)
	for j := range k {
		if p, ok := minExp(pts[j*n/k].Value); ok {
			set |= 1 << p
		}
	}
	return set
}

// plan fills pl with the encoding of pts at exponent p and its size.
func (pl *decimalPlan) plan(pts []query.Point, p int) {
	n := len(pts)
	pl.p, pl.nexc = p, 0
	first := -1
	for i := range pts {
		x, ok := toDecimal(pts[i].Value, p)
		pl.excs[i] = !ok
		if !ok {
			pl.nexc++
			continue
		}
		pl.xs[i] = x
		if first < 0 {
			first = i
		}
	}
	// An exception's integer slot repeats its neighbour's, so it costs no delta and no width.
	fill := int64(0)
	if first >= 0 {
		fill = pl.xs[first]
	}
	for i := range pts {
		if pl.excs[i] {
			pl.xs[i] = fill
		}
		fill = pl.xs[i]
	}
	pl.planTimes(pts)
	pl.chooseMode(n)
	hdr := varintLen(pts[0].TS) + 1 + 5 + varintLen(pl.base) + uvarintLen(pl.dmin)
	if pl.mode != modeFOR {
		hdr += varintLen(pl.dbase)
	}
	pl.size = hdr + excEntry*pl.nexc + (pl.streamBits+7)/8
}

// planTimes sets the timestamp deltas' base and width.
func (pl *decimalPlan) planTimes(pts []query.Point) {
	lo, hi := uint64(math.MaxUint64), uint64(0)
	for i := 1; i < len(pts); i++ {
		d := uint64(pts[i].TS) - uint64(pts[i-1].TS)
		lo, hi = min(lo, d), max(hi, d)
	}
	pl.dmin, pl.wt = lo, uint(bits.Len64(hi-lo))
}

// chooseMode picks the smallest of the three value modes for pl.xs.
func (pl *decimalPlan) chooseMode(n int) {
	xs := pl.xs[:n]
	lo, hi := xs[0], xs[0]
	dlo, dhi := int64(math.MaxInt64), int64(math.MinInt64)
	nlo, nhi, changed := int64(math.MaxInt64), int64(math.MinInt64), 0
	for i := 1; i < n; i++ {
		lo, hi = min(lo, xs[i]), max(hi, xs[i])
		d := xs[i] - xs[i-1]
		dlo, dhi = min(dlo, d), max(dhi, d)
		if d != 0 {
			nlo, nhi, changed = min(nlo, d), max(nhi, d), changed+1
		}
	}
	if changed == 0 {
		nlo, nhi = 0, 0
	}
	ts := (n - 1) * int(pl.wt)
	wFOR, wDelta, wSparse := width(lo, hi), width(dlo, dhi), width(nlo, nhi)
	costs := [modeCount]int{
		modeFOR:    8*varintLen(lo) + n*int(wFOR),
		modeDelta:  8*(varintLen(xs[0])+varintLen(dlo)) + (n-1)*int(wDelta),
		modeSparse: 8*(varintLen(xs[0])+varintLen(nlo)) + (n - 1) + changed*int(wSparse),
	}
	pl.mode = modeFOR
	for m := range costs {
		if costs[m] < costs[pl.mode] {
			pl.mode = m
		}
	}
	switch pl.mode {
	case modeFOR:
		pl.base, pl.dbase, pl.wv = lo, 0, wFOR
		pl.streamBits = ts + n*int(wFOR)
	case modeDelta:
		pl.base, pl.dbase, pl.wv = xs[0], dlo, wDelta
		pl.streamBits = ts + (n-1)*int(wDelta)
	default:
		pl.base, pl.dbase, pl.wv = xs[0], nlo, wSparse
		pl.streamBits = ts + (n - 1) + changed*int(wSparse)
	}
}

// width is the bits that hold hi-lo (lo <= hi, both below 2^52 in magnitude).
func width(lo, hi int64) uint { return uint(bits.Len64(uint64(hi - lo))) }

// write encodes pts as pl planned, into a slice of exactly pl.size bytes.
func (pl *decimalPlan) write(pts []query.Point) []byte {
	var scratch [1280]byte // bitWriter appends 8 bytes at a time: room, then one exact copy
	w := bitWriter{b: scratch[:0]}
	if pl.size+8 > len(scratch) {
		w.b = make([]byte, 0, pl.size+8)
	}
	w.b = binary.AppendVarint(w.b, pts[0].TS)
	w.b[len(w.b)-1] |= 0x80
	w.b = append(w.b, 0, encDecimal, byte(pl.mode<<5|pl.p), byte(pl.nexc), byte(pl.wv), byte(pl.wt))
	w.b = binary.AppendVarint(w.b, pl.base)
	if pl.mode != modeFOR {
		w.b = binary.AppendVarint(w.b, pl.dbase)
	}
	w.b = binary.AppendUvarint(w.b, pl.dmin)
	for i := range pts {
		if pl.excs[i] {
			w.b = append(w.b, byte(i))
			w.b = binary.BigEndian.AppendUint64(w.b, pts[i].Value)
		}
	}
	pl.writeStream(&w, pts)
	return append(make([]byte, 0, len(w.b)), w.b...)
}

func (pl *decimalPlan) writeStream(w *bitWriter, pts []query.Point) {
	xs := pl.xs[:len(pts)]
	if pl.mode == modeFOR {
		w.writeBits(uint64(xs[0]-pl.base), pl.wv)
	}
	for i := 1; i < len(pts); i++ {
		w.writeBits(uint64(pts[i].TS)-uint64(pts[i-1].TS)-pl.dmin, pl.wt)
		d := xs[i] - xs[i-1]
		switch {
		case pl.mode == modeFOR:
			w.writeBits(uint64(xs[i]-pl.base), pl.wv)
		case pl.mode == modeDelta:
			w.writeBits(uint64(d-pl.dbase), pl.wv)
		case d == 0:
			w.writeBits(0, 1)
		default:
			w.writeBits(1, 1)
			w.writeBits(uint64(d-pl.dbase), pl.wv)
		}
	}
}

func varintLen(x int64) int {
	var buf [binary.MaxVarintLen64]byte
	return binary.PutVarint(buf[:], x)
}

func uvarintLen(x uint64) int {
	var buf [binary.MaxVarintLen64]byte
	return binary.PutUvarint(buf[:], x)
}

// decimalHeader is where a decimal chunk's encoding byte is: the length of its tagged first
// timestamp. ok is false for a chunk without the tag (a Gorilla chunk, or too short to say).
func decimalHeader(b []byte) (k int, ok bool) {
	for i := 0; i < len(b) && i < binary.MaxVarintLen64; i++ {
		if b[i] < 0x80 {
			return i + 1, i > 0 && b[i] == 0
		}
	}
	return 0, false
}

// isDecimal reports whether b is a tagged chunk (decimal, or damaged into looking like one).
func isDecimal(b []byte) bool {
	_, ok := decimalHeader(b)
	return ok
}
