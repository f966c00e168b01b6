package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"

	"github.com/taudb/tau/internal/series"
	"github.com/taudb/tau/internal/storage/diskfmt"
)

// RecordType is the kind of a logged mutation.
type RecordType byte

// Record types. Their numbers are part of the on-disk format: never renumber.
const (
	RecordCreate RecordType = 1
	RecordDrop   RecordType = 2
	RecordAppend RecordType = 3
	// RecordBatch is an atomic batch of appends to one series (APPEND_BATCH, docs/protocol.md
	// E3). It appears only in segments of format version 2 and later.
	RecordBatch RecordType = 4
	// RecordRaft is a piece of a Raft group's state in cluster mode (an entry, the hard state,
	// a snapshot's mark: its Kind), opaque to the log. It appears only in segments of format
	// version 3 and later.
	RecordRaft RecordType = 5
)

// MaxRaftData is the most bytes one RecordRaft carries: a Raft record is never larger than
// the largest batch, so the bound on what a damaged length field can cut holds.
const MaxRaftData = maxBatchPayload - raftHeaderSize

// Point is one appended point: a timestamp and its value's exact IEEE-754 bits.
type Point = series.Point

// MaxBatchPoints is the most points one RecordBatch holds. It bounds the largest record, which
// is what lets recovery tell a torn tail from damage (record.go). A batch of more points must
// be refused before it reaches the log.
const MaxBatchPoints = 1 << 20

// Record is one logged mutation.
type Record struct {
	Type  RecordType
	LSN   uint64 // assigned by Log.Append, strictly increasing across the whole log
	Label series.Label
	TS    int64  // RecordAppend only
	Value uint64 // RecordAppend only: the IEEE-754 bits, stored exactly
	// Points are a RecordBatch's points, 1 to MaxBatchPoints, timestamps strictly increasing.
	// Append encodes them before it returns: the caller keeps ownership of the slice.
	Points []Point
	// Group, Kind and Data are a RecordRaft's: the Raft group, what the record is (the
	// cluster's to number), and up to MaxRaftData bytes, encoded before Append returns.
	// Decoding sets Data to a slice of the bytes read: copy it to keep it.
	Group uint64
	Kind  byte
	Data  []byte
}

// On-disk framing of one WAL record (all integers little-endian), the same in segment format
// versions 0, 1 and 2 (segment.go: versions 1 and 2 put a header before the first record):
//
//	u32 payload length | u32 CRC32C(payload) | payload
//
// payload = u8 type | u64 LSN | 32-byte label, then by type:
//
//	create, drop (1, 2): nothing                                     41 bytes
//	append (3):          i64 ts | u64 value bits                     57 bytes
//	batch (4):           u32 n | n × (i64 ts | u64 value bits)       45 + 16n bytes, 1 ≤ n ≤ MaxBatchPoints
//
// except a Raft record (5, segment version 3 on), which has no label:
//
//	u8 type | u64 LSN | u64 group | u8 kind | data                    18 + len(data) bytes
//
// Create, drop and append have one fixed payload size each; a batch's size is fixed by its n.
// So a length that matches no type is corruption, and a length that does match is checked
// again against the type and n inside the payload, once the CRC has vouched for them. The
// batch (segment format version 2 on) is what made lengths vary: the largest record is
// maxFrameSize, a batch of MaxBatchPoints points, and no length field is trusted beyond it.
const (
	frameHeaderSize   = 8
	seriesPayloadSize = 1 + 8 + series.LabelSize // create, drop
	appendPayloadSize = seriesPayloadSize + 8 + 8
	batchHeaderSize   = seriesPayloadSize + 4 // a batch's payload before its points
	batchPointSize    = 8 + 8
	maxBatchPayload   = batchHeaderSize + MaxBatchPoints*batchPointSize
	// maxFixedFrameSize is the largest record of a fixed size: an append.
	maxFixedFrameSize = frameHeaderSize + appendPayloadSize
	// maxFrameSize is the largest record of any type: a batch of MaxBatchPoints points.
	maxFrameSize = frameHeaderSize + maxBatchPayload
	// raftHeaderSize is a Raft record's payload before its data.
	raftHeaderSize = 1 + 8 + 8 + 1
)

// fitsType reports whether a payload of n bytes can be a record of type t (other than a Raft
// record), before any field past the LSN is read.
func fitsType(t RecordType, n int) bool {
	switch t {
	case RecordCreate, RecordDrop:
		return n == seriesPayloadSize
	case RecordAppend:
		return n == appendPayloadSize
	case RecordBatch:
		return batchLength(n)
	}
	return n >= seriesPayloadSize // unknown: refused below
}

// raftLength reports whether n is the payload length of a Raft record.
func raftLength(n int) bool { return n >= raftHeaderSize && n <= maxBatchPayload }

// batchLength reports whether n is the payload length of a batch of 1 to MaxBatchPoints points.
func batchLength(n int) bool {
	return n > batchHeaderSize && n <= maxBatchPayload && (n-batchHeaderSize)%batchPointSize == 0
}

// validLength reports whether n is the payload length of some record type.
func validLength(n int) bool {
	return n == seriesPayloadSize || n == appendPayloadSize || batchLength(n) || raftLength(n)
}

// errBadRecord marks a frame that does not decode: torn, bit-flipped or garbage.
var errBadRecord = errors.New("wal: bad record")

