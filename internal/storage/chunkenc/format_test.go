package chunkenc

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
	"testing"
)

// rawChunk is a hand-made chunk for feeding DecodeSeries malformed input.
type rawChunk struct {
	n    uint64
	data []byte
}

func encodeRaw(chunks ...rawChunk) []byte {
	b := []byte{formatV1}
	b = binary.AppendUvarint(b, uint64(len(chunks)))
	for _, c := range chunks {
		b = binary.AppendUvarint(b, c.n)
		b = binary.AppendUvarint(b, uint64(len(c.data)))
		b = append(b, c.data...)
	}
	return b
}

// stream builds a chunk bit stream from calls on a bitWriter.
func stream(f func(w *bitWriter)) []byte {
	var w bitWriter
	f(&w)
	return w.b
}

// chunkOf returns the single chunk of a series holding pts.
func chunkOf(pts ...point) rawChunk {
	s := build(pts)
	return rawChunk{uint64(s.chunks[0].n), s.chunks[0].w.b}
}

// decimalChunk is a decimal chunk of 120 points.
func decimalChunk() rawChunk {
	pts := ramp(regularStart, regularStep, maxChunkPoints, func(i int) uint64 { return math.Float64bits(float64(i) / 4) })
	b, ok := decimalOf(pts)
	if !ok {
		panic("not a decimal chunk")
	}
	return rawChunk{uint64(len(pts)), b}
}

func TestDecodeRejects(t *testing.T) {
	good := chunkOf(point{10, 1}, point{20, 2}, point{30, 3})
	first := func(w *bitWriter) { w.writeVarint(10); w.writeBits(7, 64) }
	cases := []struct {
		name string
		in   []byte
	}{
		{"nil", nil},
		{"version 0", []byte{0, 0}},
		{"version 3", []byte{3, 0}},
		{"decimal chunk in version 1", encodeRaw(decimalChunk())},
		{"no chunk count", []byte{formatV1}},
		{"chunk count overflows", append([]byte{formatV1}, bytes.Repeat([]byte{0xff}, 11)...)},
		{"missing chunk", []byte{formatV1, 1}},
		{"chunk of zero points", encodeRaw(rawChunk{0, nil})},
		{"chunk size past end", append([]byte{formatV1, 1, 3, 200}, good.data...)},
		// Not 4: zero padding bits read as "same delta, same value", a valid 4th point.
		{"more points than data", encodeRaw(rawChunk{10, good.data})},
		{"huge point count", encodeRaw(rawChunk{math.MaxUint64, good.data})},
		{"fewer points than data", encodeRaw(rawChunk{2, good.data})},
		{"extra byte in chunk", encodeRaw(rawChunk{3, append(slices.Clone(good.data), 0)})},
		{"nonzero padding", encodeRaw(rawChunk{1, stream(func(w *bitWriter) { first(w); w.writeBits(1, 1) })})},
		{"trailing bytes", append(encodeRaw(good), 0)},
		{"chunks out of order", encodeRaw(good, chunkOf(point{5, 1}))},
		{"chunks overlap", encodeRaw(good, chunkOf(point{30, 1}, point{40, 1}))},
		{"zero delta", encodeRaw(rawChunk{2, stream(func(w *bitWriter) {
			first(w)
			w.writeUvarint(0)
			w.writeBits(0, 1)
		})})},
		{"delta overflows int64", encodeRaw(rawChunk{2, stream(func(w *bitWriter) {
			w.writeVarint(math.MaxInt64 - 1)
			w.writeBits(7, 64)
			w.writeUvarint(2)
			w.writeBits(0, 1)
		})})},
		{"negative delta via dod", encodeRaw(rawChunk{3, stream(func(w *bitWriter) {
			first(w)
			w.writeUvarint(5)
			w.writeBits(0, 1)
			w.writeBits(0b10, 2)
			w.writeBits(uint64(0x3fff&-10), 14) // dod -10: delta becomes -5
			w.writeBits(0, 1)
		})})},
		{"window reused before set", encodeRaw(rawChunk{2, stream(func(w *bitWriter) {
			first(w)
			w.writeUvarint(1)
			w.writeBits(0b10, 2)
			w.writeBits(1, 8)
		})})},
		{"window wider than 64 bits", encodeRaw(rawChunk{2, stream(func(w *bitWriter) {
			first(w)
			w.writeUvarint(1)
			w.writeBits(0b11<<11|31<<6|40, 13)
			w.writeBits(1, 40)
		})})},
		{"varint timestamp too long", encodeRaw(rawChunk{1, bytes.Repeat([]byte{0xff}, 19)})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if s, err := DecodeSeries(tc.in); err == nil {
				t.Fatalf("decoded %d points from malformed input %x", s.Len(), tc.in)
			}
		})
	}
}

// TestDecodeTruncated: every proper prefix of a valid encoding is an error, so a torn
// checkpoint write is always noticed.
func TestDecodeTruncated(t *testing.T) {
	enc := build(ramp(-1e9, 1e6, 400, func(i int) uint64 { return specials[i%len(specials)] })).AppendBinary(nil)
	for i := range enc {
		if _, err := DecodeSeries(enc[:i]); err == nil {
			t.Fatalf("prefix of %d/%d bytes decoded", i, len(enc))
		}
	}
}

// TestReadSeriesConcatenated: the format is self-delimiting, so series can sit back to back.
func TestReadSeriesConcatenated(t *testing.T) {
	series := [][]point{
		ramp(0, 10, 300, func(i int) uint64 { return uint64(i) }),
		nil,
		{{math.MinInt64, nanPayload}, {math.MaxInt64, negZero}},
	}
	var buf []byte
	for _, pts := range series {
		buf = build(pts).AppendBinary(buf)
	}
	for i, pts := range series {
		s, rest, err := ReadSeries(buf)
		if err != nil {
			t.Fatalf("series %d: %v", i, err)
		}
		checkSeries(t, s, pts)
		buf = rest
	}
	if len(buf) != 0 {
		t.Fatalf("%d bytes left over", len(buf))
	}
}

// fuzzSeeds are valid encodings covering the format's branches, plus a few broken ones.
func fuzzSeeds() [][]byte {
	seeds := [][]byte{nil, {formatV1}, {formatV1, 0}, {formatV1, 1, 1, 9}, {2, 0}}
	for _, pts := range [][]point{
		nil,
		{{0, 0}},
		{{math.MinInt64, nanPayload}, {math.MaxInt64, negZero}},
		fromDeltas(math.MinInt64, bucketEdges()...),
		ramp(1_700_000_000e9, 10e9, 300, func(i int) uint64 { return specials[(i/7)%len(specials)] }),
		ramp(-50, 1, 130, func(i int) uint64 { return uint64(i) << 20 }),
	} {
		seeds = append(seeds, build(pts).AppendBinary(nil))
	}
	return seeds
}

// FuzzDecodeSeries: arbitrary input never panics; whatever decodes is a consistent series
// that re-encodes to a fixed point and accepts further appends.
func FuzzDecodeSeries(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := DecodeSeries(in)
		if err != nil {
			return
		}
		pts := collect(s)
		checkSeries(t, s, pts)
		enc := s.AppendBinary(nil)
		if d := roundTrip(t, s, pts); !bytes.Equal(d.AppendBinary(nil), enc) {
			t.Fatalf("re-encoding is not a fixed point")
		}
		extra := more(pts, maxChunkPoints+3)
		for _, p := range extra {
			s.Append(p.t, p.v)
		}
		checkSeries(t, s, append(pts, extra...))
	})
}
