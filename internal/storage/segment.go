package storage

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/taudb/tau/internal/storage/vfs"
)

// Directory layout under the data directory. Names inside are sequence numbers the store
// chose: nothing a client sends (a label) ever becomes part of a path.
const (
	walDirName        = "wal"        // wal/0000000000000001, …: log segments, replayed in order
	checkpointDirName = "checkpoint" // checkpoint/<segment>: a snapshot covering segments before it
	tmpSuffix         = ".tmp"       // a checkpoint being written; never read, removed at start
	seqDigits         = 16
)

// seqName is the file name of segment or checkpoint n: fixed width, so names sort like numbers.
func seqName(n uint64) string { return fmt.Sprintf("%0*d", seqDigits, n) }

// parseSeq reads a name written by seqName.
func parseSeq(name string) (uint64, bool) {
	if len(name) != seqDigits {
		return 0, false
	}
	n, err := strconv.ParseUint(name, 10, 64)
	return n, err == nil
}

// listSeqs returns the sequence numbers of the files in dir, ascending (ReadDir sorts, and the
// fixed width makes name order number order). Other names are ignored.
func listSeqs(fs vfs.FS, dir string) ([]uint64, error) {
	names, err := fs.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var seqs []uint64
	for _, name := range names {
		if n, ok := parseSeq(name); ok {
			seqs = append(seqs, n)
		}
	}
	return seqs, nil
}

// segment is the open log segment the committer appends to.
type segment struct {
	f    vfs.File
	seq  uint64
	path string
	size int64 // bytes written and not truncated away
}

// createSegment creates segment seq and makes its directory entry durable, so a crash cannot
// lose a segment that records were fsynced into.
func createSegment(fs vfs.FS, dir string, seq uint64) (*segment, error) {
	path := filepath.Join(dir, seqName(seq))
	f, err := fs.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	if err := fs.SyncDir(dir); err != nil {
		_ = f.Close() // SyncDir's error is the one to report
		return nil, err
	}
	return &segment{f: f, seq: seq, path: path}, nil
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

// CorruptionError reports damage in the log or a checkpoint that recovery must not guess
// around: the server stops and an operator decides.
type CorruptionError struct {
	Path   string
	Offset int64
	Err    error
}

func (e *CorruptionError) Error() string {
	return fmt.Sprintf("storage: corrupt %s at offset %d: %v", e.Path, e.Offset, e.Err)
}

func (e *CorruptionError) Unwrap() error { return e.Err }

// scanSegment decodes the records of one segment's bytes in order, calling apply for each. It
// returns the length of the valid prefix. Damage at the very end (a torn write: the damaged
// record's extent reaches the end of the file, or only zeros follow) is reported as tail > 0
// when the segment is the last one, since a crash mid-write leaves exactly that; any other
// damage is a CorruptionError naming the file and offset.
func scanSegment(path string, data []byte, last bool, apply func(*Record)) (valid int, tail int, err error) {
	var r Record
	off := 0
	for off < len(data) {
		n, derr := decodeFrame(data[off:], &r)
		if derr == nil {
			apply(&r)
			off += n
			continue
		}
		rest := len(data) - off
		if last && isTornTail(data[off:]) {
			return off, rest, nil
		}
		return off, 0, &CorruptionError{Path: path, Offset: int64(off), Err: derr}
	}
	return off, 0, nil
}

// isTornTail reports whether damaged bytes at the end of a segment can be the remains of one
// interrupted write rather than corruption of acknowledged data: no complete record fits after
// the damage's start, or everything left is zeros (a file extended before its data landed).
func isTornTail(rest []byte) bool {
	if len(rest) <= maxFrameSize {
		return true
	}
	return len(bytes.Trim(rest, "\x00")) == 0
}
