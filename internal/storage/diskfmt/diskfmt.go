// Package diskfmt is what every file format of the store shares: names that are sequence
// numbers, the CRC the formats check, and the two errors that stop recovery, a file in a
// version this release does not read and damage it must not guess around. The log
// (package wal), the checkpoints and the chunk files each keep their own layout.
package diskfmt

import (
	"fmt"
	"hash/crc32"
	"strconv"

	"github.com/taudb/tau/internal/storage/vfs"
)

// SeqDigits is the width of a file name: 16 decimal digits, zero-padded, so name order is
// number order.
const SeqDigits = 16

// TmpSuffix marks a file being written; it is never read and is removed at start.
const TmpSuffix = ".tmp"

// SeqName is the file name of sequence number n. Names are chosen by the store: nothing a
// client sends (a label) ever becomes part of a path.
func SeqName(n uint64) string { return fmt.Sprintf("%0*d", SeqDigits, n) }

// ParseSeq reads a name written by SeqName.
func ParseSeq(name string) (uint64, bool) {
	if len(name) != SeqDigits {
		return 0, false
	}
	n, err := strconv.ParseUint(name, 10, 64)
	return n, err == nil
}

// ListSeqs returns the sequence numbers of the files in dir, ascending (ReadDir sorts, and the
// fixed width makes name order number order). Other names are ignored.
func ListSeqs(fs vfs.FS, dir string) ([]uint64, error) {
	names, err := fs.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var seqs []uint64
	for _, name := range names {
		if n, ok := ParseSeq(name); ok {
			seqs = append(seqs, n)
		}
	}
	return seqs, nil
}

// Castagnoli is the CRC32C table every format uses; the hardware computes it on amd64 and
// arm64.
var Castagnoli = crc32.MakeTable(crc32.Castagnoli)

// VersionError reports a file in a format version this release does not read: written by a
// newer release (or damaged where the version is kept). Recovery stops rather than guess at a
// layout it does not know; an operator runs the newer release, or restores a backup.
type VersionError struct {
	Path    string
	Format  string // "log segment", "checkpoint", "series encoding in checkpoint", "chunk file"
	Version int
	Reads   string // the versions this release reads: "version 1", "versions 0, 1 and 2"
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("storage: %s %s is format version %d; this release reads %s only (was it written by a newer release?)",
		e.Format, e.Path, e.Version, e.Reads)
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
