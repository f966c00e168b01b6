package chunkenc

import (
	"errors"
	"flag"
	"math"
	"os"
	"testing"

	"github.com/taudb/tau/internal/testenv/golden"
)

// update rewrites the golden files from today's encoder instead of checking them:
//
//	go test ./internal/storage/chunkenc -run Golden -update
//
// Only do that to add the golden file of a new format version. A golden file that fails after a
// code change means the change broke every checkpoint on disk: fix the code, or add a new
// version (and keep a reader for this one); never regenerate it to make the test pass.
var update = flag.Bool("update", false, "rewrite testdata/*.golden from today's encoder")

const (
	goldenSeriesPath   = "testdata/series-v1.golden"
	goldenSeriesV2Path = "testdata/series-v2.golden"
)

// goldenPoints is the content of testdata/series-v1.golden. Never change it: the file pins the
// exact bytes format version 1 writes for exactly these points. It walks every branch of the
// encoding: a MinInt64 first timestamp, both sides of every delta-of-delta bucket and the
// 64-bit escape, negative timestamps crossing zero, chunks cut by point count and by size,
// MaxInt64 last; NaN payloads, a signalling and a negative NaN, -0, ±Inf, denormals and
// all-ones value bits, XOR windows that are reused, grow and reach 64 bits.
func goldenPoints() []point {
	values := []uint64{
		0x7ff8deadbeef0001,    // quiet NaN with a payload
		0x7ff0000000000001,    // signalling NaN
		0xfff8000000000123,    // negative NaN with a payload
		1 << 63,               // -0.0
		0x7ff0000000000000,    // +Inf
		0xfff0000000000000,    // -Inf
		0,                     // +0.0
		1,                     // the smallest denormal
		math.MaxUint64,        // all ones (a NaN)
		math.Float64bits(1.5), // plain values
		math.Float64bits(-273.15),
	}
	var pts []point
	t := int64(math.MinInt64)
	add := func(v uint64) { pts = append(pts, point{t, v}) }
	step := func(d uint64) { t = int64(uint64(t) + d) }

	add(values[0])
	const base = 1 << 40
	deltas := []uint64{base, base}             // the second: delta-of-delta 0
	for _, width := range []uint{14, 24, 36} { // both sides of each bucket's limits
		lim := uint64(1) << (width - 1)
		deltas = append(deltas, base+lim-1, base, base+lim, base, base-lim, base, base-lim-1, base)
	}
	deltas = append(deltas, 1<<62, 1, 1<<61) // the 64-bit escape, both ways
	for i, d := range deltas {
		step(d)
		add(values[(i+1)%len(values)])
	}
	// Negative timestamps crossing zero, one per nanosecond: a chunk cut by its point count.
	step(uint64(-130 - t))
	for i := 0; i < 260; i++ {
		step(1)
		add(values[(i/3)%len(values)])
	}
	// A scrape every 15 s with a few microseconds of jitter, values of a slow gauge.
	step(uint64(1_700_000_000_000_000_000 - t))
	for i := 0; i < 150; i++ {
		jitter := int64(i*7919%2001-1000) * 1000
		t2 := 1_700_000_000_000_000_000 + int64(i)*15_000_000_000 + jitter
		step(uint64(t2 - t))
		add(math.Float64bits(20 + float64(i%13)*0.25))
	}
	// Values that do not compress (xorshift): chunks cut by their byte size.
	x := uint64(0x9e3779b97f4a7c15)
	for i := 0; i < 200; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		step(1_000_000_000)
		add(x)
	}
	t = math.MaxInt64
	add(1 << 63)
	return pts
}

// checkGolden compares got with the golden file at path, or rewrites the file under -update.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	golden.Check(t, path, got, *update)
}

// TestGoldenSeriesEncode: today's encoder, keeping every chunk Gorilla as version 1 did, writes
// the pinned points as exactly the pinned bytes.
func TestGoldenSeriesEncode(t *testing.T) {
	checkGolden(t, goldenSeriesPath, newGorillaSeriesOf(goldenPoints()).AppendBinary(nil))
}

