package chunkfile

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"syscall"

	"github.com/taudb/tau/internal/storage/chunkenc"
)

// File is an open chunk file, mapped read-only: reads are slices of page cache, which the
// kernel reclaims under pressure and which the Go heap never holds.
type File struct {
	seq     uint64
	data    []byte
	version int
}

// Open maps the file at path and checks its header names seq and its trailer is in place.
func Open(path string, seq uint64) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // the mapping outlives the descriptor
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	if size < headerSize+trailerSize {
		return nil, corruptf("%s: %d bytes is shorter than header and trailer", path, size)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("chunkfile: mmap %s: %w", path, err)
	}
	cf := &File{seq: seq, data: data}
	if err := cf.check(); err != nil {
		_ = cf.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cf, nil
}

func (f *File) check() error {
	if [7]byte(f.data[:7]) != [7]byte(magic[:7]) {
		return corruptf("bad magic")
	}
	switch v := f.data[7]; {
	case v == '0'+versionV1 || v == '0'+Version:
		f.version = int(v - '0')
	case v >= '0' && v <= '9':
		return &VersionError{Version: int(v - '0')}
	default:
		return corruptf("version byte %#02x", v)
	}
	if s := binary.LittleEndian.Uint64(f.data[8:]); s != f.seq {
		return corruptf("header names file %d", s)
	}
	if [8]byte(f.data[len(f.data)-trailerSize:]) != trailer {
		return corruptf("missing trailer")
	}
	return nil
}

// Seq is the file's sequence number.
func (f *File) Seq() uint64 { return f.seq }

// Size is the file's size in bytes.
func (f *File) Size() int64 { return int64(len(f.data)) }

// Close unmaps the file. No Run of it may be used afterwards.
func (f *File) Close() error {
	if f.data == nil {
		return nil
	}
	err := syscall.Munmap(f.data)
	f.data = nil
	return err
}

// Run returns a view of the run r names, after checking it lies within the file.
func (f *File) Run(r Ref) (Run, error) {
	if r.File != f.seq || r.Off < headerSize || r.Chunks == 0 ||
		r.End() > uint64(len(f.data)-trailerSize) || r.End() < r.Off {
		return Run{}, corruptf("file %d: run at %d (%d chunks, %d bytes) is outside the file", f.seq, r.Off, r.Chunks, r.Size)
	}
	data := f.data[r.Off : r.Off+uint64(r.Size)]
	return Run{data: data, index: f.data[r.Off+uint64(r.Size) : r.End()], chunks: int(r.Chunks),
		minT: r.MinT, maxT: r.MaxT, v1: f.version == versionV1}, nil
}

// Run is one series' chunks in a file.
type Run struct {
	data       []byte
	index      []byte
	chunks     int
	minT, maxT int64 // the run's first and last timestamp (its Ref's), for Find's first guess
	v1         bool  // in a version-1 file: Gorilla chunks only
}

// Chunks is the number of chunks in the run.
func (r Run) Chunks() int { return r.chunks }

func (r Run) bounds(i int) (start, end uint32, n int) {
	e := r.index[i*indexEntry:]
	end, n = binary.LittleEndian.Uint32(e), int(e[4])
	if i > 0 {
		start = binary.LittleEndian.Uint32(r.index[(i-1)*indexEntry:])
	}
	return start, end, n
}

// Chunk returns chunk i's bytes and points, verified against its checksum.
func (r Run) Chunk(i int) ([]byte, int, error) {
	start, end, n := r.bounds(i)
	if start >= end || int(end) > len(r.data) || n == 0 {
		return nil, 0, corruptf("chunk %d: bounds %d..%d of %d, %d points", i, start, end, len(r.data), n)
	}
	b := r.data[start:end]
	if crc32.Checksum(b, crcTab) != binary.LittleEndian.Uint32(r.index[i*indexEntry+5:]) {
		return nil, 0, corruptf("chunk %d: checksum mismatch", i)
	}
	if r.v1 && chunkenc.IsDecimal(b) {
		return nil, 0, corruptf("chunk %d: a decimal chunk in a version-1 file", i)
	}
	return b, n, nil
}

// Points is chunk i's point count (from the index, unverified).
func (r Run) Points(i int) int { return int(r.index[i*indexEntry+4]) }

// MinT is chunk i's first timestamp, read from the first bytes of its stream; a malformed
// one reads as the smallest timestamp (the chunk's checksum fails when it is decoded).
func (r Run) MinT(i int) int64 {
	start, end, _ := r.bounds(i)
	if start >= end || int(end) > len(r.data) {
		return -1 << 63
	}
	t, ok := chunkenc.ChunkMinT(r.data[start:end])
	if !ok {
		return -1 << 63
	}
	return t
}

// Find is the last chunk whose first timestamp is at or before ts: the only one that can hold
// ts, and where a walk from ts starts (0 when ts precedes the run).
//
// Each probe reads a chunk's first bytes from the mapping, likely a cache miss, so Find first
// guesses by interpolation (a regular series spreads its chunks evenly over time), gallops
// from the guess to bracket ts, and binary-searches only the bracket: a regular series needs
// two or three probes instead of log2(chunks), and an irregular one at most about twice that.
func (r Run) Find(ts int64) int {
	lo, hi := r.bracket(ts)
	// MinT(lo) <= ts (or lo == 0), MinT(hi) > ts (or hi == chunks)
	for hi-lo > 1 {
		m := int(uint(lo+hi) >> 1)
		if r.MinT(m) <= ts {
			lo = m
		} else {
			hi = m
		}
	}
	return lo
}

// Guess is the chunk that would hold ts were the run's chunks spread evenly over its time
// range: for a regular series, usually the one Find returns, found without reading the file.
func (r Run) Guess(ts int64) int {
	g := 0
	if span := float64(r.maxT) - float64(r.minT); span > 0 {
		g = int((float64(ts) - float64(r.minT)) / span * float64(r.chunks))
		g = min(max(g, 0), r.chunks-1)
	}
	return g
}

// bracket returns lo < hi with MinT(lo) <= ts or lo == 0, and MinT(hi) > ts or hi == chunks,
// galloping from an interpolated guess.
func (r Run) bracket(ts int64) (lo, hi int) {
	n := r.chunks
	g := r.Guess(ts)
	step := 1
	if r.MinT(g) <= ts {
		lo = g
		for lo+step < n && r.MinT(lo+step) <= ts {
			lo += step
			step *= 2
		}
		return lo, min(lo+step, n)
	}
	hi = g
	for hi-step > 0 && r.MinT(hi-step) > ts {
		hi -= step
		step *= 2
	}
	return max(hi-step, 0), hi
}
