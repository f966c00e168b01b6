package chunkenc

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/taudb/tau/internal/query"
)

// decimalOf encodes pts as a decimal chunk with no size limit; false if it cannot be one.
func decimalOf(pts []point) ([]byte, bool) {
	qs := make([]query.Point, len(pts))
	for i, p := range pts {
		qs[i] = query.Point{TS: p.t, Value: p.v}
	}
	return encodeDecimal(qs, math.MaxInt)
}

// decodeAll decodes n points of data with the plain decoder.
func decodeAll(data []byte, n int) ([]point, error) {
	it := newChunkIter(data, n)
	var got []point
	for it.next() {
		got = append(got, point{it.t, it.v})
	}
	return got, it.err
}

// checkDecimal encodes pts as a decimal chunk and checks that every decoder gives them back bit
// for bit, that decodeChunk accepts exactly that chunk and that its first timestamp reads
// as ChunkMinT does; it returns the chunk.
func checkDecimal(t *testing.T, pts []point) []byte {
	t.Helper()
	data, ok := decimalOf(pts)
	if !ok {
		t.Fatalf("%d points: not encoded as a decimal chunk", len(pts))
	}
	if !isDecimal(data) {
		t.Fatalf("decimal chunk %x does not carry the tag", data)
	}
	got, err := decodeAll(data, len(pts))
	if err != nil || !slices.Equal(got, pts) {
		t.Fatalf("decimal chunk %x: decoded %d points (err %v), want %d:\n got %x\nwant %x", data, len(got), err, len(pts), got, pts)
	}
	c, _, err := decodeChunk(data, uint64(len(pts)))
	if err != nil || c.minT != pts[0].t || c.maxT != pts[len(pts)-1].t || c.n != len(pts) {
		t.Fatalf("decodeChunk: %+v, %v", c, err)
	}
	if t0, ok := ChunkMinT(data); !ok || t0 != pts[0].t {
		t.Fatalf("ChunkMinT = %d, %v; want %d", t0, ok, pts[0].t)
	}
	checkRead(t, data, len(pts))
	checkDecodeChunk(t, data, uint64(len(pts)))
	for _, p := range []point{pts[0], pts[len(pts)/2], pts[len(pts)-1]} {
		for _, ts := range []int64{p.t - 1, p.t, p.t + 1} {
			checkSeek(t, data, len(pts), ts)
		}
	}
	return data
}

// edgeValues are the value bits a decimal chunk must keep exactly, as integers or exceptions.
var edgeValues = []uint64{
	0, negZero, nanQuiet, nanPayload, nanSignal, nanNeg, posInf, negInf, allOnes,
	1,                  // the smallest subnormal
	0x000fffffffffffff, // the largest subnormal
	0x0010000000000000, // the smallest normal
	math.Float64bits(math.MaxFloat64),
	math.Float64bits(-math.MaxFloat64),
	math.Float64bits(1.5), math.Float64bits(-273.15), math.Float64bits(23.45),
	math.Float64bits(0.1 + 0.2), // 0.30000000000000004: 17 digits
	math.Float64bits(1e18), math.Float64bits(1e22), math.Float64bits(123456789012345.6),
	math.Float64bits(exactInt - 1), math.Float64bits(exactInt), math.Float64bits(-exactInt + 1),
	math.Float64bits(1e-18), math.Float64bits(5e-324),
}

