package chunkfile

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"path/filepath"

	"github.com/taudb/tau/internal/storage/chunkenc"
	"github.com/taudb/tau/internal/storage/vfs"
)

// TmpSuffix marks a file still being written; recovery removes such files.
const TmpSuffix = ".tmp"

// Name is the file name of sequence number seq.
func Name(seq uint64) string { return fmt.Sprintf("%016d", seq) }

// Writer writes one chunk file under a temporary name; Finish makes it durable and visible.
type Writer struct {
	fs  vfs.FS
	dir string
	seq uint64
	f   vfs.File
	bw  *bufio.Writer
	off uint64
	idx []byte
	err error
}

// Create starts file seq in dir.
func Create(fs vfs.FS, dir string, seq uint64) (*Writer, error) {
	f, err := fs.Create(filepath.Join(dir, Name(seq)+TmpSuffix))
	if err != nil {
		return nil, err
	}
	w := &Writer{fs: fs, dir: dir, seq: seq, f: f, bw: bufio.NewWriterSize(f, 1<<20)}
	var hdr [headerSize]byte
	copy(hdr[:], magic[:])
	binary.LittleEndian.PutUint64(hdr[8:], seq)
	w.write(hdr[:])
	return w, w.err
}

func (w *Writer) write(b []byte) {
	if w.err != nil {
		return
	}
	_, w.err = w.bw.Write(b)
	w.off += uint64(len(b))
}

// Seq is the file's sequence number.
func (w *Writer) Seq() uint64 { return w.seq }

// AddRun writes one series' chunks, oldest first, as a run; maxT is the last chunk's last
// timestamp. It returns the run's Ref.
func (w *Writer) AddRun(chunks []chunkenc.Chunk, maxT int64) (Ref, error) {
	if len(chunks) == 0 {
		return Ref{}, fmt.Errorf("chunkfile: empty run")
	}
	minT, ok := chunkenc.ChunkMinT(chunks[0].Data)
	if !ok {
		return Ref{}, fmt.Errorf("chunkfile: chunk without a first timestamp")
	}
	ref := Ref{File: w.seq, Off: w.off, Chunks: uint32(len(chunks)), MinT: minT, MaxT: maxT}
	w.idx = w.idx[:0]
	var size uint64
	for _, c := range chunks {
		if c.N < 1 || c.N > 255 {
			return Ref{}, fmt.Errorf("chunkfile: chunk of %d points", c.N)
		}
		size += uint64(len(c.Data))
		if size > MaxRunBytes {
			return Ref{}, fmt.Errorf("chunkfile: run over %d bytes", uint64(MaxRunBytes))
		}
		w.idx = binary.LittleEndian.AppendUint32(w.idx, uint32(size))
		w.idx = append(w.idx, byte(c.N))
		w.idx = binary.LittleEndian.AppendUint32(w.idx, crc32.Checksum(c.Data, crcTab))
		ref.Points += uint64(c.N)
		w.write(c.Data)
	}
	ref.Size = uint32(size)
	w.write(w.idx)
	return ref, w.err
}

// Finish writes the trailer, fsyncs, renames the file into place and fsyncs the directory: the
// file appears whole or not at all. It returns the file's size.
func (w *Writer) Finish() (int64, error) {
	w.write(trailer[:])
	if w.err == nil {
		w.err = w.bw.Flush()
	}
	if w.err == nil {
		w.err = w.f.Sync()
	}
	if err := w.f.Close(); w.err == nil {
		w.err = err
	}
	tmp := filepath.Join(w.dir, Name(w.seq)+TmpSuffix)
	if w.err == nil {
		w.err = w.fs.Rename(tmp, filepath.Join(w.dir, Name(w.seq)))
	}
	if w.err == nil {
		w.err = w.fs.SyncDir(w.dir)
	}
	if w.err != nil {
		_ = w.fs.Remove(tmp) // best effort: recovery removes temporary files anyway
		return 0, w.err
	}
	return int64(w.off), nil
}

// Abort abandons the file.
func (w *Writer) Abort() {
	_ = w.f.Close()
	_ = w.fs.Remove(filepath.Join(w.dir, Name(w.seq)+TmpSuffix))
}
