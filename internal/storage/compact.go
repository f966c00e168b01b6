package storage

import (
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/taudb/tau/internal/storage/chunkenc"
	"github.com/taudb/tau/internal/storage/chunkfile"
)

// Compaction policy. Every checkpoint writes one chunk file, so files are many and small (a
// checkpoint every 5 minutes makes 288 a day). A checkpoint therefore also merges the newest
// run of small files into one, as Prometheus merges its blocks: with fewer files each series
// has fewer spans, in memory and in every checkpoint. Files grow toward compactTarget and
// then stay until they expire.
const (
	compactTarget   = 64 << 20 // a merged file is at most this big
	compactMinFiles = 4        // merging fewer would rewrite too much for too little
	// rewriteExpired is the share of a file's bytes, estimated expired, that makes it worth
	// rewriting without them: retention (E6) reclaims a large file long before all of it has
	// expired, at the cost of copying the rest once.
	rewriteExpired = 0.5
)

// compactor merges chunk files, as Prometheus' compactor merges blocks, and rewrites files
// mostly expired. It works on the checkpointer's registry (chunkFiles), under Disk.ckptMu.
type compactor struct {
	files    *chunkFiles
	log      *zap.Logger
	count    prometheus.Counter
	duration prometheus.Observer
}

// window picks what a checkpoint compacts beside the file it wrote: a run of small files to
// merge, or else one file mostly expired; nil for nothing.
func (k *compactor) window(snaps []SeriesSnapshot, exclude *chunkfile.File) map[uint64]bool {
	if w := k.mergeWindow(exclude); w != nil {
		return w
	}
	return k.expiredWindow(snaps, exclude)
}

// mergeWindow picks the files to merge: the newest consecutive live files (before the
// one this checkpoint wrote) whose sizes add up to at most compactTarget, when there are at
// least compactMinFiles of them.
func (k *compactor) mergeWindow(exclude *chunkfile.File) map[uint64]bool {
	seqs := make([]uint64, 0, len(k.files.files))
	for seq := range k.files.files {
		if exclude == nil || seq != exclude.Seq() {
			seqs = append(seqs, seq)
		}
	}
	slices.Sort(seqs)
	var total int64
	window := map[uint64]bool{}
	for i := len(seqs) - 1; i >= 0; i-- {
		size := k.files.files[seqs[i]].Size()
		if total+size > compactTarget {
			break
		}
		total += size
		window[seqs[i]] = true
	}
	if len(window) < compactMinFiles {
		return nil
	}
	return window
}

// expiredWindow picks the file most of whose bytes have expired (estimated per span from the
// share of its time range before the series' Keep), for compact to rewrite alone; nil when no
// file passes rewriteExpired.
func (k *compactor) expiredWindow(snaps []SeriesSnapshot, exclude *chunkfile.File) map[uint64]bool {
	expired := map[uint64]float64{}
	for i := range snaps {
		s := &snaps[i]
		for _, r := range s.Spans {
			if r.MinT >= s.Keep || r.MaxT < s.Keep || r.MaxT == r.MinT {
				continue // all live (or wholly expired: no longer named at all)
			}
			share := (float64(s.Keep) - float64(r.MinT)) / (float64(r.MaxT) - float64(r.MinT))
			expired[r.File] += share * float64(r.Size)
		}
	}
	best, bestShare := uint64(0), rewriteExpired
	for seq, bytes := range expired {
		f := k.files.files[seq]
		if f == nil || (exclude != nil && seq == exclude.Seq()) {
			continue
		}
		if share := bytes / float64(f.Size()); share >= bestShare {
			best, bestShare = seq, share
		}
	}
	if best == 0 {
		return nil
	}
	return map[uint64]bool{best: true}
}

// compact merges the window's files into one: per series, each run of its consecutive spans
// in them becomes one run, without the chunks that expired. It rewrites the snapshots' Spans to name the new file, and
// returns it. Nothing is deleted here: the inputs go once the checkpoint naming the new file
// is committed and every series has installed it (collect).
func (k *compactor) compact(snaps []SeriesSnapshot, window map[uint64]bool) (*chunkfile.File, error) {
	start := time.Now()
	w, err := k.files.create()
	if err != nil {
		return nil, err
	}
	var chunks []chunkenc.Chunk
	for i := range snaps {
		s := &snaps[i]
		if chunks, err = k.compactSpans(w, s, window, chunks); err != nil {
			w.Abort()
			return nil, err
		}
	}
	f, err := k.files.finish(w)
	if err != nil {
		return nil, err
	}
	k.count.Inc()
	k.duration.Observe(time.Since(start).Seconds())
	k.log.Debug("chunk files merged", zap.Int("files", len(window)), zap.Uint64("into", w.Seq()),
		zap.Int64("bytes", f.Size()), zap.Duration("took", time.Since(start)))
	return f, nil
}

// compactSpans rewrites s.Spans: each run of consecutive spans in the window's files becomes
// one run in w, without its expired chunks (or nothing, when all expired). A series may have
// several such runs: a rewritten file takes a new, higher number than files holding newer
// points, so file numbers are not time order, and spans are kept in time order.
func (k *compactor) compactSpans(w *chunkfile.Writer, s *SeriesSnapshot, window map[uint64]bool, buf []chunkenc.Chunk) ([]chunkenc.Chunk, error) {
	out := make([]chunkfile.Ref, 0, len(s.Spans))
	for lo := 0; lo < len(s.Spans); {
		if !window[s.Spans[lo].File] {
			out = append(out, s.Spans[lo])
			lo++
			continue
		}
		hi := lo + 1
		for hi < len(s.Spans) && window[s.Spans[hi].File] {
			hi++
		}
		var err error
		if buf, err = k.liveChunks(buf[:0], s.Spans[lo:hi], s.Keep); err != nil {
			return buf, err
		}
		if len(buf) > 0 {
			ref, err := w.AddRun(buf, s.Spans[hi-1].MaxT)
			if err != nil {
				return buf, err
			}
			out = append(out, ref)
		}
		lo = hi
	}
	s.Spans = out
	return buf, nil
}

// liveChunks appends the chunks of spans that hold a point at or after keep, verified.
func (k *compactor) liveChunks(dst []chunkenc.Chunk, spans []chunkfile.Ref, keep int64) ([]chunkenc.Chunk, error) {
	for _, r := range spans {
		if r.MaxT < keep {
			continue
		}
		f := k.files.files[r.File]
		if f == nil {
			return nil, fmt.Errorf("storage: span in chunk file %d, which is not open", r.File)
		}
		run, err := f.Run(r)
		if err != nil {
			return nil, err
		}
		for i := range run.Chunks() {
			// Chunk i ends before chunk i+1 starts: if that start is at or before keep, every
			// point of chunk i is expired.
			if i+1 < run.Chunks() && run.MinT(i+1) <= keep {
				continue
			}
			b, n, err := run.Chunk(i)
			if err != nil {
				return nil, err
			}
			dst = append(dst, chunkenc.Chunk{Data: b, N: n})
		}
	}
	return dst, nil
}
