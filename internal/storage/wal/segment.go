package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/taudb/tau/internal/storage/diskfmt"
	"github.com/taudb/tau/internal/storage/vfs"
)

// Segment header, format versions 1 and 2 (integers little-endian):
//
//	"TAUWSEG" | version, one ASCII digit ('1' or '2') | u64 segment number (the file's name)
//
// then records from byte 16 on, framed as record.go says. Every segment this release creates
// starts with it, as version 2. A segment without it is format version 0, written by the
// releases before the header (up to cc5f6c9): records from byte 0, the same framing. Version 2
// differs from version 1 only in what it may contain: batch records (APPEND_BATCH), the first
// record whose size varies. A release that reads version 1 only thus refuses a version-2
// segment (VersionError) rather than misreading a batch as damage, and a batch record in a
// version-0 or version-1 segment is damage. All three are read; only version 2 is written, so
// an old data directory needs no migration: its segments replay as they are until a checkpoint
// retires them, and every segment after them is version 2.
//
// Telling a header from a version-0 segment needs nothing but the first bytes: a version-0
// segment that holds anything starts with a record's u32 payload length, which is 41 or 57
// (bytes 0x29 or 0x39, then three zero bytes), while the header's first four bytes "TAUW",
// read as that length, are 0x57554154: no record of any version can be 1.4 GB (the largest,
// a batch of MaxBatchPoints, is 16 MiB and 53 bytes), and the very first byte ('T', 0x54)
// already is no valid length of version 0. An empty file is a version-0 segment with no
// records, or a headered segment whose header never reached the disk; recovery decides by its
// neighbours (scanSegment).
//
// The header names the segment so a file copied or renamed to the wrong place is noticed, and
// carries a version so a release meeting a newer format refuses it (VersionError) instead of
// misreading it. Version digits '1' to '9' are versions; any other byte there is damage.
//
// Version 3 differs from version 2 only in what it may contain: Raft records (RecordRaft,
// cluster mode). A log that holds none, the single node's, goes on writing version 2, so its
// data directory stays readable by the releases before cluster mode.
const (
	segmentHeaderSize = 7 + 1 + 8 // tag, version, segment number
	segmentVersion    = 2         // the version a single node's log writes
	// batchVersion is the first segment version that may hold batch records.
	batchVersion = 2
	// raftVersion is the first that may hold Raft records: what a cluster's log writes.
	raftVersion = 3
	// maxSegmentVersion is the newest this release reads; it reads 0 to 3.
	maxSegmentVersion = 3
)

var segmentTag = [7]byte{'T', 'A', 'U', 'W', 'S', 'E', 'G'}

// appendSegmentHeader appends the header of segment seq in format version v to dst.
func appendSegmentHeader(dst []byte, seq uint64, v int) []byte {
	dst = append(dst, segmentTag[:]...)
	dst = append(dst, '0'+byte(v))
	return binary.LittleEndian.AppendUint64(dst, seq)
}

var (
	// errShortHeader: the segment ends inside its header, as a crash right after creating it
	// leaves it.
	errShortHeader = errors.New("wal: segment header cut short")
	// errBadHeader: the header is there but damaged, or a headerless segment follows one with
	// a header (no release writes that).
	errBadHeader = errors.New("wal: bad segment header")
)

// readSegmentHeader returns the format version of a segment from its first bytes, and the size
// of its header: 0 and 0 for a headerless segment (an empty file included), 1 or 2 and
// segmentHeaderSize for a good version-1 or version-2 header. A header of a version this release does not
// read is a VersionError; a header cut short or damaged is errShortHeader or errBadHeader.
func readSegmentHeader(path string, data []byte, seq uint64) (version, size int, err error) {
	n := min(len(data), len(segmentTag))
	if n == 0 || !bytes.Equal(data[:n], segmentTag[:n]) {
		return 0, 0, nil
	}
	if len(data) <= len(segmentTag) {
		return 0, 0, errShortHeader
	}
	v := data[len(segmentTag)]
	switch {
	case v < '1' || v > '9':
		return 0, 0, fmt.Errorf("%w: version byte %#02x", errBadHeader, v)
	case v > '0'+maxSegmentVersion:
		return 0, 0, &diskfmt.VersionError{Path: path, Format: "log segment", Version: int(v - '0'), Reads: "versions 0 to 3"}
	case len(data) < segmentHeaderSize:
		return 0, 0, errShortHeader
	}
	if got := binary.LittleEndian.Uint64(data[len(segmentTag)+1:]); got != seq {
		return 0, 0, fmt.Errorf("%w: names segment %d", errBadHeader, got)
	}
	return int(v - '0'), segmentHeaderSize, nil
}

