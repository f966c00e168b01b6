package chunkenc

import (
	"math/rand"
	"testing"
)

// TestSkipPointLookups checks lookups on both sides of every chunk's skip point, on the series
// as appended and as decoded from its checkpoint form, against a plain map.
func TestSkipPointLookups(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	s := NewSeries()
	want := map[int64]uint64{}
	ts := int64(-1_000_000)
	for i := 0; i < 1000; i++ {
		ts += 1 + rng.Int63n(3)*rng.Int63n(1000) // regular runs and jumps
		v := rng.Uint64() >> uint(rng.Intn(64))
		s.Append(ts, v)
		want[ts] = v
	}
	decoded, err := DecodeSeries(s.AppendBinary(nil))
	if err != nil {
		t.Fatal(err)
	}
	for name, series := range map[string]*Series{"appended": s, "decoded": decoded} {
		mids := 0
		for i := range series.chunks {
			if series.chunks[i].hasMid() {
				mids++
			}
		}
		if mids < len(series.chunks)-1 {
			t.Fatalf("%s: %d of %d chunks have a skip point", name, mids, len(series.chunks))
		}
		for probe := int64(-1_000_001); probe <= ts+1; probe++ {
			v, found := series.Lookup(probe)
			w, ok := want[probe]
			if found != ok || (ok && v != w) {
				t.Fatalf("%s: Lookup(%d) = %#x %v, want %#x %v", name, probe, v, found, w, ok)
			}
			if !ok { // step over gaps quickly
				probe += rng.Int63n(50)
			}
		}
	}
}
