// Package chunkfile stores full chunks in immutable files that are read back through mmap, so
// that a series' history sits in page cache the kernel can reclaim instead of the Go heap.
//
// A file, chunks/<16-digit sequence number>, versions 1 and 2 (integers little-endian):
//
//	header  "TAUCHNK" | version, one ASCII digit ('1' or '2') | u64 sequence number
//	runs    back to back; a run is the chunks of one series, oldest first:
//	          chunks (chunkenc), back to back
//	          index: per chunk, u32 end offset of the chunk within the run | u8 points |
//	                 u32 CRC32C of the chunk's bytes
//	trailer "TAUCEND1"
//
// Version 2 is version 1 that may hold decimal chunks (chunkenc.IsDecimal) beside Gorilla
// ones; a decimal chunk in a version-1 file is damage. A release that reads version 1 only
// refuses a version-2 file by its version instead of misreading its decimal chunks.
//
// A file holds no labels: a checkpoint names each series' runs by Ref (file, offset, sizes,
// time range). The chunks are exactly those chunkenc keeps in memory, so a flush is a copy.
// Nothing in a file is written twice: files are created whole (write to a temporary name,
// fsync, rename, fsync the directory) and deleted whole once no checkpoint names them.
package chunkfile

import (
	"errors"
	"fmt"
	"hash/crc32"
)

const (
	// Version is the file format this release writes; it reads it and version 1.
	Version     = 2
	versionV1   = 1
	headerSize  = 16
	trailerSize = 8
	indexEntry  = 9 // u32 end offset, u8 points, u32 CRC
	// MaxRunBytes bounds a run's chunk data so offsets fit in 32 bits.
	MaxRunBytes = 1<<32 - 1
)

var (
	magic   = [8]byte{'T', 'A', 'U', 'C', 'H', 'N', 'K', '0' + Version}
	trailer = [8]byte{'T', 'A', 'U', 'C', 'E', 'N', 'D', '1'}
	crcTab  = crc32.MakeTable(crc32.Castagnoli)
)

// Ref locates a run: one series' chunks in one file. Checkpoints store it as it is.
type Ref struct {
	File       uint64 // the file's sequence number
	Off        uint64 // offset of the run's first chunk in the file
	Size       uint32 // bytes of chunk data; the index follows them
	Chunks     uint32
	Points     uint64
	MinT, MaxT int64 // first and last timestamp in the run
}

// End is the offset just past the run's index.
func (r Ref) End() uint64 { return r.Off + uint64(r.Size) + uint64(r.Chunks)*indexEntry }

// ErrCorrupt reports a chunk file whose bytes do not match what a checkpoint says of them.
var ErrCorrupt = errors.New("chunkfile: corrupt chunk file")

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// VersionError reports a file in a format this release does not read.
type VersionError struct{ Version int }

func (e *VersionError) Error() string {
	return fmt.Sprintf("chunkfile: format version %d is not one this release reads (it reads %d and %d)",
		e.Version, versionV1, Version)
}
