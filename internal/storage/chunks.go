package storage

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/taudb/tau/internal/storage/chunkfile"
	"github.com/taudb/tau/internal/storage/diskfmt"
	"github.com/taudb/tau/internal/storage/vfs"
)

// chunkDirName holds the chunk files: chunks/<16-digit sequence number>, immutable, named by
// the newest checkpoint or garbage (removed at start and after each checkpoint).
const chunkDirName = "chunks"

// chunkFiles is the registry of chunk files: every file the newest checkpoint names, open,
// and the next sequence number to use. It belongs to the checkpointer: it is used under
// Disk.ckptMu, and by Recover before the log starts; only its sizes are read elsewhere.
type chunkFiles struct {
	fs      vfs.FS
	dir     string
	log     *zap.Logger
	deleted prometheus.Counter // files deleted because nothing in them was live

	files map[uint64]*chunkfile.File
	next  uint64
	size  atomic.Int64 // bytes of live chunk files, for the gauges
	count atomic.Int64
}

func newChunkFiles(fs vfs.FS, dir string, log *zap.Logger, deleted prometheus.Counter) *chunkFiles {
	return &chunkFiles{fs: fs, dir: dir, log: log, deleted: deleted, files: map[uint64]*chunkfile.File{}, next: 1}
}

// create starts the next chunk file.
func (c *chunkFiles) create() (*chunkfile.Writer, error) {
	w, err := chunkfile.Create(c.fs, c.dir, c.next)
	if err != nil {
		return nil, err
	}
	c.next++
	return w, nil
}

// finish completes w and opens the file it wrote; on failure nothing of it is left.
func (c *chunkFiles) finish(w *chunkfile.Writer) (*chunkfile.File, error) {
	if _, err := w.Finish(); err != nil {
		return nil, err
	}
	path := filepath.Join(c.dir, chunkfile.Name(w.Seq()))
	f, err := chunkfile.Open(path, w.Seq())
	if err != nil {
		c.remove(path)
		return nil, err
	}
	return f, nil
}

// open is Recover's part for chunk files: it opens every file the checkpoint names,
// builds each series from its spans and the chunks the checkpoint held in memory, and removes
// every chunk file the checkpoint does not name (written by a checkpoint that never committed,
// or superseded by one that did).
func (c *chunkFiles) open(ck *checkpoint) error {
	names, err := c.fs.ReadDir(c.dir)
	if err != nil {
		return fmt.Errorf("storage: list %s: %w", c.dir, err)
	}
	for _, name := range names {
		if n, ok := diskfmt.ParseSeq(strings.TrimSuffix(name, chunkfile.TmpSuffix)); ok && n >= c.next {
			c.next = n + 1
		}
	}
	for label, st := range ck.series {
		refs := ck.spans[label]
		spans := make([]span, 0, len(refs))
		for _, r := range refs {
			f, err := c.openFile(r.File)
			if err != nil {
				return err
			}
			sp, err := spanOf(f, r)
			if err != nil {
				return fmt.Errorf("storage: checkpoint at segment %d: %w", ck.segment, err)
			}
			spans = append(spans, sp)
		}
		st.Series = newSeriesFrom(st.Series.mem, spans)
	}
	for _, name := range names {
		if n, ok := diskfmt.ParseSeq(name); !ok || c.files[n] == nil {
			c.remove(filepath.Join(c.dir, name))
		}
	}
	return nil
}

// openFile opens chunk file seq once.
func (c *chunkFiles) openFile(seq uint64) (*chunkfile.File, error) {
	if f := c.files[seq]; f != nil {
		return f, nil
	}
	path := filepath.Join(c.dir, chunkfile.Name(seq))
	f, err := chunkfile.Open(path, seq)
	if err != nil {
		var ve *chunkfile.VersionError
		if errors.As(err, &ve) {
			return nil, &VersionError{Path: path, Format: "chunk file", Version: ve.Version, Reads: "versions 1 and 2"}
		}
		return nil, fmt.Errorf("storage: a checkpoint names chunk file %s: %w", path, err)
	}
	c.files[seq] = f
	c.size.Add(f.Size())
	c.count.Add(1)
	return f, nil
}

