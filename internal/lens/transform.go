package lens

import "math"

// Transform is one step of a lens' chain. Its number is part of the lens file format
// (format.go): never renumber, only add.
type Transform uint8

// The transforms of E5.
const (
	Identity            Transform = 1 // x
	CelsiusToFahrenheit Transform = 2 // (x×9)/5+32
	FahrenheitToCelsius Transform = 3 // ((x−32)×5)/9
	CelsiusToKelvin     Transform = 4 // x+273.15
	KelvinToCelsius     Transform = 5 // x−273.15
	MetersToFeet        Transform = 6 // x×3.28084
	FeetToMeters        Transform = 7 // x/3.28084
	Returns             Transform = 8 // x/x_prev − 1
	LogReturn           Transform = 9 // ln(x/x_prev)
)

// names are the transforms' names as a client spells them in CREATE_LENS, indexed by number.
var names = [...]string{
	Identity:            "identity",
	CelsiusToFahrenheit: "celsius_to_fahrenheit",
	FahrenheitToCelsius: "fahrenheit_to_celsius",
	CelsiusToKelvin:     "celsius_to_kelvin",
	KelvinToCelsius:     "kelvin_to_celsius",
	MetersToFeet:        "meters_to_feet",
	FeetToMeters:        "feet_to_meters",
	Returns:             "returns",
	LogReturn:           "log_return",
}

// Names lists every transform's name, in the contract's order.
func Names() []string { return append([]string(nil), names[Identity:]...) }

// Parse finds the transform a name denotes, matched exactly (the front end has removed the
// wire's zero padding, and nothing else).
func Parse(name string) (Transform, bool) {
	for t := Identity; t <= LogReturn; t++ {
		if names[t] == name {
			return t, true
		}
	}
	return 0, false
}

// valid reports whether t is a transform this release knows.
func (t Transform) valid() bool { return t >= Identity && t <= LogReturn }

// String is the transform's name.
func (t Transform) String() string {
	if t.valid() {
		return names[t]
	}
	return "unknown"
}

// Pairwise reports whether the transform reads the point before as well (x_prev): returns and
// log_return. Each such step in a chain consumes one point of the sequence.
func (t Transform) Pairwise() bool { return t == Returns || t == LogReturn }

// point applies a transform of one point. The explicit float64 conversions round every
// intermediate result to float64 and so forbid a fused multiply-add, which Go may otherwise
// use on some architectures (arm64, ppc64le, s390x): the contract computes left to right with
// one rounding per operation.
func (t Transform) point(x float64) float64 {
	switch t {
	case CelsiusToFahrenheit:
		return float64(float64(x*9)/5) + 32
	case FahrenheitToCelsius:
		return float64(float64(x-32)*5) / 9
	case CelsiusToKelvin:
		return x + 273.15
	case KelvinToCelsius:
		return x - 273.15
	case MetersToFeet:
		return x * 3.28084
	case FeetToMeters:
		return x / 3.28084
	}
	return x // identity: the value's exact bits, NaN payloads included
}

// pair applies returns or log_return to a point and the one before it.
func (t Transform) pair(x, prev float64) float64 {
	if t == LogReturn {
		return math.Log(x / prev)
	}
	return float64(x/prev) - 1
}
