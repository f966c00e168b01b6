package lens

import (
	"math"
	"testing"
)

func TestChainLookback(t *testing.T) {
	cases := []struct {
		chain Chain
		want  int
	}{
		{Chain{Identity}, 0},
		{Chain{Returns}, 1},
		{Chain{CelsiusToFahrenheit, LogReturn, Returns, MetersToFeet}, 2},
	}
	for _, c := range cases {
		if got := c.chain.Lookback(); got != c.want {
			t.Errorf("%v.Lookback() = %d, want %d", c.chain, got, c.want)
		}
	}
}

// TestChainEval: each step maps the whole sequence (E5), so a one-point step before a returns
// applies to the previous points too, and each returns step uses up one point.
func TestChainEval(t *testing.T) {
	f := func(c float64) float64 { return float64(float64(c*9)/5) + 32 }
	cases := []struct {
		name  string
		chain Chain
		xs    []float64
		want  float64
	}{
		{"identity", Chain{Identity}, []float64{21.5}, 21.5},
		{"one transform", Chain{CelsiusToFahrenheit}, []float64{100}, 212},
		{"two in order", Chain{CelsiusToKelvin, KelvinToCelsius}, []float64{20}, float64(20+273.15) - 273.15},
		{"returns", Chain{Returns}, []float64{100, 110}, float64(110.0/100) - 1},
		{"log_return", Chain{LogReturn}, []float64{100, 110}, math.Log(110.0 / 100)},
		{"a transform before returns maps x_prev too", Chain{CelsiusToFahrenheit, Returns}, []float64{10, 20},
			float64(f(20)/f(10)) - 1},
		{"a transform after returns maps the return", Chain{Returns, CelsiusToFahrenheit}, []float64{10, 20},
			f(float64(20.0/10) - 1)},
		{"returns of returns", Chain{Returns, Returns}, []float64{100, 110, 99},
			float64((float64(99.0/110)-1)/(float64(110.0/100)-1)) - 1},
		{"log_return of returns", Chain{Returns, LogReturn}, []float64{1, 2, 5},
			math.Log((float64(5.0/2) - 1) / (float64(2.0/1) - 1))},
		{"extra older points are ignored", Chain{Returns}, []float64{7, 100, 110}, float64(110.0/100) - 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			xs := append([]float64(nil), c.xs...)
			if got := c.chain.Eval(xs); math.Float64bits(got) != math.Float64bits(c.want) {
				t.Fatalf("Eval(%v) = %v, want %v", c.xs, got, c.want)
			}
		})
	}
}

// TestIdentityChainKeepsBits: a chain of identities answers the point's exact bits.
func TestIdentityChainKeepsBits(t *testing.T) {
	for _, bits := range []uint64{0x7ff0000000000001, 0xfff8deadbeef0001, 1 << 63, 1} {
		xs := []float64{math.Float64frombits(bits)}
		if got := math.Float64bits(Chain{Identity, Identity}.Eval(xs)); got != bits {
			t.Fatalf("%#x came back as %#x", bits, got)
		}
	}
}
