package storage

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/taudb/tau/internal/series"
	"github.com/taudb/tau/internal/storage/chunkenc"
	"github.com/taudb/tau/internal/storage/chunkfile"
	"github.com/taudb/tau/internal/storage/diskfmt"
)

// Checkpoint file format, version 2 (checkpoint/<segment>, integers little-endian):
//
//	header  "TAUCKPT" | version, one ASCII digit ('2') | u64 segment | u64 LSN | u64 series count
//	series  u32 data length | 32-byte label | u64 LastLSN |
//	        u32 span count | spans × (u64 file | u64 offset | u32 size | u32 chunks |
//	                                  u64 points | i64 first ts | i64 last ts) |
//	        data (chunkenc.Series.AppendBinary of the chunks held in memory: the head)
//	trailer "TAUCEND1" | u32 CRC32C of every byte before the trailer's CRC
//
// A span is a run of the series' full chunks in a chunk file (package chunkfile): the
// checkpoint is what says which files are live. Version 1, which every release before chunk
// files wrote, is the same without the span count and spans: its data holds every chunk.
//
// segment is the Mark: the log is replayed from that segment on. LSN is the last LSN assigned
// when the checkpoint was committed, so LSNs stay increasing even when every record it covers
// was a drop. The file is streamed in both directions, never held whole in memory.
//
// The eighth byte has always been the format version. A checkpoint of a version digit this
// release does not read is a VersionError, never skipped as damaged (an older checkpoint could
// be missing what a newer release logged since) and never misread; a byte that is no digit is
// damage. The series data carry chunkenc's own version (its first byte), checked the same way.
// testdata/checkpoint-v1.golden and checkpoint-v2.golden pin the formats.
const checkpointVersion = 2 // the version this release writes; it reads 1 and 2

var (
	checkpointTag     = [7]byte{'T', 'A', 'U', 'C', 'K', 'P', 'T'}
	checkpointTrailer = [8]byte{'T', 'A', 'U', 'C', 'E', 'N', 'D', '1'}
)

// spanSize is one span's bytes in a version 2 checkpoint.
const spanSize = 8 + 8 + 4 + 4 + 8 + 8 + 8

const checkpointBufSize = 1 << 20

// BeginCheckpoint cuts the log: every record appended before the call lies in a segment
// before the returned mark.
func (d *Disk) BeginCheckpoint() (Mark, error) {
	d.ckptMu.Lock()
	defer d.ckptMu.Unlock()
	seg, err := d.wal.Cut()
	if err != nil {
		return Mark{}, err
	}
	return Mark{Segment: seg}, nil
}

// CommitCheckpoint writes the snapshots' full chunks to a new chunk file, then snaps as the
// checkpoint at m, then deletes what it supersedes. Each step leaves a recoverable directory:
// until the rename, recovery uses the old checkpoint, the files it names and the old segments
// (the new chunk file is garbage); after it, the new checkpoint and the segments from m on.
func (d *Disk) CommitCheckpoint(m Mark, snaps []SeriesSnapshot, install func()) error {
	d.ckptMu.Lock()
	defer d.ckptMu.Unlock()
	start := time.Now()
	if m.Segment == 0 || m.Segment > d.wal.Segment() {
		return fmt.Errorf("storage: checkpoint mark %d is not a segment this log cut", m.Segment)
	}
	lsn := d.wal.LastLSN()
	// A snapshot may hold records whose batch is not yet fsynced (FsyncInterval, or a batch
	// still in flight): once the segments before m are gone, the checkpoint is their only copy.
	if err := d.Sync(); err != nil {
		return err
	}
	nf, err := d.chunks.flush(snaps)
	if err != nil {
		return fmt.Errorf("storage: write chunk file: %w", err)
	}
	var merged *chunkfile.File
	window := d.compactor.window(snaps, nf)
	if window != nil {
		if merged, err = d.compactor.compact(snaps, window); err != nil {
			d.chunks.discard(nf)
			return fmt.Errorf("storage: merge chunk files: %w", err)
		}
	}
	if err := d.chunks.prepareInstall(snaps, nf, merged); err != nil {
		d.chunks.discard(nf, merged)
		return err
	}
	path := filepath.Join(d.ckptDir, diskfmt.SeqName(m.Segment))
	if err := d.writeCheckpoint(path, m.Segment, lsn, snaps); err != nil {
		d.chunks.discard(nf, merged)
		for i := range snaps {
			snaps[i].install = false
		}
		return fmt.Errorf("storage: write checkpoint %s: %w", path, err)
	}
	d.chunks.adopt(nf, merged)
	if fi, err := d.fs.Stat(path); err == nil {
		d.ckptSize.Store(fi.Size())
	}
	d.removeCheckpointsBefore(m.Segment)
	d.wal.RemoveBefore(m.Segment)
	if install != nil {
		install()
	}
	d.chunks.collect(snaps, window)
	d.metrics.checkpointDuration.Observe(time.Since(start).Seconds())
	d.metrics.lastCheckpoint.SetToCurrentTime()
	d.log.Info("checkpoint committed", zap.String("path", path), zap.Int("series", len(snaps)),
		zap.Int64("chunk_files", d.chunks.count.Load()), zap.Duration("duration", time.Since(start)))
	return nil
}

