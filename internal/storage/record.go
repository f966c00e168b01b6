package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/taudb/tau/internal/series"
)

// On-disk framing of one WAL record (all integers little-endian), the same in segment format
// versions 0 and 1 (segment.go: version 1 puts a header before the first record):
//
//	u32 payload length | u32 CRC32C(payload) | payload
//
// payload = u8 type | u64 LSN | 32-byte label [| i64 ts | u64 value bits]   (the last two for appends)
//
// Every type has one fixed payload size, so a length that does not match its type is corruption,
// and a damaged length field can never make the reader skip more than one record's worth.
const (
	frameHeaderSize   = 8
	seriesPayloadSize = 1 + 8 + series.LabelSize // create, drop
	appendPayloadSize = seriesPayloadSize + 8 + 8
	maxFrameSize      = frameHeaderSize + appendPayloadSize
)

// castagnoli is the CRC32C table; the hardware computes it on amd64 and arm64.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errBadRecord marks a frame that does not decode: torn, bit-flipped or garbage.
var errBadRecord = errors.New("storage: bad record")

// payloadSize is the payload size of type t, 0 when t is unknown.
func payloadSize(t RecordType) int {
	switch t {
	case RecordCreate, RecordDrop:
		return seriesPayloadSize
	case RecordAppend:
		return appendPayloadSize
	}
	return 0
}

// appendFrame appends r's frame to dst. It allocates only when dst must grow, so a reused
// batch buffer makes Append allocation-free.
func appendFrame(dst []byte, r *Record) []byte {
	n := payloadSize(r.Type)
	start := len(dst)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(n))
	dst = binary.LittleEndian.AppendUint32(dst, 0) // CRC, filled below
	dst = append(dst, byte(r.Type))
	dst = binary.LittleEndian.AppendUint64(dst, r.LSN)
	dst = append(dst, r.Label[:]...)
	if r.Type == RecordAppend {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(r.TS))
		dst = binary.LittleEndian.AppendUint64(dst, r.Value)
	}
	payload := dst[start+frameHeaderSize:]
	binary.LittleEndian.PutUint32(dst[start+4:], crc32.Checksum(payload, castagnoli))
	return dst
}

// decodeFrame decodes the frame at the start of b into r and returns its size. Any damage,
// including a frame cut short by the end of b, is errBadRecord.
func decodeFrame(b []byte, r *Record) (int, error) {
	if len(b) < frameHeaderSize {
		return 0, fmt.Errorf("%w: %d-byte header cut short", errBadRecord, len(b))
	}
	n := int(binary.LittleEndian.Uint32(b))
	if n < seriesPayloadSize || n > appendPayloadSize {
		return 0, fmt.Errorf("%w: payload length %d", errBadRecord, n)
	}
	if len(b) < frameHeaderSize+n {
		return 0, fmt.Errorf("%w: %d-byte payload cut short at %d", errBadRecord, n, len(b)-frameHeaderSize)
	}
	payload := b[frameHeaderSize : frameHeaderSize+n]
	if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return 0, fmt.Errorf("%w: checksum mismatch", errBadRecord)
	}
	r.Type = RecordType(payload[0])
	if payloadSize(r.Type) != n {
		return 0, fmt.Errorf("%w: type %d with payload length %d", errBadRecord, r.Type, n)
	}
	r.LSN = binary.LittleEndian.Uint64(payload[1:])
	copy(r.Label[:], payload[9:])
	r.TS, r.Value = 0, 0
	if r.Type == RecordAppend {
		r.TS = int64(binary.LittleEndian.Uint64(payload[seriesPayloadSize:]))
		r.Value = binary.LittleEndian.Uint64(payload[seriesPayloadSize+8:])
	}
	return frameHeaderSize + n, nil
}
