package lens

import (
	"math"
	"math/big"
	"math/rand"
	"testing"
)

func TestParse(t *testing.T) {
	cases := []struct {
		name string
		want Transform
		ok   bool
	}{
		{"identity", Identity, true},
		{"celsius_to_fahrenheit", CelsiusToFahrenheit, true},
		{"fahrenheit_to_celsius", FahrenheitToCelsius, true},
		{"celsius_to_kelvin", CelsiusToKelvin, true},
		{"kelvin_to_celsius", KelvinToCelsius, true},
		{"meters_to_feet", MetersToFeet, true},
		{"feet_to_meters", FeetToMeters, true},
		{"returns", Returns, true},
		{"log_return", LogReturn, true},
		{"", 0, false},
		{"Identity", 0, false},
		{"identity ", 0, false},
		{"identity\x00", 0, false}, // the front end strips the padding; a zero left is a byte
		{"log_returns", 0, false},
		{"unknown", 0, false},
	}
	for _, c := range cases {
		got, ok := Parse(c.name)
		if got != c.want || ok != c.ok {
			t.Errorf("Parse(%q) = %v, %v; want %v, %v", c.name, got, ok, c.want, c.ok)
		}
		if ok && got.String() != c.name {
			t.Errorf("%v.String() = %q", got, got.String())
		}
	}
	if n := Names(); len(n) != 9 || n[0] != "identity" || n[8] != "log_return" {
		t.Fatalf("Names() = %v", n)
	}
}

// exact computes a chain of float64 operations with one correct rounding per operation, as the
// contract says (left to right, no fused multiply-add): big.Float at 53 bits rounds exactly as
// IEEE-754 double does for results in the normal range.
type exact struct{ f *big.Float }

func ex(x float64) exact { return exact{new(big.Float).SetPrec(53).SetFloat64(x)} }

func (a exact) op(fn func(z, x, y *big.Float) *big.Float, y float64) exact {
	return exact{fn(new(big.Float).SetPrec(53), a.f, new(big.Float).SetPrec(53).SetFloat64(y))}
}
func (a exact) add(y float64) exact { return a.op((*big.Float).Add, y) }
func (a exact) sub(y float64) exact { return a.op((*big.Float).Sub, y) }
func (a exact) mul(y float64) exact { return a.op((*big.Float).Mul, y) }
func (a exact) quo(y float64) exact { return a.op((*big.Float).Quo, y) }
func (a exact) float() float64      { f, _ := a.f.Float64(); return f }

// reference is each one-point transform written with exact, independent of transform.go.
var reference = map[Transform]func(x float64) float64{
	Identity:            func(x float64) float64 { return x },
	CelsiusToFahrenheit: func(x float64) float64 { return ex(x).mul(9).quo(5).add(32).float() },
	FahrenheitToCelsius: func(x float64) float64 { return ex(x).sub(32).mul(5).quo(9).float() },
	CelsiusToKelvin:     func(x float64) float64 { return ex(x).add(273.15).float() },
	KelvinToCelsius:     func(x float64) float64 { return ex(x).sub(273.15).float() },
	MetersToFeet:        func(x float64) float64 { return ex(x).mul(3.28084).float() },
	FeetToMeters:        func(x float64) float64 { return ex(x).quo(3.28084).float() },
}

// TestOnePointTransformsRoundOncePerOperation: every one-point transform gives, bit for bit,
// the correctly rounded result of each operation in turn, for values where a fused
// multiply-add or a reordering would differ in the last bit.
func TestOnePointTransformsRoundOncePerOperation(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	values := []float64{0, 1, -1, 36.6, -40, 100, 273.15, -273.15, 0.1, 1e-300, 1e300, 98.6, 3.28084}
	for range 20000 {
		values = append(values, (rng.Float64()-0.5)*math.Pow(10, float64(rng.Intn(30)-10)))
	}
	for tr, ref := range reference {
		for _, x := range values {
			if got, want := tr.point(x), ref(x); math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("%v(%v) = %v (%#x), want %v (%#x)", tr, x, got, math.Float64bits(got), want, math.Float64bits(want))
			}
		}
	}
}

// TestTransformsKnownValues pins a few answers a person can check.
func TestTransformsKnownValues(t *testing.T) {
	cases := []struct {
		tr      Transform
		x, want float64
	}{
		{CelsiusToFahrenheit, 100, 212},
		{CelsiusToFahrenheit, -40, -40},
		{CelsiusToFahrenheit, 37, 98.6},
		{FahrenheitToCelsius, 212, 100},
		{FahrenheitToCelsius, 98.6, 37},
		{CelsiusToKelvin, 0, 273.15},
		{KelvinToCelsius, 0, -273.15},
		{MetersToFeet, 1, 3.28084},
		{FeetToMeters, 3.28084, 1},
	}
	for _, c := range cases {
		if got := c.tr.point(c.x); got != c.want {
			t.Errorf("%v(%v) = %v, want %v", c.tr, c.x, got, c.want)
		}
	}
}

// TestSpecialValues: NaN stays NaN, infinities go where IEEE-754 sends them, identity keeps
// every bit (a signalling NaN's payload, -0).
func TestSpecialValues(t *testing.T) {
	snan := math.Float64frombits(0x7ff0000000000001)
	negZero := math.Copysign(0, -1)
	if b := math.Float64bits(Identity.point(snan)); b != 0x7ff0000000000001 {
		t.Fatalf("identity changed a NaN's bits: %#x", b)
	}
	if b := math.Float64bits(Identity.point(negZero)); b != 1<<63 {
		t.Fatalf("identity changed -0: %#x", b)
	}
	for tr := range reference {
		if !math.IsNaN(tr.point(math.NaN())) {
			t.Errorf("%v(NaN) is a number", tr)
		}
	}
	if CelsiusToFahrenheit.point(math.Inf(1)) != math.Inf(1) || KelvinToCelsius.point(math.Inf(-1)) != math.Inf(-1) {
		t.Fatal("infinities")
	}
	if got := CelsiusToFahrenheit.point(math.MaxFloat64); !math.IsInf(got, 1) {
		t.Fatalf("MaxFloat64×9 overflows before /5: got %v", got)
	}
	if v := Returns.pair(1, 0); !math.IsInf(v, 1) {
		t.Fatalf("returns over a zero x_prev: %v", v)
	}
	if v := Returns.pair(0, 0); !math.IsNaN(v) {
		t.Fatalf("returns of 0 over 0: %v", v)
	}
	if v := LogReturn.pair(-1, 1); !math.IsNaN(v) {
		t.Fatalf("log_return of a negative ratio: %v", v)
	}
	if v := LogReturn.pair(0, 1); !math.IsInf(v, -1) {
		t.Fatalf("log_return of 0: %v", v)
	}
}
