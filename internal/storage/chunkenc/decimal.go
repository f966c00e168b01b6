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
//	wg, first modeRuns only, 1 byte each: the bit width of a gap, the first changed point
//	dmin      uvarint: the smallest timestamp delta (>= 1)
//	nexc ×    position <1b> | value bits <8b, big-endian>, positions strictly increasing
//	stream    per point, most significant bit first: from point 1 on, wt bits of
//	          delta-dmin; then the value (modeFOR: wv bits of x-base for every point; modeDelta:
//	          from point 1 on, wv bits of x(i)-x(i-1)-dbase; modeSparse: from point 1 on, one
//	          bit "changed", and when set wv bits of x(i)-x(i-1)-dbase; modeRuns: on each
//	          changed point only, wv bits of x(i)-x(i-1)-dbase and wg bits of the unchanged
//	          points before the next change); the last byte is zero-padded
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
	modeRuns   = 3 // the deltas that are not zero, each with the gap to the next
	modeCount  = 4

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

// minExp is the smallest exponent at which v is a decimal; false if none is. A value that is
// a decimal at p is within a few ulps of an integer once multiplied by 10^p, so tries far from
// one are rejected before the division that decides.
func minExp(v uint64) (int, bool) {
	f := math.Float64frombits(v)
	for p := 0; p <= maxExp; p++ {
		y := float64(f * pow10[p])
		if !(y > -exactInt && y < exactInt) {
			return 0, false // NaN, ±Inf, or past the integers: so at every larger p too
		}
		r := float64(y+roundMagic) - roundMagic
		if math.Abs(y-r) > 1e-9*math.Abs(y)+1e-12 {
			continue
		}
		if math.Float64bits(r/pow10[p]) == v {
			return p, true
		}
	}
	return 0, false
}

// decimalPlan is how a chunk is encoded as decimals, and what that costs.
type decimalPlan struct {
	p, mode     int
	nexc        int
	first       int  // modeRuns: the first changed point (n when none)
	wg          uint // modeRuns: the bit width of a gap
	base, dbase int64
	wv, wt      uint
	dmin        uint64
	streamBits  int
	size        int // bytes of the whole chunk
}

// decimalInts is a chunk's values as integers at one exponent: xs[i], or excs[i] for an
// exception, whose slot repeats the integer before it (so it costs no delta and no width).
type decimalInts struct {
	xs   [maxDecimalPoints]int64
	excs [maxDecimalPoints]bool
	nexc int
}

// encodeDecimal encodes pts (2 to 255 points, strictly increasing timestamps) as a decimal
// chunk, if that takes fewer than limit bytes; false otherwise (the caller keeps its Gorilla
// chunk).
func encodeDecimal(pts []query.Point, limit int) ([]byte, bool) {
	n := len(pts)
	if n < 2 || n > maxDecimalPoints || varintLen(pts[0].TS) >= binary.MaxVarintLen64 {
		return nil, false
	}
	cands := candidateExps(pts)
	if cands == 0 {
		return nil, false
	}
	var ints decimalInts
	times := planTimes(pts)
	best, last := decimalPlan{size: limit, p: -1}, -1
	for cands != 0 {
		p := bits.TrailingZeros32(cands)
		cands &^= 1 << p
		ints.at(pts, p)
		last = p
		if pl := ints.plan(pts, p, times); pl.size < best.size {
			best = pl
		}
	}
	if best.p < 0 {
		return nil, false
	}
	if best.p != last {
		ints.at(pts, best.p)
	}
	return best.write(pts, &ints), true
}

