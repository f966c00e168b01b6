package storage

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"go.uber.org/zap"

	"github.com/taudb/tau/internal/storage/chunkfile"
)

// chunkDirName holds the chunk files: chunks/<16-digit sequence number>, immutable, named by
// the newest checkpoint or garbage (removed at start and after each checkpoint).
const chunkDirName = "chunks"

// openChunks is Recover's part for chunk files: it opens every file the checkpoint names,
// builds each series from its spans and the chunks the checkpoint held in memory, and removes
// every chunk file the checkpoint does not name (written by a checkpoint that never committed,
// or superseded by one that did).
func (d *Disk) openChunks(ck *checkpoint) error {
	names, err := d.fs.ReadDir(d.chunkDir)
	if err != nil {
		return fmt.Errorf("storage: list %s: %w", d.chunkDir, err)
	}
	for _, name := range names {
		if n, ok := parseSeq(strings.TrimSuffix(name, chunkfile.TmpSuffix)); ok && n >= d.nextFile {
			d.nextFile = n + 1
		}
	}
	for label, st := range ck.series {
		refs := ck.spans[label]
		spans := make([]span, 0, len(refs))
		for _, r := range refs {
			f, err := d.openFile(r.File)
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
		if n, ok := parseSeq(name); !ok || d.files[n] == nil {
			d.remove(filepath.Join(d.chunkDir, name))
		}
	}
	return nil
}

// openFile opens chunk file seq once.
func (d *Disk) openFile(seq uint64) (*chunkfile.File, error) {
	if f := d.files[seq]; f != nil {
		return f, nil
	}
	path := filepath.Join(d.chunkDir, chunkfile.Name(seq))
	f, err := chunkfile.Open(path, seq)
	if err != nil {
		var ve *chunkfile.VersionError
		if errors.As(err, &ve) {
			return nil, &VersionError{Path: path, Format: "chunk file", Version: ve.Version, Reads: "versions 1 and 2"}
		}
		return nil, fmt.Errorf("storage: a checkpoint names chunk file %s: %w", path, err)
	}
	d.files[seq] = f
	d.fileSize.Add(f.Size())
	d.fileNum.Add(1)
	return f, nil
}

// flush writes the snapshots' full chunks that are not expired to one new chunk file, one run
// per series, and sets each snapshot's Spans to what the checkpoint will name: its spans not
// wholly expired, then the new run. The series learn of it only once the checkpoint commits
// (install). It returns the new file, nil when there was nothing to write.
func (d *Disk) flush(snaps []SeriesSnapshot) (*chunkfile.File, error) {
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
			if w, err = chunkfile.Create(d.fs, d.chunkDir, d.nextFile); err != nil {
				return nil, err
			}
			d.nextFile++
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
		if _, err := w.Finish(); err != nil {
			return nil, err
		}
		var err error
		if nf, err = chunkfile.Open(filepath.Join(d.chunkDir, chunkfile.Name(w.Seq())), w.Seq()); err != nil {
			d.remove(filepath.Join(d.chunkDir, chunkfile.Name(w.Seq())))
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
func (d *Disk) prepareInstall(snaps []SeriesSnapshot, added ...*chunkfile.File) error {
	files := func(seq uint64) *chunkfile.File {
		for _, f := range added {
			if f != nil && f.Seq() == seq {
				return f
			}
		}
		return d.files[seq]
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
func (d *Disk) adopt(files ...*chunkfile.File) {
	for _, f := range files {
		if f != nil {
			d.files[f.Seq()] = f
			d.fileSize.Add(f.Size())
			d.fileNum.Add(1)
		}
	}
}

// discard closes and removes files a failed checkpoint wrote.
func (d *Disk) discard(files ...*chunkfile.File) {
	for _, f := range files {
		if f != nil {
			_ = f.Close()
			d.remove(filepath.Join(d.chunkDir, chunkfile.Name(f.Seq())))
		}
	}
}

// collect removes the chunk files the committed checkpoint (snaps) no longer names. Every
// series has installed its new spans by now, so nothing reads them: they are unmapped and
// deleted. compacted are files whose content moved to another file; any other file goes
// because everything it held expired or was dropped.
func (d *Disk) collect(snaps []SeriesSnapshot, compacted map[uint64]bool) {
	named := make(map[uint64]bool, len(d.files))
	for i := range snaps {
		for _, r := range snaps[i].Spans {
			named[r.File] = true
		}
	}
	for seq, f := range d.files {
		if named[seq] {
			continue
		}
		delete(d.files, seq)
		d.fileSize.Add(-f.Size())
		d.fileNum.Add(-1)
		if err := f.Close(); err != nil {
			d.log.Warn("cannot unmap chunk file", zap.Uint64("file", seq), zap.Error(err))
		}
		d.remove(filepath.Join(d.chunkDir, chunkfile.Name(seq)))
		if !compacted[seq] {
			d.metrics.retentionDeleted.Inc()
		}
	}
}
