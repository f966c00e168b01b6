// Package protocol is the TAU v1 wire format: the 10-byte frame header, opcodes, status codes and
// the fixed payload layouts. It does no I/O beyond an io.Reader / io.Writer handed to it.
package protocol

import (
	"encoding/binary"
	"errors"
	"math"
)

// HeaderSize is the size of every frame header.
const HeaderSize = 10

// Version is the only protocol version the server speaks.
const Version byte = 0x01

// Magic is the first three bytes of every frame.
var Magic = [3]byte{'T', 'A', 'U'}

// Opcode identifies what a frame asks for or answers.
type Opcode byte

// Opcodes of TAU v1.
const (
	OpConnect      Opcode = 0x01
	OpDisconnect   Opcode = 0x02
	OpPing         Opcode = 0x03
	OpPong         Opcode = 0x04
	OpCreateSeries Opcode = 0x10
	OpDropSeries   Opcode = 0x11
	OpListSeries   Opcode = 0x12 // extension E1 (reads.go)
	OpSeriesInfo   Opcode = 0x13 // extension E2
	OpAppend       Opcode = 0x20
	OpAppendBatch  Opcode = 0x21 // extension E3 (batch.go)
	OpQueryPoint   Opcode = 0x30
	OpQueryRange   Opcode = 0x31 // extension E4
	OpCreateLens   Opcode = 0x40 // extension E5 (lens.go)
	OpDropLens     Opcode = 0x41 // extension E5
	OpQueryLens    Opcode = 0x42 // extension E5
	OpComposeLens  Opcode = 0x43 // extension E5
	OpListLenses   Opcode = 0x44 // extension E5
	OpOK           Opcode = 0xF0
	OpErr          Opcode = 0xFF
)

// Payload sizes fixed by R4 (and, for the extensions, by their table in docs/protocol.md).
const (
	LabelSize             = 32
	CertificateSize       = 32
	ConnectPayloadSize    = CertificateSize
	SeriesPayloadSize     = LabelSize
	AppendPayloadSize     = LabelSize + 8 + 8
	QueryPayloadSize      = LabelSize + 8
	ListSeriesPayloadSize = LabelSize + 4                 // E1: start label, u32 limit
	SeriesInfoPayloadSize = LabelSize                     // E2: label
	QueryRangePayloadSize = LabelSize + 8 + 8 + 4 + 1 + 8 // E4: label, start, end, limit, aggregation, bucket
)

// Label names a series: 32 opaque bytes compared byte for byte (R6).
type Label [LabelSize]byte

// Certificate is the 32-byte pre-shared key.
type Certificate [CertificateSize]byte

// DevCertificate is the development certificate, bytes 0x00..0x1f, which a server on a loopback
// address accepts when no certificate is configured (docs/protocol.md, "Example").
var DevCertificate = func() (c Certificate) {
	for i := range c {
		c[i] = byte(i)
	}
	return c
}()

// String names the opcode as docs/protocol.md ("Opcodes") does; unknown ones read "unknown".
func (o Opcode) String() string {
	switch o {
	case OpConnect:
		return "CONNECT"
	case OpDisconnect:
		return "DISCONNECT"
	case OpPing:
		return "PING"
	case OpPong:
		return "PONG"
	case OpCreateSeries:
		return "CREATE_SERIES"
	case OpDropSeries:
		return "DROP_SERIES"
	case OpAppend:
		return "APPEND"
	case OpAppendBatch:
		return "APPEND_BATCH"
	case OpQueryPoint:
		return "QUERY_POINT"
	case OpListSeries:
		return "LIST_SERIES"
	case OpSeriesInfo:
		return "SERIES_INFO"
	case OpQueryRange:
		return "QUERY_RANGE"
	case OpCreateLens:
		return "CREATE_LENS"
	case OpDropLens:
		return "DROP_LENS"
	case OpQueryLens:
		return "QUERY_LENS"
	case OpComposeLens:
		return "COMPOSE_LENS"
	case OpListLenses:
		return "LIST_LENSES"
	case OpOK:
		return "OK"
	case OpErr:
		return "ERR"
	}
	return "unknown"
}

// IsRequest reports whether a client may send this opcode (R3: server-only and unlisted
// opcodes, reserved ones included, are unknown). Every extension is a request: E1
// LIST_SERIES, E2 SERIES_INFO, E3 APPEND_BATCH, E4 QUERY_RANGE and the lens family of E5
// (0x40–0x44).
func (o Opcode) IsRequest() bool {
	switch o {
	case OpConnect, OpDisconnect, OpPing, OpCreateSeries, OpDropSeries, OpAppend, OpQueryPoint,
		OpListSeries, OpSeriesInfo, OpQueryRange, OpAppendBatch,
		OpCreateLens, OpDropLens, OpQueryLens, OpComposeLens, OpListLenses:
		return true
	}
	return false
}