// TestDecimalEdgeValues: every edge value, alone among decimals or in a run of its own, comes
// back bit for bit, whatever mode and exponent the chunk takes.
func TestDecimalEdgeValues(t *testing.T) {
	dec := func(i int) uint64 { return math.Float64bits(float64(i%50) / 100) }
	cases := map[string]func(i int, e uint64) uint64{
		"among 2-decimal values": func(i int, e uint64) uint64 {
			if i%7 == 3 {
				return e
			}
			return dec(i)
		},
		"first and last": func(i int, e uint64) uint64 { return map[bool]uint64{true: e, false: dec(i)}[i == 0 || i == 119] },
		"among integers": func(i int, e uint64) uint64 {
			return map[bool]uint64{true: e, false: math.Float64bits(float64(i))}[i == 60]
		},
		"repeated":        func(i int, e uint64) uint64 { return map[bool]uint64{true: e, false: dec(0)}[i%10 == 0] },
		"changing slowly": func(i int, e uint64) uint64 { return map[bool]uint64{true: e, false: dec(i / 10)}[i == 55] },
	}
	for name, val := range cases {
		for _, e := range edgeValues {
			pts := ramp(regularStart, regularStep, maxChunkPoints, func(i int) uint64 { return val(i, e) })
			t.Run(name, func(t *testing.T) { checkDecimal(t, pts) })
			// The edge value everywhere but one point: a decimal chunk only if it pays.
			for i := range pts {
				pts[i].v = map[bool]uint64{true: dec(i), false: e}[i == 5]
			}
			if data, ok := decimalOf(pts); ok {
				if got, err := decodeAll(data, len(pts)); err != nil || !slices.Equal(got, pts) {
					t.Fatalf("%#x everywhere but point 5: decoded %x, %v", e, got, err)
				}
			}
		}
	}
}

// TestDecimalTimestamps: timestamps at the extremes and of every spacing come back exactly;
// a first timestamp without an extended varint form is never encoded as a decimal chunk.
func TestDecimalTimestamps(t *testing.T) {
	v := func(i int) uint64 { return math.Float64bits(float64(i) / 4) }
	cases := map[string][]point{
		"regular 10 s":    ramp(regularStart, regularStep, 120, v),
		"two points":      ramp(-5, 3, 2, v),
		"255 points":      ramp(0, 1, maxDecimalPoints, v),
		"crossing zero":   ramp(-60, 1, 120, v),
		"up to MaxInt64":  append(ramp(1<<62-1, 1<<62/119, 119, v), point{math.MaxInt64, 0}),
		"from -2^62":      ramp(-1<<62, 1<<40, 120, v),
		"MinInt64/4 to 0": ramp(math.MinInt64/4, -(math.MinInt64 / 4 / 119), 120, v),
		"irregular":       fromDeltas(-5, 1, 1_000_000_007, 1, 3, 1<<50, 2, 1<<61, 1, 1, 999, 1<<33, 5),
		"delta 2^63":      {{-1 << 62, v(0)}, {1<<62 + 1<<61, v(1)}, {1<<62 + 1<<61 + 1, v(2)}},
	}
	for name, pts := range cases {
		for i := range pts {
			pts[i].v = v(i)
		}
		t.Run(name, func(t *testing.T) { checkDecimal(t, pts) })
	}
	for _, t0 := range []int64{math.MinInt64, math.MaxInt64 - 200, 1 << 62, -1<<62 - 1} {
		if _, ok := decimalOf(ramp(t0, 1, 100, v)); ok {
			t.Fatalf("first timestamp %d has a 10-byte varint: no extended form, yet encoded", t0)
		}
	}
}

// TestDecimalModes: each value mode is chosen where it is the smallest, and decodes.
func TestDecimalModes(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	cases := []struct {
		name string
		mode int
		v    func(i int) float64
	}{
		{"spread values: FOR", modeFOR, func(int) float64 { return float64(r.IntN(1000)) / 100 }},
		{"walk every point: delta", modeDelta, func(i int) float64 { return 100 + float64(i*3+r.IntN(5)) }},
		{"walk one point in ten: runs", modeRuns, func(i int) float64 { return float64(i / 10 * 37) }},
		{"walk most points: sparse", modeSparse, func(i int) float64 {
			if r.IntN(3) == 0 {
				return float64(i / 10 * 37) // most often a change, sometimes a repeat
			}
			return float64(i * 37)
		}},
	}
	for _, c := range cases {
		pts := ramp(regularStart, regularStep, 120, func(i int) uint64 { return math.Float64bits(c.v(i)) })
		data := checkDecimal(t, pts)
		k, _ := decimalHeader(data)
		if m := int(data[k+1] >> 5); m != c.mode {
			t.Errorf("%s: mode %d, want %d", c.name, m, c.mode)
		}
	}
}

