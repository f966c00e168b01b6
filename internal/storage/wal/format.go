package wal

// The log's format, exported for what reads or writes segments byte by byte rather than
// through a Log: offline inspection, and tests that pin the format with golden files or build
// the segments of older releases. docs/storage-format.md describes the same bytes.
const (
	// SegmentHeaderSize is the size of a segment's header (format version 1 on).
	SegmentHeaderSize = segmentHeaderSize
	// SegmentVersion is the segment format version a single node's log writes.
	SegmentVersion = segmentVersion
	// RaftSegmentVersion is the version a log with Raft records writes (Options.Raft).
	RaftSegmentVersion = raftVersion
	// FrameHeaderSize is the size of a record's frame header: u32 length, u32 CRC32C.
	FrameHeaderSize = frameHeaderSize
	// ReserveStep is how far ahead of its records the open segment's room is reserved.
	ReserveStep = allocStep
)

// AppendFrame appends r's frame, as the log writes it, to dst. r.LSN is taken as it is.
func AppendFrame(dst []byte, r *Record) []byte { return appendFrame(dst, r) }

// DecodeFrame decodes the frame at the start of b into r and returns its size; damage of any
// kind is an error.
func DecodeFrame(b []byte, r *Record) (int, error) { return decodeFrame(b, r) }

// FrameSize is the size of r's frame, 0 when r is no valid record.
func FrameSize(r *Record) int {
	if n := payloadSize(r); n > 0 {
		return frameHeaderSize + n
	}
	return 0
}

// SegmentHeader is the header of segment seq in format version v (1 or 2; 0 has none).
func SegmentHeader(seq uint64, v int) []byte {
	if v == 0 {
		return nil
	}
	return appendSegmentHeader(nil, seq, v)
}

// ReadSegmentHeader returns the format version of a segment from its first bytes, and the
// size of its header (0 for a headerless segment of version 0).
func ReadSegmentHeader(path string, data []byte, seq uint64) (version, size int, err error) {
	return readSegmentHeader(path, data, seq)
}

// Scan is what ScanSegment found in one segment.
type Scan struct {
	Version    int  // format version: 0 headerless, 1 or 2 with a header
	Valid      int  // bytes of the valid prefix, header included
	Tail       int  // bytes after it that are a torn tail (last segment only)
	TornHeader bool // the header itself is torn (last segment only)
	Zeros      bool // the tail is zeros only: reserved room
}

// ScanSegment decodes segment seq's bytes as recovery does, calling apply for each record:
// last says whether it is the log's last segment, where damage at the end is a torn tail
// rather than corruption.
func ScanSegment(path string, seq uint64, data []byte, last bool, apply func(*Record)) (Scan, error) {
	s, err := scanSegment(path, seq, data, last, false, apply)
	return Scan{Version: s.version, Valid: s.valid, Tail: s.tail, TornHeader: s.tornHeader, Zeros: s.zeros}, err
}