// PayloadSize is the exact request payload length for the opcode (R4), or -1 when any length
// is accepted (DISCONNECT, PING and LIST_LENSES ignore their payload) or the length varies
// (APPEND_BATCH: BatchCount checks it).
func (o Opcode) PayloadSize() int {
	switch o {
	case OpConnect:
		return ConnectPayloadSize
	case OpCreateSeries, OpDropSeries:
		return SeriesPayloadSize
	case OpAppend:
		return AppendPayloadSize
	case OpQueryPoint:
		return QueryPayloadSize
	case OpListSeries:
		return ListSeriesPayloadSize
	case OpSeriesInfo:
		return SeriesInfoPayloadSize
	case OpQueryRange:
		return QueryRangePayloadSize
	case OpCreateLens:
		return CreateLensPayloadSize
	case OpDropLens:
		return DropLensPayloadSize
	case OpQueryLens:
		return QueryLensPayloadSize
	case OpComposeLens:
		return ComposeLensPayloadSize
	}
	return -1
}

// Header is a decoded frame header.
type Header struct {
	Opcode Opcode
	Flags  byte
	Length uint32
}

// Errors of header decoding; each maps to the status code that answers it.
var (
	ErrBadMagic   = errors.New("protocol: bad magic")
	ErrBadVersion = errors.New("protocol: bad version")
)

// DecodeHeader checks magic and version (R0 order) and returns the header.
func DecodeHeader(b *[HeaderSize]byte) (Header, error) {
	if b[0] != Magic[0] || b[1] != Magic[1] || b[2] != Magic[2] {
		return Header{}, ErrBadMagic
	}
	if b[3] != Version {
		return Header{}, ErrBadVersion
	}
	return Header{
		Opcode: Opcode(b[4]),
		Flags:  b[5],
		Length: binary.BigEndian.Uint32(b[6:10]),
	}, nil
}

// AppendHeader appends an encoded header to dst. Flags are always sent as zero.
func AppendHeader(dst []byte, op Opcode, length uint32) []byte {
	return append(dst, Magic[0], Magic[1], Magic[2], Version, byte(op), 0,
		byte(length>>24), byte(length>>16), byte(length>>8), byte(length))
}

// AppendFrame appends a whole frame (header and payload) to dst.
func AppendFrame(dst []byte, op Opcode, payload []byte) []byte {
	dst = AppendHeader(dst, op, uint32(len(payload)))
	return append(dst, payload...)
}

// AppendErr appends an ERR frame carrying one status byte.
func AppendErr(dst []byte, s Status) []byte {
	dst = AppendHeader(dst, OpErr, 1)
	return append(dst, byte(s))
}

// SeriesRequest is the decoded payload of CREATE_SERIES and DROP_SERIES.
func SeriesRequest(p []byte) (l Label) {
	copy(l[:], p[:LabelSize])
	return l
}

// AppendRequest decodes an APPEND payload; the caller has checked its length (R4).
func AppendRequest(p []byte) (l Label, ts int64, bits uint64) {
	copy(l[:], p[:LabelSize])
	ts = int64(binary.BigEndian.Uint64(p[LabelSize:]))
	bits = binary.BigEndian.Uint64(p[LabelSize+8:])
	return l, ts, bits
}

// QueryRequest decodes a QUERY_POINT payload; the caller has checked its length (R4).
func QueryRequest(p []byte) (l Label, ts int64) {
	copy(l[:], p[:LabelSize])
	return l, int64(binary.BigEndian.Uint64(p[LabelSize:]))
}

// EncodeAppend builds an APPEND payload; the value travels as its exact IEEE-754 bits.
func EncodeAppend(dst []byte, l Label, ts int64, v float64) []byte {
	dst = append(dst, l[:]...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(ts))
	return binary.BigEndian.AppendUint64(dst, math.Float64bits(v))
}

// EncodeQuery builds a QUERY_POINT payload.
func EncodeQuery(dst []byte, l Label, ts int64) []byte {
	dst = append(dst, l[:]...)
	return binary.BigEndian.AppendUint64(dst, uint64(ts))
}

// AppendQueryAnswer appends the OK frame for QUERY_POINT: 0x01 + 8 value bytes when found,
// 0x00 when not (R8).
func AppendQueryAnswer(dst []byte, found bool, bits uint64) []byte {
	if !found {
		dst = AppendHeader(dst, OpOK, 1)
		return append(dst, 0)
	}
	dst = AppendHeader(dst, OpOK, 9)
	dst = append(dst, 1)
	return binary.BigEndian.AppendUint64(dst, bits)
}

// DecodeQueryAnswer decodes the payload of a QUERY_POINT OK.
func DecodeQueryAnswer(p []byte) (found bool, bits uint64, err error) {
	switch {
	case len(p) == 1 && p[0] == 0:
		return false, 0, nil
	case len(p) == 9 && p[0] == 1:
		return true, binary.BigEndian.Uint64(p[1:]), nil
	}
	return false, 0, errors.New("protocol: malformed QUERY_POINT answer")
}

// LabelFromString zero-pads a name on the right, the clients' convention (R6). Names longer
// than 32 bytes are cut.
func LabelFromString(s string) (l Label) {
	copy(l[:], s)
	return l
}