// TestGoldenSeriesDecode (after the encode test, so -update writes the file first): the pinned
// bytes decode to exactly the pinned points, bit for bit,
// and the decoded series accepts further appends.
func TestGoldenSeriesDecode(t *testing.T) {
	b, err := os.ReadFile(goldenSeriesPath)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != 1 {
		t.Fatalf("golden file is format version %d, want 1", b[0])
	}
	s, err := DecodeSeries(b)
	if err != nil {
		t.Fatalf("decode %s: %v", goldenSeriesPath, err)
	}
	want := goldenPoints()
	got := collect(s)
	if len(got) != len(want) {
		t.Fatalf("decoded %d points, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("point %d: got (%d, %#016x), want (%d, %#016x)", i, got[i].t, got[i].v, want[i].t, want[i].v)
		}
	}
	if n := len(s.chunks); n < 6 {
		t.Fatalf("golden series has %d chunks: it no longer covers cuts by count and by size", n)
	}
}

// TestUnknownSeriesVersion: a series in a format version this release does not know is refused
// with a VersionError naming the version, never decoded as version 1.
func TestUnknownSeriesVersion(t *testing.T) {
	good := build(goldenPoints()[:10]).AppendBinary(nil)
	for _, v := range []byte{0, 3, 0xff} {
		b := append([]byte{v}, good[1:]...)
		_, err := DecodeSeries(b)
		var ve *VersionError
		if !errors.As(err, &ve) || ve.Version != v {
			t.Fatalf("version %d: err %v, want a VersionError for %d", v, err, v)
		}
	}
}

// goldenPointsV2 is the content of testdata/series-v2.golden. Never change it. Its full chunks
// take every decimal mode: a 2-decimal walk moving every point (delta), a 2-decimal gauge
// moving one point in ten (runs) and on two points in three (sparse), spread values with
// exceptions of every kind (FOR: NaN payloads, -0, ±Inf, subnormals, a 17-digit value), an
// integer counter, jittered and irregular timestamps crossing zero; random bits between them
// stay Gorilla, and the head is Gorilla.
func goldenPointsV2() []point {
	x := uint64(0x2545f4914f6cdd1d)
	rnd := func(n uint64) uint64 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x % n }
	var pts []point
	t := int64(-600e9)
	add := func(step int64, v float64) { t += step; pts = append(pts, point{t, math.Float64bits(v)}) }
	walk := 23.45
	for range 120 { // delta: crossing zero, every 10 s
		walk = math.Round((walk+float64(int64(rnd(21))-10)/100)*100) / 100
		add(10e9, walk)
	}
	for i := range 120 { // runs: jittered by up to 1 ms
		if i%10 == 0 {
			walk = math.Round((walk+float64(int64(rnd(11))-5)/100)*100) / 100
		}
		add(10e9-5e5+int64(rnd(1e6)), walk)
	}
	for range 120 { // sparse: a change on two points in three
		if rnd(3) != 0 {
			walk = math.Round((walk+float64(int64(rnd(11))-5)/100)*100) / 100
		}
		add(10e9, walk)
	}
	for range 120 { // random bits: Gorilla
		t += 10e9
		pts = append(pts, point{t, rnd(math.MaxUint64)})
	}
	excs := []uint64{0x7ff8deadbeef0001, 0xfff8000000000123, 1 << 63, 0x7ff0000000000000,
		0xfff0000000000000, 1, 0x000fffffffffffff, math.Float64bits(0.1 + 0.2)}
	for i := range 120 { // FOR with exceptions, irregular timestamps
		t += int64(1 + rnd(1<<40))
		v := math.Float64bits(float64(rnd(100000)) / 1000)
		if i%15 == 7 {
			v = excs[i/15]
		}
		pts = append(pts, point{t, v})
	}
	counter := 0.0
	for range 150 { // an integer counter; its last 30 points stay in the head
		counter += float64(rnd(11))
		add(15e9, counter)
	}
	return pts
}

// TestGoldenSeriesV2Encode: today's encoder writes goldenPointsV2 as exactly the pinned bytes.
func TestGoldenSeriesV2Encode(t *testing.T) {
	checkGolden(t, goldenSeriesV2Path, build(goldenPointsV2()).AppendBinary(nil))
}

// TestGoldenSeriesV2Decode: the pinned version-2 bytes decode to exactly goldenPointsV2, hold
// decimal chunks of every mode and Gorilla ones, and accept further appends.
func TestGoldenSeriesV2Decode(t *testing.T) {
	b, err := os.ReadFile(goldenSeriesV2Path)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != 2 {
		t.Fatalf("golden file is format version %d, want 2", b[0])
	}
	s, err := DecodeSeries(b)
	if err != nil {
		t.Fatalf("decode %s: %v", goldenSeriesV2Path, err)
	}
	want := goldenPointsV2()
	checkSeries(t, s, want)
	modes := map[int]int{}
	for _, c := range s.chunks {
		if k, ok := decimalHeader(c.w.b); ok {
			modes[int(c.w.b[k+1]>>5)]++
		} else {
			modes[-1]++
		}
	}
	if modes[modeFOR] == 0 || modes[modeDelta] == 0 || modes[modeSparse] == 0 || modes[modeRuns] == 0 || modes[-1] < 2 {
		t.Fatalf("golden series has chunks of modes %v: want every decimal mode and Gorilla (-1)", modes)
	}
	extra := more(want, maxChunkPoints+3)
	for _, p := range extra {
		s.Append(p.t, p.v)
	}
	checkSeries(t, s, append(want, extra...))
}
