package protocol

import (
	"encoding/binary"
	"math"
)

// APPEND_BATCH (docs/protocol.md, E3): label (32), u32 n, n × (i64 ts, f64 value), 36 + 16n
// bytes, n ≥ 1. The length alone says what n must be, so a front end checks it before reading
// the payload, then checks n against it once the first 36 bytes are in.
const (
	BatchHeaderSize = LabelSize + 4 // the payload before the points
	BatchPointSize  = 8 + 8
)

// BatchCount is the n an APPEND_BATCH payload of this length must carry: ok is false when no
// n ≥ 1 gives exactly this length (R4: invalid_payload).
func BatchCount(length uint32) (n int, ok bool) {
	if length < BatchHeaderSize+BatchPointSize || (length-BatchHeaderSize)%BatchPointSize != 0 {
		return 0, false
	}
	return int((length - BatchHeaderSize) / BatchPointSize), true
}

// BatchHeader decodes the first BatchHeaderSize bytes of an APPEND_BATCH payload.
func BatchHeader(p []byte) (l Label, n uint32) {
	copy(l[:], p[:LabelSize])
	return l, binary.BigEndian.Uint32(p[LabelSize:])
}

// BatchPoint decodes one point of an APPEND_BATCH payload (BatchPointSize bytes).
func BatchPoint(p []byte) (ts int64, bits uint64) {
	return int64(binary.BigEndian.Uint64(p)), binary.BigEndian.Uint64(p[8:])
}

// AppendBatchHeader appends the payload's label and count.
func AppendBatchHeader(dst []byte, l Label, n int) []byte {
	dst = append(dst, l[:]...)
	return binary.BigEndian.AppendUint32(dst, uint32(n))
}

// AppendBatchPoint appends one point; the value travels as its exact IEEE-754 bits.
func AppendBatchPoint(dst []byte, ts int64, v float64) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(ts))
	return binary.BigEndian.AppendUint64(dst, math.Float64bits(v))
}

// BatchPayloadSize is the payload length of a batch of n points.
func BatchPayloadSize(n int) int { return BatchHeaderSize + BatchPointSize*n }

// AppendBatchPointBits appends one point whose value is given as its IEEE-754 bits.
func AppendBatchPointBits(dst []byte, ts int64, bits uint64) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(ts))
	return binary.BigEndian.AppendUint64(dst, bits)
}
