package storage

import "github.com/taudb/tau/internal/storage/chunkfile"

// Snapshot fills dst with what a checkpoint needs of the series (Label and LastLSN are the
// caller's): its spans, its full chunks in memory, its head encoded. Full chunks are shared,
// not copied.
func (s *Series) Snapshot(dst *SeriesSnapshot) {
	dst.Spans = dst.Spans[:0]
	for _, sp := range s.spans {
		dst.Spans = append(dst.Spans, sp.ref)
	}
	dst.Flush = dst.Flush[:0]
	for i := range s.mem.Sealed() {
		dst.Flush = append(dst.Flush, s.mem.SealedChunk(i))
	}
	dst.Data = s.mem.AppendBinaryFrom(s.mem.Sealed(), dst.Data[:0])
	dst.Keep = s.Keep()
	dst.spans, dst.flushed, dst.install = nil, 0, false
}

// Install makes the series read what a committed checkpoint says it holds on disk: its spans,
// and its oldest full chunks, now in a file, leave the head for the read cache (cache.go).
// Chunks sealed since the snapshot stay.
func (s *Series) Install(snap *SeriesSnapshot) {
	if !snap.install {
		return
	}
	flushed := s.mem.TakeSealed(snap.flushed)
	s.account(s.mem.Chunks())
	old := s.spans
	s.spans = snap.spans
	s.installCache(old, flushed)
	s.diskPoints = 0
	for _, sp := range s.spans {
		s.diskPoints += sp.ref.Points
	}
}

// spanOf opens a run of an open file.
func spanOf(f *chunkfile.File, ref chunkfile.Ref) (span, error) {
	run, err := f.Run(ref)
	return span{ref: ref, run: run}, err
}
