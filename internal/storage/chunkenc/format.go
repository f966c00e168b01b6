package chunkenc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/taudb/tau/internal/query"
)

// Serialised series, versions 1 and 2:
//
//	byte     version (1 or 2)
//	uvarint  number of chunks
//	per chunk, oldest first:
//	  uvarint  number of points (>= 1)
//	  uvarint  length in bytes of the chunk's bytes
//	  bytes    the chunk: Gorilla (chunk.go), its last byte zero-padded, or, in version 2 only,
//	           decimal (decimal.go)
//
// Version 2 is version 1 that may hold decimal chunks. AppendBinary writes version 1 when
// every chunk is Gorilla (a checkpoint's head usually is), which the releases before decimal
// chunks also read, and version 2 otherwise. A decimal chunk in a version-1 series is damage.
//
// The chunks are stored as they are held in memory, so checkpointing is a copy, not a
// re-encode. Time ranges are not stored: decoding walks every point anyway, to validate the
// input and to rebuild the head's appender state.
//
// The formats are pinned by testdata/series-v1.golden and series-v2.golden (golden_test.go): a
// change to a chunk's layout or to this framing is a new version with its own reader, never an
// edit of an old one.
const (
	formatV1 = 1
	formatV2 = 2
)

// FormatVersion is the newest version of the serialised form AppendBinary writes, its first
// byte.
const FormatVersion = formatV2

// VersionError reports a serialised series whose format version this release does not read:
// written by a newer release (or damaged). It is never guessed around.
type VersionError struct{ Version byte }

func (e *VersionError) Error() string {
	return fmt.Sprintf("chunkenc: series format version %d is not one this release reads (it reads %d and %d)",
		e.Version, formatV1, formatV2)
}

// minEncodedChunk is the fewest bytes a chunk can take (two 1-byte uvarints, a 1-byte
// timestamp and the 8-byte first value); it caps preallocation driven by untrusted counts.
const minEncodedChunk = 11

var errTrailing = errors.New("chunkenc: trailing bytes after series")

// AppendBinary appends the series' serialised form (for checkpoints) to dst.
func (s *Series) AppendBinary(dst []byte) []byte {
	dst = slices.Grow(dst, s.Size()+1+binary.MaxVarintLen64*(1+2*len(s.chunks)))
	dst = append(dst, s.version())
	dst = binary.AppendUvarint(dst, uint64(len(s.chunks)))
	for i := range s.chunks {
		c := &s.chunks[i]
		dst = binary.AppendUvarint(dst, uint64(c.n))
		dst = binary.AppendUvarint(dst, uint64(len(c.w.b)))
		dst = append(dst, c.w.b...)
	}
	return dst
}

// version is the oldest format version that holds s's chunks.
func (s *Series) version() byte {
	for i := range s.chunks {
		if isDecimal(s.chunks[i].w.b) {
			return formatV2
		}
	}
	return formatV1
}

// DecodeSeries reads what AppendBinary wrote. It rejects malformed input, including trailing
// bytes, with an error. The result owns its memory (b may be reused) and accepts Appends.
func DecodeSeries(b []byte) (*Series, error) {
	s, rest, err := ReadSeries(b)
	if err == nil && len(rest) != 0 {
		return nil, errTrailing
	}
	return s, err
}

// ReadSeries decodes one serialised series from the start of b and returns the bytes after
// it, for callers that store several series back to back.
func ReadSeries(b []byte) (s *Series, rest []byte, err error) {
	if len(b) == 0 {
		return nil, nil, errors.New("chunkenc: empty series encoding")
	}
	version := b[0]
	if version != formatV1 && version != formatV2 {
		return nil, nil, &VersionError{Version: version}
	}
	nchunks, k := binary.Uvarint(b[1:])
	if k <= 0 {
		return nil, nil, errors.New("chunkenc: malformed chunk count")
	}
	b = b[1+k:]
	s = &Series{chunks: make([]chunk, 0, min(nchunks, uint64(len(b)/minEncodedChunk)))}
	for i := uint64(0); i < nchunks; i++ {
		if b, err = s.readChunk(b, version); err != nil {
			return nil, nil, fmt.Errorf("chunkenc: chunk %d: %w", i, err)
		}
	}
	s.fixed = len(s.chunks) > 0 && isDecimal(s.chunks[len(s.chunks)-1].w.b)
	s.own()
	return s, b, nil
}

