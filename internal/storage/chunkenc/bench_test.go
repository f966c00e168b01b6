package chunkenc

import (
	"flag"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/taudb/tau/internal/query"
)

// A value pattern generates the bits of point i given the previous point's bits.
type pattern struct {
	name string
	next func(r *rand.Rand, prev uint64) uint64
	max  float64 // bytes/point bound TestBytesPerPoint enforces: the target, or a regression guard
}

// patterns are value shapes a server sees, from most to least compressible.
var patterns = []pattern{
	{"constant", func(_ *rand.Rand, prev uint64) uint64 { return prev }, 0.5},
	// An integer gauge (connections, queue depth) that moves by a few units now and then.
	{"gauge-int", func(r *rand.Rand, prev uint64) uint64 {
		if r.IntN(10) != 0 {
			return prev
		}
		return math.Float64bits(math.Float64frombits(prev) + float64(r.IntN(7)-3))
	}, 1},
	// A 2-decimal gauge (temperature, load) that moves by ±0.01..0.05 on one point in ten.
	{"gauge-slow-2dec", func(r *rand.Rand, prev uint64) uint64 {
		if r.IntN(10) != 0 {
			return prev
		}
		f := math.Float64frombits(prev) + float64(r.IntN(11)-5)/100
		return math.Float64bits(math.Round(f*100) / 100)
	}, 2},
	// A request counter: an integer that grows by 0..100 every point.
	{"counter", func(r *rand.Rand, prev uint64) uint64 {
		return math.Float64bits(math.Float64frombits(prev) + float64(r.IntN(101)))
	}, 2.5},
	// A random walk with small steps rounded to 2 decimals, changing on every point. Decimal
	// fractions have long binary mantissas, so each XOR has ~40 meaningful bits: the Gorilla
	// XOR scheme cannot reach 2 bytes/point here.
	{"walk-2dec", walk2dec, 6.5},
	{"random-floats", func(r *rand.Rand, _ uint64) uint64 { return math.Float64bits(r.Float64()) }, 8.5},
}

const (
	regularStart = int64(1_700_000_000e9) // ns since the epoch
	regularStep  = int64(10e9)            // 10 s in ns
)

// benchEnc is the encoding the benchmarks seal full chunks in, to measure one against the
// other in alternating runs: go test -bench . -enc gorilla.
var benchEnc = flag.String("enc", "decimal", "encoding of sealed chunks in benchmarks: decimal (today's) or gorilla (format version 1's)")

func newBenchSeries() *Series {
	if *benchEnc == "gorilla" {
		return NewGorillaSeries()
	}
	return NewSeries()
}

// buildRegular builds n points of pattern p every 10 s, in nanoseconds.
func buildRegular(p pattern, n int, seed uint64) *Series {
	r := rand.New(rand.NewPCG(seed, 7))
	s, v := newBenchSeries(), math.Float64bits(100)
	for i := range n {
		v = p.next(r, v)
		s.Append(regularStart+int64(i)*regularStep, v)
	}
	return s
}

// TestBytesPerPoint enforces the compression target on the patterns it is meant for and logs
// all of them (go test -run BytesPerPoint -v).
func TestBytesPerPoint(t *testing.T) {
	const n = 100_000
	for _, p := range patterns {
		s := buildRegular(p, n, 1)
		perPoint := float64(s.Size()) / n
		serialised := float64(len(s.AppendBinary(nil))) / n
		t.Logf("%-16s %.3f bytes/point encoded, %.3f serialised", p.name, perPoint, serialised)
		if perPoint > p.max {
			t.Errorf("%s: %.3f bytes/point, want <= %.2f", p.name, perPoint, p.max)
		}
	}
}

// BenchmarkBytesPerPoint measures a regular 10 s series per pattern: ns/op is per point
// appended, bytes/point the encoded size (Size) over the points.
func BenchmarkBytesPerPoint(b *testing.B) {
	const n = 10 * maxChunkPoints * 10
	for _, p := range patterns {
		b.Run(p.name, func(b *testing.B) {
			var s *Series
			for b.Loop() {
				s = buildRegular(p, n, 1)
			}
			b.ReportMetric(float64(s.Size())/n, "bytes/point")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/point")
		})
	}
}