// segment is the open log segment the committer appends to.
type segment struct {
	f     vfs.File
	seq   uint64
	path  string
	size  int64 // bytes written and not truncated away, header included
	base  int64 // bytes before the first record: the header
	alloc int64 // the file's size with its reserved room (>= size), or -1: Allocate failed
}

// allocStep is how far ahead of its records the open segment's blocks are reserved. A write
// that grows a file makes its fsync commit the new size too; one into reserved room does not,
// and costs measurably less. The step bounds the zeros a crash leaves after the last record, which
// recovery cuts off (scanSegment), and a step rather than the whole segment keeps a small
// log small on disk.
const allocStep = 4 << 20

// reserve makes room for n more bytes ahead of writing them, a step at a time. Failing to is
// no error (a full disk fails the write itself; a filesystem without fallocate just gets no
// room), but the segment stops trying.
func (s *segment) reserve(n int64) {
	if s.alloc < 0 || s.size+n <= s.alloc {
		return
	}
	want := (s.size + n + allocStep - 1) / allocStep * allocStep
	if err := s.f.Allocate(want); err != nil {
		s.alloc = -1
		return
	}
	s.alloc = want
}

// trim cuts the reserved room after the last record off and makes that durable: a segment
// that is not the open one must end with its last record (scanSegment treats anything else
// in it as damage).
func (s *segment) trim() error {
	if s.alloc <= s.size {
		return nil
	}
	if err := s.f.Truncate(s.size); err != nil {
		return err
	}
	s.alloc = s.size
	return s.f.Sync()
}

// empty reports whether the segment holds no record yet.
func (s *segment) empty() bool { return s.size == s.base }

// createSegment creates segment seq with its header, fsyncs it, and makes its directory entry
// durable, so a crash cannot lose a segment that records were fsynced into, and every segment
// that ever holds a record has a whole header on disk. A crash or error before the end leaves
// a last segment that is empty or ends inside its header: recovery repairs that (a torn tail).
func createSegment(fs vfs.FS, dir string, seq uint64, version int) (*segment, error) {
	path := filepath.Join(dir, diskfmt.SeqName(seq))
	f, err := fs.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	var hdr [segmentHeaderSize]byte
	_, err = f.Write(appendSegmentHeader(hdr[:0], seq, version))
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = fs.SyncDir(dir)
	}
	if err != nil {
		_ = f.Close() // the write or sync error is the one to report
		return nil, err
	}
	return &segment{f: f, seq: seq, path: path, size: segmentHeaderSize, base: segmentHeaderSize,
		alloc: segmentHeaderSize}, nil
}