// anyDecimal reports whether some value of pts is a decimal.
func anyDecimal(pts []query.Point) bool {
	for _, p := range pts {
		if _, ok := minExp(p.Value); ok {
			return true
		}
	}
	return false
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

// at fills ints with pts' values as integers at exponent p.
func (ints *decimalInts) at(pts []query.Point, p int) {
	ints.nexc = 0
	prev, seen := int64(0), false
	for i := range pts {
		x, ok := toDecimal(pts[i].Value, p)
		ints.excs[i] = !ok
		if !ok {
			ints.nexc++
			x = prev
		} else if !seen { // exceptions before the first integer repeat it
			for j := range i {
				ints.xs[j] = x
			}
			seen = true
		}
		ints.xs[i], prev = x, x
	}
}

// plan is the encoding of pts at exponent p, given its integers and its timestamps' plan.
func (ints *decimalInts) plan(pts []query.Point, p int, times decimalPlan) decimalPlan {
	pl := times
	pl.p, pl.nexc = p, ints.nexc
	pl.chooseMode(ints.xs[:len(pts)])
	hdr := varintLen(pts[0].TS) + 1 + 5 + varintLen(pl.base) + uvarintLen(pl.dmin)
	if pl.mode != modeFOR {
		hdr += varintLen(pl.dbase)
	}
	if pl.mode == modeRuns {
		hdr += 2
	}
	pl.size = hdr + excEntry*pl.nexc + (pl.streamBits+7)/8
	return pl
}

// planTimes is a plan holding the timestamp deltas' base and width.
func planTimes(pts []query.Point) decimalPlan {
	lo, hi := uint64(math.MaxUint64), uint64(0)
	for i := 1; i < len(pts); i++ {
		d := uint64(pts[i].TS) - uint64(pts[i-1].TS)
		lo, hi = min(lo, d), max(hi, d)
	}
	return decimalPlan{dmin: lo, wt: uint(bits.Len64(hi - lo))}
}

// chooseMode picks the smallest of the three value modes for xs.
func (pl *decimalPlan) chooseMode(xs []int64) {
	n := len(xs)
	lo, hi := xs[0], xs[0]
	dlo, dhi := int64(math.MaxInt64), int64(math.MinInt64)
	nlo, nhi, changed := int64(math.MaxInt64), int64(math.MinInt64), 0
	first, last, maxGap := n, 0, 0
	for i := 1; i < n; i++ {
		lo, hi = min(lo, xs[i]), max(hi, xs[i])
		d := xs[i] - xs[i-1]
		dlo, dhi = min(dlo, d), max(dhi, d)
		if d != 0 {
			nlo, nhi, changed = min(nlo, d), max(nhi, d), changed+1
			if first == n {
				first = i
			} else {
				maxGap = max(maxGap, i-last-1)
			}
			last = i
		}
	}
	if changed > 0 {
		maxGap = max(maxGap, n-1-last) // the last gap runs past the end
	}
	pl.first, pl.wg = first, uint(bits.Len(uint(maxGap)))
	if changed == 0 {
		nlo, nhi = 0, 0
	}
	ts := (n - 1) * int(pl.wt)
	wFOR, wDelta, wSparse := width(lo, hi), width(dlo, dhi), width(nlo, nhi)
	costs := [modeCount]int{
		modeFOR:    8*varintLen(lo) + n*int(wFOR),
		modeDelta:  8*(varintLen(xs[0])+varintLen(dlo)) + (n-1)*int(wDelta),
		modeSparse: 8*(varintLen(xs[0])+varintLen(nlo)) + (n - 1) + changed*int(wSparse),
		modeRuns:   8*(varintLen(xs[0])+varintLen(nlo)+2) + changed*int(wSparse+pl.wg),
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
	case modeSparse:
		pl.base, pl.dbase, pl.wv = xs[0], nlo, wSparse
		pl.streamBits = ts + (n - 1) + changed*int(wSparse)
	default:
		pl.base, pl.dbase, pl.wv = xs[0], nlo, wSparse
		pl.streamBits = ts + changed*int(wSparse+pl.wg)
	}
}

// width is the bits that hold hi-lo (lo <= hi, both below 2^52 in magnitude).
func width(lo, hi int64) uint { return uint(bits.Len64(uint64(hi - lo))) }

// write encodes pts as pl planned, with their integers, into a slice of exactly pl.size bytes.
func (pl *decimalPlan) write(pts []query.Point, ints *decimalInts) []byte {
	b := make([]byte, 0, pl.size)
	b = binary.AppendVarint(b, pts[0].TS)
	b[len(b)-1] |= 0x80
	b = append(b, 0, encDecimal, byte(pl.mode<<5|pl.p), byte(pl.nexc), byte(pl.wv), byte(pl.wt))
	b = binary.AppendVarint(b, pl.base)
	if pl.mode != modeFOR {
		b = binary.AppendVarint(b, pl.dbase)
	}
	if pl.mode == modeRuns {
		b = append(b, byte(pl.wg), byte(pl.first))
	}
	b = binary.AppendUvarint(b, pl.dmin)
	for i := range pts {
		if ints.excs[i] {
			b = append(b, byte(i))
			b = binary.BigEndian.AppendUint64(b, pts[i].Value)
		}
	}
	w := packer{b: b}
	pl.writeStream(&w, pts, ints.xs[:len(pts)])
	return w.flush()
}

// writeStream writes the points' fields, most significant bit first.
func (pl *decimalPlan) writeStream(w *packer, pts []query.Point, xs []int64) {
	if pl.mode == modeFOR {
		w.put(uint64(xs[0]-pl.base), pl.wv)
	}
	for i := 1; i < len(pts); i++ {
		w.put(uint64(pts[i].TS)-uint64(pts[i-1].TS)-pl.dmin, pl.wt)
		d := xs[i] - xs[i-1]
		switch {
		case pl.mode == modeFOR:
			w.put(uint64(xs[i]-pl.base), pl.wv)
		case pl.mode == modeDelta:
			w.put(uint64(d-pl.dbase), pl.wv)
		case pl.mode == modeRuns:
			if d != 0 {
				w.put(uint64(d-pl.dbase), pl.wv)
				w.put(uint64(nextChange(xs, i)-i-1), pl.wg)
			}
		case d == 0:
			w.put(0, 1)
		default:
			w.put(1, 1)
			w.put(uint64(d-pl.dbase), pl.wv)
		}
	}
}

// nextChange is the first point after i whose integer differs from the one before it, or
// len(xs) when none does.
func nextChange(xs []int64, i int) int {
	for j := i + 1; j < len(xs); j++ {
		if xs[j] != xs[j-1] {
			return j
		}
	}
	return len(xs)
}

// packer writes bit fields most significant bit first, a 64-bit word at a time: a decimal
// chunk is written once, into a slice of its exact size.
type packer struct {
	b   []byte
	acc uint64 // pending bits, left-aligned
	n   uint   // how many
}

// put writes the low w bits of v (w <= 64, v < 2^w).
func (p *packer) put(v uint64, w uint) {
	if p.n+w < 64 {
		p.acc |= v << (64 - p.n - w)
		p.n += w
		return
	}
	r := w - (64 - p.n) // the bits of v past this word
	p.acc |= v >> r
	p.b = binary.BigEndian.AppendUint64(p.b, p.acc)
	p.n, p.acc = r, v<<(64-r) // a shift by 64 (r == 0) gives 0
}

// flush writes the pending bits, the last byte zero-padded, and returns the bytes.
func (p *packer) flush() []byte {
	for k := uint(0); k < p.n; k += 8 {
		p.b = append(p.b, byte(p.acc>>(56-k)))
	}
	return p.b
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