// flush writes the snapshots' full chunks that are not expired to one new chunk file, one run
// per series, and sets each snapshot's Spans to what the checkpoint will name: its spans not
// wholly expired, then the new run. The series learn of it only once the checkpoint commits
// (install). It returns the new file, nil when there was nothing to write.
func (c *chunkFiles) flush(snaps []SeriesSnapshot) (*chunkfile.File, error) {
	var w *chunkfile.Writer
	newRuns := make(map[int]chunkfile.Ref)
	for i := range snaps {
		s := &snaps[i]
		k := 0
		for k < len(s.Flush) && s.Flush[k].MaxT < s.Keep {
			k++
		}
		if k == len(s.Flush) {
			continue
		}
		if w == nil {
			var err error
			if w, err = c.create(); err != nil {
				return nil, err
			}
		}
		keep := s.Flush[k:]
		ref, err := w.AddRun(keep, keep[len(keep)-1].MaxT)
		if err != nil {
			w.Abort()
			return nil, err
		}
		newRuns[i] = ref
	}
	var nf *chunkfile.File
	if w != nil {
		var err error
		if nf, err = c.finish(w); err != nil {
			return nil, err
		}
	}
	for i := range snaps {
		s := &snaps[i]
		refs := s.Spans[:0]
		for _, r := range s.Spans {
			if r.MaxT >= s.Keep {
				refs = append(refs, r)
			}
		}
		if r, ok := newRuns[i]; ok {
			refs = append(refs, r)
		}
		s.Spans = refs
		s.flushed = len(s.Flush)
	}
	return nf, nil
}

// prepareInstall gives each snapshot the spans its series reads from once the checkpoint is
// committed; added are the files the checkpoint is the first to name.
func (c *chunkFiles) prepareInstall(snaps []SeriesSnapshot, added ...*chunkfile.File) error {
	files := func(seq uint64) *chunkfile.File {
		for _, f := range added {
			if f != nil && f.Seq() == seq {
				return f
			}
		}
		return c.files[seq]
	}
	for i := range snaps {
		s := &snaps[i]
		s.spans = make([]span, 0, len(s.Spans))
		for _, r := range s.Spans {
			f := files(r.File)
			if f == nil {
				return fmt.Errorf("storage: span in chunk file %d, which is not open", r.File)
			}
			sp, err := spanOf(f, r)
			if err != nil {
				return err
			}
			s.spans = append(s.spans, sp)
		}
		s.install = true
	}
	return nil
}

// adopt makes new files part of the live set.
func (c *chunkFiles) adopt(files ...*chunkfile.File) {
	for _, f := range files {
		if f != nil {
			c.files[f.Seq()] = f
			c.size.Add(f.Size())
			c.count.Add(1)
		}
	}
}

// discard closes and removes files a failed checkpoint wrote.
func (c *chunkFiles) discard(files ...*chunkfile.File) {
	for _, f := range files {
		if f != nil {
			_ = f.Close()
			c.remove(filepath.Join(c.dir, chunkfile.Name(f.Seq())))
		}
	}
}

// collect removes the chunk files the committed checkpoint (snaps) no longer names. Every
// series has installed its new spans by now, so nothing reads them: they are unmapped and
// deleted. compacted are files whose content moved to another file; any other file goes
// because everything it held expired or was dropped.
func (c *chunkFiles) collect(snaps []SeriesSnapshot, compacted map[uint64]bool) {
	named := make(map[uint64]bool, len(c.files))
	for i := range snaps {
		for _, r := range snaps[i].Spans {
			named[r.File] = true
		}
	}
	for seq, f := range c.files {
		if named[seq] {
			continue
		}
		delete(c.files, seq)
		c.size.Add(-f.Size())
		c.count.Add(-1)
		if err := f.Close(); err != nil {
			c.log.Warn("cannot unmap chunk file", zap.Uint64("file", seq), zap.Error(err))
		}
		c.remove(filepath.Join(c.dir, chunkfile.Name(seq)))
		if !compacted[seq] {
			c.deleted.Inc()
		}
	}
}

func (c *chunkFiles) remove(path string) {
	if err := c.fs.Remove(path); err != nil {
		c.log.Warn("cannot remove superseded file", zap.String("path", path), zap.Error(err))
	}
}