// writeCheckpoint writes to a temporary name, fsyncs, renames into place and fsyncs the
// directory: the checkpoint appears whole or not at all.
func (d *Disk) writeCheckpoint(path string, seg, lsn uint64, snaps []SeriesSnapshot) error {
	tmp := path + diskfmt.TmpSuffix
	f, err := d.fs.Create(tmp)
	if err != nil {
		return err
	}
	err = encodeCheckpoint(f, checkpointVersion, seg, lsn, snaps)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = d.fs.Rename(tmp, path)
	}
	if err == nil {
		err = d.fs.SyncDir(d.ckptDir)
	}
	if err != nil {
		_ = d.fs.Remove(tmp) // best effort; recovery ignores and removes *.tmp anyway
	}
	return err
}

// crcWriter feeds everything written through it to a CRC.
type crcWriter struct {
	w   io.Writer
	crc hash.Hash32
}

func (c crcWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.crc.Write(p[:n])
	return n, err
}

// encodeCheckpoint writes snaps as a checkpoint of version (1 or 2; 1 has no spans, and
// only tests write it, to pin what older releases wrote).
func encodeCheckpoint(w io.Writer, version byte, seg, lsn uint64, snaps []SeriesSnapshot) error {
	crc := crc32.New(diskfmt.Castagnoli)
	bw := bufio.NewWriterSize(crcWriter{w: w, crc: crc}, checkpointBufSize)
	var hdr [8 + 8 + 8 + 8]byte
	copy(hdr[:], checkpointTag[:])
	hdr[7] = '0' + version
	binary.LittleEndian.PutUint64(hdr[8:], seg)
	binary.LittleEndian.PutUint64(hdr[16:], lsn)
	binary.LittleEndian.PutUint64(hdr[24:], uint64(len(snaps)))
	bw.Write(hdr[:])
	var ent [4 + series.LabelSize + 8]byte
	var buf []byte
	for i := range snaps {
		s := &snaps[i]
		if len(s.Data) > math.MaxUint32 {
			return fmt.Errorf("series snapshot of %d bytes is too large", len(s.Data))
		}
		binary.LittleEndian.PutUint32(ent[:], uint32(len(s.Data)))
		copy(ent[4:], s.Label[:])
		binary.LittleEndian.PutUint64(ent[4+series.LabelSize:], s.LastLSN)
		bw.Write(ent[:])
		if version >= 2 {
			buf = appendSpans(buf[:0], s.Spans)
			bw.Write(buf)
		} else if len(s.Spans) > 0 {
			return errors.New("a version 1 checkpoint cannot hold spans")
		}
		bw.Write(s.Data)
	}
	bw.Write(checkpointTrailer[:])
	if err := bw.Flush(); err != nil {
		return err
	}
	var sum [4]byte
	binary.LittleEndian.PutUint32(sum[:], crc.Sum32())
	_, err := w.Write(sum[:])
	return err
}

func appendSpans(b []byte, refs []chunkfile.Ref) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(refs)))
	for _, r := range refs {
		b = binary.LittleEndian.AppendUint64(b, r.File)
		b = binary.LittleEndian.AppendUint64(b, r.Off)
		b = binary.LittleEndian.AppendUint32(b, r.Size)
		b = binary.LittleEndian.AppendUint32(b, r.Chunks)
		b = binary.LittleEndian.AppendUint64(b, r.Points)
		b = binary.LittleEndian.AppendUint64(b, uint64(r.MinT))
		b = binary.LittleEndian.AppendUint64(b, uint64(r.MaxT))
	}
	return b
}

