package chunkenc

import (
	"encoding/binary"
	"math"
	"slices"
	"testing"
)

// pointsOf turns fuzz input into points, the reference the encodings are checked against: the
// first 8 bytes are the first timestamp, then each 17 bytes a point: a timestamp delta (0
// becomes 1; a delta past MaxInt64 ends the points), a kind byte and 8 value bytes. Kind 0-3:
// the 8 bytes are the value's bits, any float64 (NaN payloads, -0, ±Inf, subnormals); kind
// 4-255: a decimal, int32 of the first 4 bytes over 10^(kind%8), so the fuzzer reaches decimal
// chunks and their exceptions often.
func pointsOf(data []byte) []point {
	if len(data) < 8 {
		return nil
	}
	t := int64(binary.LittleEndian.Uint64(data))
	var pts []point
	for data = data[8:]; len(data) >= 17; data = data[17:] {
		if len(pts) > 0 {
			next := int64(uint64(t) + max(binary.LittleEndian.Uint64(data), 1))
			if next <= t {
				break
			}
			t = next
		}
		v := binary.LittleEndian.Uint64(data[9:])
		if k := data[8]; k >= 4 {
			v = math.Float64bits(float64(int32(v)) / pow10[k%8])
		}
		pts = append(pts, point{t, v})
	}
	return pts
}

// fuzzPoints encodes points as pointsOf reads them.
func fuzzPoints(pts []point) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(pts[0].t))
	for i, p := range pts {
		d := uint64(0)
		if i > 0 {
			d = uint64(p.t) - uint64(pts[i-1].t)
		}
		b = binary.LittleEndian.AppendUint64(b, d)
		b = append(b, 0)
		b = binary.LittleEndian.AppendUint64(b, p.v)
	}
	return b
}

// FuzzRoundTrip: any sequence of timestamps and float64 bits comes back exactly from a decimal
// chunk (when the points make one: every decoder agrees with the reference) and from a series
// (which seals decimal or Gorilla chunks as they pay), after a binary round trip too.
func FuzzRoundTrip(f *testing.F) {
	for _, pts := range seekCases()[:12] {
		f.Add(fuzzPoints(pts))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pts := pointsOf(data)
		if len(pts) == 0 {
			return
		}
		if b, ok := decimalOf(pts[:min(len(pts), maxDecimalPoints)]); ok {
			n := min(len(pts), maxDecimalPoints)
			got, err := decodeAll(b, n)
			if err != nil || !slices.Equal(got, pts[:n]) {
				t.Fatalf("decimal chunk %x: %x, %v; want %x", b, got, err, pts[:n])
			}
			checkRead(t, b, n)
			checkDecodeChunk(t, b, uint64(n))
			checkSeek(t, b, n, pts[n/2].t)
		}
		s := build(pts)
		if got := collect(s); !slices.Equal(got, pts) {
			t.Fatalf("series: %d points back, want %d", len(got), len(pts))
		}
		for _, p := range pts {
			if v, ok := s.Lookup(p.t); !ok || v != p.v {
				t.Fatalf("Lookup(%d) = %#x, %v; want %#x", p.t, v, ok, p.v)
			}
		}
		d, err := DecodeSeries(s.AppendBinary(nil))
		if err != nil {
			t.Fatal(err)
		}
		if got := collect(d); !slices.Equal(got, pts) {
			t.Fatalf("decoded series: %d points back, want %d", len(got), len(pts))
		}
	})
}