// valueRing precomputes values so the benchmarks time the encoding, not the generator.
func valueRing(p pattern) []uint64 {
	r := rand.New(rand.NewPCG(1, 7))
	vs, v := make([]uint64, 1<<12), math.Float64bits(100)
	for i := range vs {
		v = p.next(r, v)
		vs[i] = v
	}
	return vs
}

// benchPatterns are the speed benchmarks' patterns: cheap, typical-costly and worst case.
func benchPatterns() []pattern {
	var ps []pattern
	for _, p := range patterns {
		switch p.name {
		case "gauge-int", "walk-2dec", "random-floats":
			ps = append(ps, p)
		}
	}
	return ps
}

func BenchmarkAppend(b *testing.B) {
	for _, p := range benchPatterns() {
		b.Run(p.name, func(b *testing.B) {
			vs := valueRing(p)
			s := newBenchSeries()
			defer cpuPerOp(b)()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				s.Append(regularStart+int64(i)*regularStep, vs[i&(len(vs)-1)])
				i++
			}
			b.ReportMetric(float64(s.Size())/float64(i), "bytes/point")
		})
	}
}

func BenchmarkLookup(b *testing.B) {
	const n = 1 << 20
	for _, p := range benchPatterns() {
		b.Run(p.name, func(b *testing.B) {
			s := buildRegular(p, n, 1)
			r := rand.New(rand.NewPCG(2, 7))
			probes := make([]int64, 1<<12)
			for i := range probes {
				probes[i] = regularStart + int64(r.IntN(n))*regularStep
			}
			defer cpuPerOp(b)()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, ok := s.Lookup(probes[i&(len(probes)-1)]); !ok {
					b.Fatal("present point not found")
				}
				i++
			}
		})
	}
}

// BenchmarkRange decodes every point of a 1 Mi-point series through Range's Next: ns/op is
// per point, to set beside BenchmarkLookup's per-point cost and BenchmarkRangeRead's.
func BenchmarkRange(b *testing.B) {
	const n = 1 << 20
	for _, p := range benchPatterns() {
		b.Run(p.name, func(b *testing.B) {
			s := buildRegular(p, n, 1)
			b.ReportAllocs()
			it := s.Range(math.MinInt64, math.MaxInt64)
			for b.Loop() {
				if !it.Next() {
					it = s.Range(math.MinInt64, math.MaxInt64)
					it.Next()
				}
			}
		})
	}
}

// BenchmarkRangeRead is BenchmarkRange through Read, 256 points a call (a page's worth of
// decoding in a few calls): ns/op is per point.
func BenchmarkRangeRead(b *testing.B) {
	const n = 1 << 20
	for _, p := range benchPatterns() {
		b.Run(p.name, func(b *testing.B) {
			s := buildRegular(p, n, 1)
			buf := make([]query.Point, 256)
			defer cpuPerOp(b)()
			b.ReportAllocs()
			b.ResetTimer()
			for done := 0; done < b.N; {
				it := s.Range(math.MinInt64, math.MaxInt64)
				for done < b.N {
					k := it.Read(buf[:min(len(buf), b.N-done)])
					if k == 0 {
						break
					}
					done += k
				}
			}
		})
	}
}

// BenchmarkDecodeSeries decodes a 64 Ki-point series from its checkpoint encoding, as recovery
// does: ns/point is per point, every point checked.
func BenchmarkDecodeSeries(b *testing.B) {
	for _, p := range benchPatterns() {
		b.Run(p.name, func(b *testing.B) {
			const n = 1 << 16
			enc := buildRegular(p, n, 1).AppendBinary(nil)
			defer cpuPerOp(b)()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeSeries(enc); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/point")
		})
	}
}