// readChunk decodes the chunk at the start of b, appends it to s (still aliasing b) and
// returns the rest of b.
func (s *Series) readChunk(b []byte, version byte) ([]byte, error) {
	n, k1 := binary.Uvarint(b)
	if k1 <= 0 {
		return nil, errMalformed
	}
	size, k2 := binary.Uvarint(b[k1:])
	if k2 <= 0 || size > uint64(len(b)-k1-k2) {
		return nil, errMalformed
	}
	b = b[k1+k2:]
	if version == formatV1 && isDecimal(b[:size]) {
		return nil, errMalformed // version 1 holds Gorilla chunks only
	}
	c, app, err := decodeChunk(b[:size:size], n)
	if err != nil {
		return nil, err
	}
	if k := len(s.chunks); k > 0 && c.minT <= s.chunks[k-1].maxT {
		return nil, errors.New("chunkenc: chunks overlap or are out of order")
	}
	if k := len(s.chunks); k > 0 {
		s.sealed += len(s.chunks[k-1].w.b)
	}
	s.chunks = append(s.chunks, c)
	s.app = app // only the last chunk's state survives: it is the head
	s.n += c.n
	return b[size:], nil
}

// decodeChunk decodes all n points of data, checking it holds exactly those points, and
// returns the chunk with the appender state that continues it. It decodes a run of points at a
// time (chunkIter.read), the way ranges do: recovery decodes every chunk of a checkpoint.
func decodeChunk(data []byte, n uint64) (chunk, appender, error) {
	// Each Gorilla point takes at least two bits, so a larger n cannot be honest (and could
	// overflow int); a decimal chunk may take no bits a point, and holds at most 255.
	if n == 0 || n > 4*uint64(len(data)) && (n > maxDecimalPoints || !isDecimal(data)) {
		return chunk{}, appender{}, errMalformed
	}
	it := newChunkIter(data, int(n))
	c := chunk{n: int(n)}
	var run [skipAt + 1]query.Point
	if it.read(math.MaxInt64, run[:min(int(n), skipAt+1)]) > 0 {
		c.minT = run[0].TS
	}
	if it.i == skipAt+1 && it.err == nil {
		c.mid = it.skipPoint()
	}
	for it.i < it.n && it.err == nil {
		it.read(math.MaxInt64, run[:])
	}
	return finishChunk(c, &it, data)
}

// skipPoint is the skip point of an iterator right after point skipAt; none (off 0) when
// its bit offset does not fit 16 bits.
func (it *chunkIter) skipPoint() skipPoint {
	if it.dec.on {
		m, _ := it.decimalMid()
		return m
	}
	if it.bitPos() > math.MaxUint16 {
		return skipPoint{}
	}
	return skipPoint{off: uint16(it.bitPos()), leading: it.leading, trailing: it.trailing,
		t: it.t, delta: it.delta, v: it.v}
}

// finishChunk completes chunk c of data, once it has decoded all of c's points: it checks that
// they fill data exactly, and returns c with the appender state that continues it.
func finishChunk(c chunk, it *chunkIter, data []byte) (chunk, appender, error) {
	if it.dec.on {
		return finishDecimal(c, it, data)
	}
	if it.err != nil {
		return chunk{}, appender{}, it.err
	}
	c.maxT = it.t
	used := int(it.bitPos())
	free := uint8((8 - used%8) % 8)
	// Exact length and zero padding: the head keeps writing into the last byte by OR.
	if (used+7)/8 != len(data) || (free > 0 && data[len(data)-1]&(1<<free-1) != 0) {
		return chunk{}, appender{}, errMalformed
	}
	c.w = bitWriter{b: data, free: free}
	return c, appender{delta: it.delta, v: it.v, leading: it.leading, trailing: it.trailing}, nil
}

// own copies the decoded chunks out of the caller's buffer: sealed chunks into one shared
// allocation, the head into its own with room to grow.
func (s *Series) own() {
	if len(s.chunks) == 0 {
		return
	}
	buf := make([]byte, 0, s.sealed)
	last := len(s.chunks) - 1
	for i := range s.chunks[:last] {
		c := &s.chunks[i]
		start := len(buf)
		buf = append(buf, c.w.b...)
		c.w.b = buf[start:len(buf):len(buf)] // full slice: nothing may append into a neighbour
	}
	h := &s.chunks[last]
	h.w.b = append(make([]byte, 0, len(h.w.b)+len(h.w.b)/8+8), h.w.b...)
}
