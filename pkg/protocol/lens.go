package protocol

import (
	"bytes"
	"errors"
)

// The lens family (docs/protocol.md, E5): named, read-only views of a series through a chain
// of transforms. Requests have fixed lengths (R4), except LIST_LENSES, which ignores its
// payload as PING does:
//
//	CREATE_LENS   lens label (32), source series label (32), transform name (32) — 96 bytes
//	DROP_LENS     lens label (32)
//	QUERY_LENS    lens label (32), i64 ts — 40 bytes, laid out as QUERY_POINT
//	COMPOSE_LENS  new lens (32), first lens (32), second lens (32) — 96 bytes
//	LIST_LENSES   any payload within the limit, ignored
//
// Answers: QUERY_LENS as QUERY_POINT (AppendQueryAnswer); LIST_LENSES n labels with no count,
// the payload's length telling n; the others an empty OK.

// Payload sizes of the lens requests.
const (
	TransformNameSize      = 32
	CreateLensPayloadSize  = LabelSize + LabelSize + TransformNameSize
	DropLensPayloadSize    = LabelSize
	QueryLensPayloadSize   = QueryPayloadSize
	ComposeLensPayloadSize = 3 * LabelSize
)

// Transform names as they travel in CREATE_LENS, zero-padded to 32 bytes (E5). A server
// matches the name exactly once trailing zero bytes are removed; anything else is
// invalid_payload.
const (
	TransformIdentity            = "identity"
	TransformCelsiusToFahrenheit = "celsius_to_fahrenheit"
	TransformFahrenheitToCelsius = "fahrenheit_to_celsius"
	TransformCelsiusToKelvin     = "celsius_to_kelvin"
	TransformKelvinToCelsius     = "kelvin_to_celsius"
	TransformMetersToFeet        = "meters_to_feet"
	TransformFeetToMeters        = "feet_to_meters"
	TransformReturns             = "returns"
	TransformLogReturn           = "log_return"
)

// Transforms lists every transform name E5 defines, in the order the contract gives them.
var Transforms = []string{
	TransformIdentity, TransformCelsiusToFahrenheit, TransformFahrenheitToCelsius,
	TransformCelsiusToKelvin, TransformKelvinToCelsius, TransformMetersToFeet,
	TransformFeetToMeters, TransformReturns, TransformLogReturn,
}

// ErrTransformTooLong is returned by EncodeCreateLens for a name that does not fit 32 bytes.
var ErrTransformTooLong = errors.New("protocol: transform name longer than 32 bytes")

// CreateLensRequest decodes a CREATE_LENS payload; the caller has checked its length (R4).
// The transform name is the last 32 bytes with trailing zero bytes removed (E5), so a name
// with a zero byte inside, or with bytes after its padding, never matches a known one.
func CreateLensRequest(p []byte) (lens, source Label, transform string) {
	copy(lens[:], p[:LabelSize])
	copy(source[:], p[LabelSize:2*LabelSize])
	name := p[2*LabelSize : 2*LabelSize+TransformNameSize]
	return lens, source, string(bytes.TrimRight(name, "\x00"))
}

// EncodeCreateLens builds a CREATE_LENS payload, zero-padding the transform name.
func EncodeCreateLens(dst []byte, lens, source Label, transform string) ([]byte, error) {
	if len(transform) > TransformNameSize {
		return dst, ErrTransformTooLong
	}
	var name [TransformNameSize]byte
	copy(name[:], transform)
	dst = append(dst, lens[:]...)
	dst = append(dst, source[:]...)
	return append(dst, name[:]...), nil
}

// ComposeLensRequest decodes a COMPOSE_LENS payload; the caller has checked its length (R4).
func ComposeLensRequest(p []byte) (lens, first, second Label) {
	copy(lens[:], p[:LabelSize])
	copy(first[:], p[LabelSize:2*LabelSize])
	copy(second[:], p[2*LabelSize:3*LabelSize])
	return lens, first, second
}

// EncodeComposeLens builds a COMPOSE_LENS payload.
func EncodeComposeLens(dst []byte, lens, first, second Label) []byte {
	dst = append(dst, lens[:]...)
	dst = append(dst, first[:]...)
	return append(dst, second[:]...)
}

// AppendLensListHeader appends the header of a LIST_LENSES OK frame holding n labels; the
// labels follow, 32 bytes each, with no count before them (E5).
func AppendLensListHeader(dst []byte, n int) []byte {
	return AppendHeader(dst, OpOK, uint32(n*LabelSize))
}

// DecodeLensList decodes the payload of a LIST_LENSES OK, appending the labels to dst.
func DecodeLensList(p []byte, dst []Label) ([]Label, error) {
	if len(p)%LabelSize != 0 {
		return dst, errors.New("protocol: LIST_LENSES answer is not a whole number of labels")
	}
	for ; len(p) > 0; p = p[LabelSize:] {
		dst = append(dst, Label(p[:LabelSize]))
	}
	return dst, nil
}