func readSpans(in io.Reader, size int64) ([]chunkfile.Ref, error) {
	var n [4]byte
	if _, err := io.ReadFull(in, n[:]); err != nil {
		return nil, err
	}
	count := binary.LittleEndian.Uint32(n[:])
	if int64(count) > size/spanSize {
		return nil, fmt.Errorf("%d spans cannot fit in %d bytes", count, size)
	}
	if count == 0 {
		return nil, nil
	}
	b := make([]byte, int(count)*spanSize)
	if _, err := io.ReadFull(in, b); err != nil {
		return nil, err
	}
	refs := make([]chunkfile.Ref, count)
	for i := range refs {
		e := b[i*spanSize:]
		refs[i] = chunkfile.Ref{
			File: binary.LittleEndian.Uint64(e), Off: binary.LittleEndian.Uint64(e[8:]),
			Size: binary.LittleEndian.Uint32(e[16:]), Chunks: binary.LittleEndian.Uint32(e[20:]),
			Points: binary.LittleEndian.Uint64(e[24:]),
			MinT:   int64(binary.LittleEndian.Uint64(e[32:])), MaxT: int64(binary.LittleEndian.Uint64(e[40:])),
		}
		if i > 0 && refs[i].MinT <= refs[i-1].MaxT || refs[i].MinT > refs[i].MaxT || refs[i].Points == 0 {
			return nil, fmt.Errorf("span %d: out of order or empty", i)
		}
	}
	return refs, nil
}

// checkpoint is a decoded checkpoint file.
type checkpoint struct {
	segment uint64
	lsn     uint64
	series  map[series.Label]*SeriesState
	spans   map[series.Label][]chunkfile.Ref // what each series holds on disk
}

// errBadCheckpoint marks a checkpoint file that does not decode.
var errBadCheckpoint = errors.New("storage: bad checkpoint")

// readCheckpoint decodes and verifies a checkpoint. Series are decoded as they stream by; the
// CRC at the end decides whether any of it is trusted. A version this release does not read,
// of the file or of a series' encoding, is a VersionError (its Path left for the caller).
func readCheckpoint(r io.Reader, size int64) (*checkpoint, error) {
	crc := crc32.New(diskfmt.Castagnoli)
	br := bufio.NewReaderSize(r, checkpointBufSize)
	in := io.TeeReader(br, crc)
	var hdr [32]byte
	if _, err := io.ReadFull(in, hdr[:]); err != nil {
		return nil, fmt.Errorf("%w: header: %w", errBadCheckpoint, err)
	}
	if [7]byte(hdr[:7]) != checkpointTag {
		return nil, fmt.Errorf("%w: bad magic", errBadCheckpoint)
	}
	switch v := hdr[7]; {
	case v < '1' || v > '9':
		return nil, fmt.Errorf("%w: version byte %#02x", errBadCheckpoint, v)
	case v != '1' && v != '2':
		return nil, &VersionError{Format: "checkpoint", Version: int(v - '0'), Reads: "versions 1 and 2"}
	}
	version := hdr[7] - '0'
	ck := &checkpoint{
		segment: binary.LittleEndian.Uint64(hdr[8:]),
		lsn:     binary.LittleEndian.Uint64(hdr[16:]),
	}
	count := binary.LittleEndian.Uint64(hdr[24:])
	if count > uint64(size)/(4+series.LabelSize+8) {
		return nil, fmt.Errorf("%w: %d series cannot fit in %d bytes", errBadCheckpoint, count, size)
	}
	ck.series = make(map[series.Label]*SeriesState, count)
	ck.spans = make(map[series.Label][]chunkfile.Ref)
	// A series encoded in a version chunkenc does not read is only known to be that, and not a
	// damaged byte, once the CRC verifies: remember it and read on.
	var future error
	for i := uint64(0); i < count; i++ {
		err := ck.readSeries(in, version, size)
		var ve *chunkenc.VersionError
		if errors.As(err, &ve) && future == nil {
			future = &VersionError{Format: "series encoding in checkpoint", Version: int(ve.Version), Reads: "versions 1 and 2"}
			err = nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: series %d: %w", errBadCheckpoint, i, err)
		}
	}
	var tr [8]byte
	if _, err := io.ReadFull(in, tr[:]); err != nil || tr != checkpointTrailer {
		return nil, fmt.Errorf("%w: missing trailer", errBadCheckpoint)
	}
	want := crc.Sum32()
	var sum [4]byte
	if _, err := io.ReadFull(br, sum[:]); err != nil || binary.LittleEndian.Uint32(sum[:]) != want {
		return nil, fmt.Errorf("%w: checksum mismatch", errBadCheckpoint)
	}
	if future != nil {
		return nil, future
	}
	return ck, nil
}