// TestDecimalNotForNonDecimals: values that are not decimals (random bits, random floats) give
// no decimal chunk smaller than Gorilla's, so the series keeps Gorilla there.
func TestDecimalNotForNonDecimals(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for _, gen := range []func() uint64{r.Uint64, func() uint64 { return math.Float64bits(r.Float64()) }} {
		pts := ramp(regularStart, regularStep, 120, func(int) uint64 { return gen() })
		g := build(pts).chunks[0].w.b
		qs := make([]query.Point, len(pts))
		for i, p := range pts {
			qs[i] = query.Point{TS: p.t, Value: p.v}
		}
		if b, ok := encodeDecimal(qs, len(g)); ok {
			t.Fatalf("non-decimal values: a decimal chunk of %d bytes under Gorilla's %d", len(b), len(g))
		}
	}
}

// decimalCases are decimal chunks of every mode, exponent and spacing, with exceptions, for the
// damage and fuzz tests.
func decimalCases() [][]byte {
	r := rand.New(rand.NewPCG(9, 1))
	var out [][]byte
	vals := []func(i int) uint64{
		func(int) uint64 { return math.Float64bits(float64(r.IntN(10000)) / 100) },
		func(i int) uint64 { return math.Float64bits(float64(i*7) / 1000) },
		func(i int) uint64 { return math.Float64bits(float64(i / 10)) },
		func(i int) uint64 { return []uint64{math.Float64bits(1.25), nanPayload, negZero}[i%3] },
	}
	steps := []func() int64{
		func() int64 { return 10e9 },
		func() int64 { return 10e9 + r.Int64N(5e6) },
		func() int64 { return 1 + r.Int64N(1<<50) },
	}
	for _, val := range vals {
		for _, step := range steps {
			pts, ts := make([]point, 0, maxChunkPoints), regularStart
			for i := range maxChunkPoints {
				ts += step()
				pts = append(pts, point{ts, val(i)})
			}
			if b, ok := decimalOf(pts); ok {
				out = append(out, b)
			}
		}
	}
	return out
}

// TestDecimalRefusesDamage: a decimal chunk cut short or with any one bit flipped decodes under
// seek, Read and decodeChunk exactly as under the plain decoder: the same points or the same
// refusal, never a panic. (A flipped bit may still decode: chunk files and checkpoints carry
// CRCs for that.)
func TestDecimalRefusesDamage(t *testing.T) {
	for k, data := range decimalCases() {
		if k%4 != 0 {
			continue // a sample keeps the test short under -race; FuzzSeek covers the rest
		}
		n := maxChunkPoints
		for cut := 0; cut < len(data); cut++ {
			checkSeek(t, data[:cut], n, math.MaxInt64)
			checkRead(t, data[:cut], n)
			checkDecodeChunk(t, data[:cut], uint64(n))
		}
		for bit := 0; bit < 8*len(data); bit++ {
			d := append([]byte(nil), data...)
			d[bit/8] ^= 0x80 >> (bit % 8)
			checkSeek(t, d, n, math.MaxInt64)
			checkSeek(t, d, n, regularStart+60*regularStep)
			if bit%4 == 0 {
				checkRead(t, d, n)
				checkDecodeChunk(t, d, uint64(n))
			}
		}
		for _, k := range []int{1, 2, 119, 121, 255, 256} { // a count that does not match
			checkRead(t, data, k)
			checkDecodeChunk(t, data, uint64(k))
		}
	}
}

