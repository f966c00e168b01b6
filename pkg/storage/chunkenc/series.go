// Package chunkenc stores a series' points compactly: chunks encoded the Gorilla way
// (delta-of-delta timestamps, XOR of float bits), as Prometheus tsdb/chunkenc does.
//
// PLACEHOLDER API, to be replaced by the real implementation: a plain slice, so the rest of the
// server builds and runs while the encoding is written.
package chunkenc

import (
	"encoding/binary"
	"errors"
	"sort"
)

// Series is an append-only sequence of points with strictly increasing timestamps.
// It is not safe for concurrent use: its actor is its only user.
type Series struct {
	ts   []int64
	bits []uint64
}

// NewSeries returns an empty series.
func NewSeries() *Series { return &Series{} }

// Append adds a point. The caller guarantees ts is greater than LastTimestamp when Len() > 0.
func (s *Series) Append(ts int64, bits uint64) {
	s.ts = append(s.ts, ts)
	s.bits = append(s.bits, bits)
}

// Len is the number of points.
func (s *Series) Len() int { return len(s.ts) }

// LastTimestamp is the newest point's timestamp; ok is false for an empty series.
func (s *Series) LastTimestamp() (ts int64, ok bool) {
	if len(s.ts) == 0 {
		return 0, false
	}
	return s.ts[len(s.ts)-1], true
}

// Lookup finds the value at exactly ts.
func (s *Series) Lookup(ts int64) (bits uint64, found bool) {
	i := sort.Search(len(s.ts), func(i int) bool { return s.ts[i] >= ts })
	if i < len(s.ts) && s.ts[i] == ts {
		return s.bits[i], true
	}
	return 0, false
}

// Size is the number of bytes the encoded points occupy.
func (s *Series) Size() int { return 16 * len(s.ts) }

// AppendBinary appends the series' serialised form (for checkpoints) to dst.
func (s *Series) AppendBinary(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s.ts)))
	for i := range s.ts {
		dst = binary.BigEndian.AppendUint64(dst, uint64(s.ts[i]))
		dst = binary.BigEndian.AppendUint64(dst, s.bits[i])
	}
	return dst
}

// DecodeSeries reads what AppendBinary wrote.
func DecodeSeries(b []byte) (*Series, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) != 16*n {
		return nil, errors.New("chunkenc: malformed series")
	}
	b = b[k:]
	s := &Series{}
	for i := uint64(0); i < n; i++ {
		s.Append(int64(binary.BigEndian.Uint64(b[16*i:])), binary.BigEndian.Uint64(b[16*i+8:]))
	}
	return s, nil
}
