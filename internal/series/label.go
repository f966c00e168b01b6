// Package series holds the identity of a series, shared by the engine and every front end: a
// label of 32 opaque bytes. It knows nothing of any wire format; a front end converts its own
// label type (the TAU protocol's is the same 32 bytes) with a plain conversion.
package series

import (
	"bytes"
	"encoding/hex"
)

// LabelSize is the size of a label in bytes. It is part of the on-disk formats: never change it.
const LabelSize = 32

// Label names a series: 32 opaque bytes compared byte for byte. Any bytes are valid, zero bytes
// included; labels never become file names.
type Label [LabelSize]byte

// LabelFromString zero-pads a name on the right, the clients' convention. Longer names are cut.
func LabelFromString(s string) (l Label) {
	copy(l[:], s)
	return l
}

// String shows a printable label as its text without the zero padding, and any other as hex, so
// logs never carry raw control bytes.
func (l Label) String() string {
	name := bytes.TrimRight(l[:], "\x00")
	for _, b := range name {
		if b < 0x20 || b > 0x7e {
			return "0x" + hex.EncodeToString(l[:])
		}
	}
	return string(name)
}

// Point is one point of a series: a timestamp and its value's exact IEEE-754 bits, as the log
// and the chunks store it.
type Point struct {
	TS    int64
	Value uint64 // IEEE-754 bits
}

// Compare orders labels byte-wise, as listings do.
func Compare(a, b Label) int { return bytes.Compare(a[:], b[:]) }