func (ck *checkpoint) readSeries(in io.Reader, version byte, size int64) error {
	var ent [4 + series.LabelSize + 8]byte
	if _, err := io.ReadFull(in, ent[:]); err != nil {
		return err
	}
	n := binary.LittleEndian.Uint32(ent[:])
	if int64(n) > size {
		return fmt.Errorf("data length %d beyond the file", n)
	}
	st := &SeriesState{LastLSN: binary.LittleEndian.Uint64(ent[4+series.LabelSize:])}
	copy(st.Label[:], ent[4:])
	if ck.series[st.Label] != nil {
		return errors.New("duplicate label")
	}
	if version >= 2 {
		refs, err := readSpans(in, size)
		if err != nil {
			return err
		}
		if len(refs) > 0 {
			ck.spans[st.Label] = refs
		}
	}
	// A fresh buffer per series: the decoded series may keep it.
	data := make([]byte, n)
	if _, err := io.ReadFull(in, data); err != nil {
		return err
	}
	s, err := chunkenc.DecodeSeries(data)
	if err != nil {
		return err
	}
	if refs := ck.spans[st.Label]; len(refs) > 0 {
		if first, ok := s.FirstTimestamp(); ok && first <= refs[len(refs)-1].MaxT {
			return errors.New("chunks in memory overlap the spans on disk")
		}
	}
	st.Series = newSeriesFrom(s, nil) // its spans are opened by Recover (openChunks)
	ck.series[st.Label] = st
	return nil
}

// loadCheckpoint returns the newest checkpoint that verifies, or an empty one when there is
// none. A damaged newer checkpoint is skipped with a warning; if the segments an older one
// needs are gone, replay notices the gap and fails.
func (d *Disk) loadCheckpoint() (*checkpoint, error) {
	seqs, err := diskfmt.ListSeqs(d.fs, d.ckptDir)
	if err != nil {
		return nil, err
	}
	for i := len(seqs) - 1; i >= 0; i-- {
		path := filepath.Join(d.ckptDir, diskfmt.SeqName(seqs[i]))
		ck, err := d.readCheckpointFile(path)
		if err == nil && ck.segment != seqs[i] {
			err = fmt.Errorf("%w: names segment %d", errBadCheckpoint, ck.segment)
		}
		if err == nil {
			return ck, nil
		}
		var ve *VersionError
		if errors.As(err, &ve) {
			return nil, err
		}
		if !errors.Is(err, errBadCheckpoint) {
			return nil, fmt.Errorf("storage: read checkpoint %s: %w", path, err)
		}
		d.log.Warn("skipping damaged checkpoint", zap.String("path", path), zap.Error(err))
	}
	return &checkpoint{series: map[series.Label]*SeriesState{}, spans: map[series.Label][]chunkfile.Ref{}}, nil
}

func (d *Disk) readCheckpointFile(path string) (*checkpoint, error) {
	f, err := d.fs.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read only: a failed close loses nothing
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	ck, err := readCheckpoint(f, fi.Size())
	var ve *VersionError
	if errors.As(err, &ve) {
		ve.Path = path
	}
	return ck, err
}

// removeCheckpointsBefore deletes the checkpoints that the checkpoint at seg supersedes, and
// any temporary checkpoint left by a crash; the log's segments before seg go with
// wal.Log.RemoveBefore. Failures only leave garbage: they are logged.
func (d *Disk) removeCheckpointsBefore(seg uint64) {
	names, err := d.fs.ReadDir(d.ckptDir)
	if err != nil {
		d.log.Warn("cannot list checkpoints", zap.Error(err))
	}
	for _, name := range names {
		if n, ok := diskfmt.ParseSeq(name); (ok && n < seg) || strings.HasSuffix(name, diskfmt.TmpSuffix) {
			d.remove(filepath.Join(d.ckptDir, name))
		}
	}
}

func (d *Disk) remove(path string) {
	if err := d.fs.Remove(path); err != nil {
		d.log.Warn("cannot remove superseded file", zap.String("path", path), zap.Error(err))
	}
}