// rewriteHeader makes path a segment holding its header and nothing else, durably: the repair
// of a header torn by a crash right after the segment was created.
func rewriteHeader(fs vfs.FS, path string, seq uint64, version int) error {
	f, err := fs.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Truncate(0)
	if err == nil {
		var hdr [segmentHeaderSize]byte
		_, err = f.Write(appendSegmentHeader(hdr[:0], seq, version)) // at offset 0: just opened
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// readFile reads a whole file into buf's storage, growing it as needed, so replay reuses one
// buffer for every segment.
func readFile(fs vfs.FS, path string, buf []byte) ([]byte, error) {
	f, err := fs.Open(path)
	if err != nil {
		return buf, err
	}
	defer func() { _ = f.Close() }() // read only: a failed close loses nothing
	fi, err := f.Stat()
	if err != nil {
		return buf, err
	}
	if int64(cap(buf)) < fi.Size() {
		buf = make([]byte, fi.Size())
	}
	buf = buf[:fi.Size()]
	if _, err := io.ReadFull(io.NewSectionReader(f, 0, fi.Size()), buf); err != nil {
		return buf, err
	}
	return buf, nil
}

// segmentScan is what scanSegment found in one segment.
type segmentScan struct {
	version    int // format version: 0 headerless, 1 or 2 with a header
	valid      int // bytes of the valid prefix, header included
	tail       int // bytes after it that are a torn tail (last segment only), to be cut
	tornHeader bool
	// zeros: the tail is zeros only, the room the log reserves ahead of its records
	// (segment.reserve) or a file grown before its data landed: cut without a warning
	zeros bool
}

// scanSegment decodes the records of segment seq's bytes in order, calling apply for each.
// afterHeader says whether an earlier segment of this replay had a header: once the log has
// one, every later segment must have one too, since no release writes a headerless segment
// after a headered one.
//
// Damage at the very end of the last segment (a torn write: the damaged record's extent reaches
// the end of the file, or only zeros follow) is a torn tail, reported in tail, since a crash
// mid-write leaves exactly that. A header missing, cut short or damaged in the last segment,
// with no more bytes after it than a torn tail can have, is a torn header (tornHeader): the
// crash came between creating the segment and its header's fsync, so no record was ever
// written to it. Any other damage is a CorruptionError naming the file and offset: a header
// cut short or damaged in an earlier segment, an empty earlier segment after a headered one
// (createSegment fsyncs the header before any record, and recovery repairs a torn one before
// creating the next segment, so only lost data leaves that). An empty file before any headered
// segment is read as a version-0 segment with no records: releases up to cc5f6c9 left one at
// every start that wrote nothing. A header of a version this release does not read is a
// VersionError, wherever it is.
func scanSegment(path string, seq uint64, data []byte, last, afterHeader bool, apply func(*Record)) (segmentScan, error) {
	version, off, err := readSegmentHeader(path, data, seq)
	var future *diskfmt.VersionError
	if errors.As(err, &future) {
		return segmentScan{}, err
	}
	if err == nil && version == 0 && afterHeader {
		err = fmt.Errorf("%w: no header, after a segment with one", errBadHeader)
	}
	if err != nil {
		if last && isTornTail(data, version) {
			return segmentScan{version: segmentVersion, tail: len(data), tornHeader: true}, nil
		}
		return segmentScan{}, &diskfmt.CorruptionError{Path: path, Offset: 0, Err: err}
	}
	var r Record
	for off < len(data) {
		n, derr := decodeFrame(data[off:], &r)
		if derr == nil && r.Type == RecordBatch && version < batchVersion {
			derr = fmt.Errorf("%w: batch record in a version-%d segment", errBadRecord, version)
		}
		if derr == nil && r.Type == RecordRaft && version < raftVersion {
			derr = fmt.Errorf("%w: raft record in a version-%d segment", errBadRecord, version)
		}
		if derr == nil {
			apply(&r)
			off += n
			continue
		}
		if last && isTornTail(data[off:], version) {
			return segmentScan{version: version, valid: off, tail: len(data) - off,
				zeros: allZeros(data[off:])}, nil
		}
		return segmentScan{}, &diskfmt.CorruptionError{Path: path, Offset: int64(off), Err: derr}
	}
	return segmentScan{version: version, valid: off}, nil
}

// isTornTail reports whether damaged bytes at the end of a segment can be the remains of one
// interrupted write rather than corruption of acknowledged data:
//   - no complete fixed-size record fits after the damage's start (maxFixedFrameSize), or
//     only zeros follow that much (the room the log reserves ahead of its records), or
//   - everything left is zeros (that room, or a file extended before its data landed), or
//   - the damage starts with the length field of a record whose size varies (a batch; in
//     segments of version 3 on, a Raft record too), and the frame it declares reaches the end
//     of the file or is followed by zeros only: that record was being written when the crash
//     came.
//
// The last rule is the only one that trusts a length field, and it trusts it only as far as
// maxFrameSize: a damaged length field can make recovery cut at most one largest record's
// worth of bytes (and zeros) off the end of the last segment, never more, and it never makes
// recovery skip over anything: a frame followed by anything but zeros that does not decode is
// corruption.
func isTornTail(rest []byte, version int) bool {
	if len(rest) <= maxFixedFrameSize || allZeros(rest[maxFixedFrameSize:]) {
		return true
	}
	n := int(binary.LittleEndian.Uint32(rest))
	varies := batchLength(n) || (version >= raftVersion && raftLength(n))
	return varies && (frameHeaderSize+n >= len(rest) || allZeros(rest[frameHeaderSize+n:]))
}

func allZeros(b []byte) bool { return len(bytes.Trim(b, "\x00")) == 0 }