// TestDecimalHeaderRejects: headers no encoder writes are refused.
func TestDecimalHeaderRejects(t *testing.T) {
	pts := ramp(regularStart, regularStep, 10, func(i int) uint64 {
		if i == 1 || i == 6 {
			return nanPayload // the two exceptions
		}
		return math.Float64bits(float64(i) / 10)
	})
	good, ok := decimalOf(pts)
	if !ok {
		t.Fatal("not encoded")
	}
	k, _ := decimalHeader(good)
	exc := k + 5 // the exceptions follow base, dbase (delta modes) and dmin
	for f := range 3 {
		if f == 1 && good[k+1]>>5 == modeFOR {
			continue
		}
		_, m := binary.Uvarint(good[exc:])
		exc += m
	}
	edit := func(f func(b []byte)) []byte { b := slices.Clone(good); f(b); return b }
	cases := map[string][]byte{
		"unknown encoding 0":     edit(func(b []byte) { b[k] = 0 }),
		"unknown encoding 2":     edit(func(b []byte) { b[k] = 2 }),
		"mode 3":                 edit(func(b []byte) { b[k+1] = 3<<5 | b[k+1]&31 }),
		"exponent 19":            edit(func(b []byte) { b[k+1] = b[k+1]&^31 | 19 }),
		"value width 65":         edit(func(b []byte) { b[k+3] = 65 }),
		"time width 65":          edit(func(b []byte) { b[k+4] = 65 }),
		"more exceptions":        edit(func(b []byte) { b[k+2] = 11 }),
		"exceptions unordered":   edit(func(b []byte) { b[exc], b[exc+excEntry] = b[exc+excEntry], b[exc] }),
		"exception repeated":     edit(func(b []byte) { b[exc+excEntry] = b[exc] }),
		"exception past the end": edit(func(b []byte) { b[exc+excEntry] = 10 }),
		"trailing byte":          append(slices.Clone(good), 0),
		"header only":            good[:k+5],
	}
	if good[k+2] != 2 || good[exc] != 1 || good[exc+excEntry] != 6 {
		t.Fatalf("chunk %x: exceptions not where the test edits them", good)
	}
	for name, b := range cases {
		if _, _, err := decodeChunk(b, uint64(len(pts))); err == nil {
			t.Errorf("%s: decodeChunk accepted %x", name, b)
		}
	}
	if _, _, err := decodeChunk(good, uint64(len(pts))); err != nil {
		t.Fatalf("the unedited chunk: %v", err)
	}
}

// TestSeriesV2DecimalChunks: a series sealing decimal chunks serialises as version 2, decodes
// back, and one whose last chunk is decimal takes appends in a new head; a series of Gorilla
// chunks only still serialises as version 1.
func TestSeriesV2DecimalChunks(t *testing.T) {
	pts := ramp(regularStart, regularStep, 3*maxChunkPoints+5, func(i int) uint64 { return math.Float64bits(float64(i%40) / 8) })
	s := build(pts)
	for i := range s.Sealed() {
		if !IsDecimal(s.SealedChunk(i).Data) {
			t.Fatalf("sealed chunk %d is not decimal", i)
		}
	}
	if b := s.AppendBinary(nil); b[0] != formatV2 {
		t.Fatalf("a series with decimal chunks serialised as version %d", b[0])
	}
	roundTrip(t, s, pts)
	if b := newGorillaSeriesOf(pts).AppendBinary(nil); b[0] != formatV1 {
		t.Fatalf("a Gorilla-only series serialised as version %d", b[0])
	}
	// Only full chunks: the last one decoded is decimal, and the next append starts a head.
	raw := encodeRaw(decimalChunk(), decimalChunk2())
	raw[0] = formatV2
	d, err := DecodeSeries(raw)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := decodeAll(decimalChunk().data, maxChunkPoints)
	tail, _ := decodeAll(decimalChunk2().data, maxChunkPoints)
	want = append(want, tail...)
	checkSeries(t, d, want)
	extra := more(want, 2*maxChunkPoints+7)
	for _, p := range extra {
		d.Append(p.t, p.v)
	}
	checkSeries(t, d, append(want, extra...))
	roundTrip(t, d, append(want, extra...))
}

func newGorillaSeriesOf(pts []point) *Series {
	s := NewGorillaSeries()
	for _, p := range pts {
		s.Append(p.t, p.v)
	}
	return s
}

// decimalChunk2 is a decimal chunk of 120 points after decimalChunk's.
func decimalChunk2() rawChunk {
	pts := ramp(regularStart+maxChunkPoints*regularStep, regularStep, maxChunkPoints, func(i int) uint64 { return math.Float64bits(float64(i) / 100) })
	b, _ := decimalOf(pts)
	return rawChunk{uint64(len(pts)), b}
}