// payloadSize is the payload size of r, 0 when its type is unknown or a batch's point count
// is out of range.
func payloadSize(r *Record) int {
	switch r.Type {
	case RecordCreate, RecordDrop:
		return seriesPayloadSize
	case RecordAppend:
		return appendPayloadSize
	case RecordBatch:
		if len(r.Points) < 1 || len(r.Points) > MaxBatchPoints {
			return 0
		}
		return batchHeaderSize + batchPointSize*len(r.Points)
	case RecordRaft:
		if len(r.Data) > MaxRaftData {
			return 0
		}
		return raftHeaderSize + len(r.Data)
	}
	return 0
}

// appendFrame appends r's frame to dst. It allocates only when dst must grow, so a reused
// batch buffer makes Append allocation-free.
func appendFrame(dst []byte, r *Record) []byte {
	n := payloadSize(r)
	start := len(dst)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(n))
	dst = binary.LittleEndian.AppendUint32(dst, 0) // CRC, filled below
	dst = append(dst, byte(r.Type))
	dst = binary.LittleEndian.AppendUint64(dst, r.LSN)
	if r.Type == RecordRaft {
		dst = binary.LittleEndian.AppendUint64(dst, r.Group)
		dst = append(dst, r.Kind)
		dst = append(dst, r.Data...)
		return sealFrame(dst, start)
	}
	dst = append(dst, r.Label[:]...)
	switch r.Type {
	case RecordAppend:
		dst = binary.LittleEndian.AppendUint64(dst, uint64(r.TS))
		dst = binary.LittleEndian.AppendUint64(dst, r.Value)
	case RecordBatch:
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(r.Points)))
		dst = slices.Grow(dst, batchPointSize*len(r.Points))
		for _, p := range r.Points {
			dst = binary.LittleEndian.AppendUint64(dst, uint64(p.TS))
			dst = binary.LittleEndian.AppendUint64(dst, p.Value)
		}
	}
	return sealFrame(dst, start)
}

// sealFrame fills in the CRC of the frame that starts at dst[start].
func sealFrame(dst []byte, start int) []byte {
	payload := dst[start+frameHeaderSize:]
	binary.LittleEndian.PutUint32(dst[start+4:], crc32.Checksum(payload, diskfmt.Castagnoli))
	return dst
}

// decodeFrame decodes the frame at the start of b into r and returns its size. Any damage,
// including a frame cut short by the end of b, is errBadRecord. A batch's points are decoded
// into r.Points' storage, reused from call to call.
func decodeFrame(b []byte, r *Record) (int, error) {
	if len(b) < frameHeaderSize {
		return 0, fmt.Errorf("%w: %d-byte header cut short", errBadRecord, len(b))
	}
	n := int(binary.LittleEndian.Uint32(b))
	if !validLength(n) {
		return 0, fmt.Errorf("%w: payload length %d", errBadRecord, n)
	}
	if len(b) < frameHeaderSize+n {
		return 0, fmt.Errorf("%w: %d-byte payload cut short at %d", errBadRecord, n, len(b)-frameHeaderSize)
	}
	payload := b[frameHeaderSize : frameHeaderSize+n]
	if crc32.Checksum(payload, diskfmt.Castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return 0, fmt.Errorf("%w: checksum mismatch", errBadRecord)
	}
	r.Type = RecordType(payload[0])
	r.LSN = binary.LittleEndian.Uint64(payload[1:])
	r.TS, r.Value, r.Points = 0, 0, r.Points[:0]
	r.Group, r.Kind, r.Data = 0, 0, nil
	if r.Type == RecordRaft {
		r.Label = series.Label{}
		r.Group = binary.LittleEndian.Uint64(payload[9:])
		r.Kind = payload[17]
		r.Data = payload[raftHeaderSize:]
		return frameHeaderSize + n, nil
	}
	if !fitsType(r.Type, n) {
		return 0, fmt.Errorf("%w: type %d with payload length %d", errBadRecord, r.Type, n)
	}
	copy(r.Label[:], payload[9:])
	switch r.Type {
	case RecordCreate, RecordDrop:
	case RecordAppend:
		r.TS = int64(binary.LittleEndian.Uint64(payload[seriesPayloadSize:]))
		r.Value = binary.LittleEndian.Uint64(payload[seriesPayloadSize+8:])
	case RecordBatch:
		count := int(binary.LittleEndian.Uint32(payload[seriesPayloadSize:]))
		if count < 1 || count > MaxBatchPoints || batchHeaderSize+batchPointSize*count != n {
			return 0, fmt.Errorf("%w: batch of %d points with payload length %d", errBadRecord, count, n)
		}
		pts := payload[batchHeaderSize:]
		r.Points = slices.Grow(r.Points, count)
		for i := 0; i < count; i++ {
			p := pts[i*batchPointSize:]
			r.Points = append(r.Points, Point{TS: int64(binary.LittleEndian.Uint64(p)), Value: binary.LittleEndian.Uint64(p[8:])})
		}
	default:
		return 0, fmt.Errorf("%w: unknown type %d", errBadRecord, r.Type)
	}
	if payloadSize(r) != n {
		return 0, fmt.Errorf("%w: type %d with payload length %d", errBadRecord, r.Type, n)
	}
	return frameHeaderSize + n, nil
}
