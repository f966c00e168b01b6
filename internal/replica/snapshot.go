package replica

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.etcd.io/raft/v3/raftpb"

	"github.com/taudb/tau/internal/engine"
	"github.com/taudb/tau/internal/series"
)

// A snapshot is the engine's whole state at an applied index, in a file of the snapshot
// directory named by that index; the Raft snapshot carries only its descriptor. The file is
// what a lagging member is sent, streamed and checked (the transport's SnapshotSource and
// SnapshotSink), and what a member restarts from.
//
// Descriptor (version 1, integers big-endian): u8 version | u64 index | u64 size | sha256 (32).
// File (version 1): "TAUSNAP1", then records, then 'E':
//
//	'S' | label (32) | u64 n | n × (i64 ts | u64 value bits)       a series and its points
//	'L' | label (32) | source (32) | u8 n | n × (u8 length | name)  a lens and its chain
//	'C' | u64 catalog capacity | u64 lens capacity | i64 retention    the cluster's settings,
//	                                                                 once the log has them
const (
	descriptorVersion = 1
	descriptorSize    = 1 + 8 + 8 + sha256.Size
	snapshotMagic     = "TAUSNAP1"
	keepSnapshots     = 2
)

var errBadSnapshot = errors.New("replica: bad snapshot")

type descriptor struct {
	index, size uint64
	sum         [sha256.Size]byte
}

func (d descriptor) encode() []byte {
	b := []byte{descriptorVersion}
	b = binary.BigEndian.AppendUint64(b, d.index)
	b = binary.BigEndian.AppendUint64(b, d.size)
	return append(b, d.sum[:]...)
}

func decodeDescriptor(b []byte) (descriptor, error) {
	var d descriptor
	if len(b) != descriptorSize || b[0] != descriptorVersion {
		return d, errBadSnapshot
	}
	d.index, d.size = binary.BigEndian.Uint64(b[1:]), binary.BigEndian.Uint64(b[9:])
	copy(d.sum[:], b[17:])
	return d, nil
}

// snapshotName is the file of the snapshot at index.
func snapshotName(index uint64) string { return fmt.Sprintf("%016x.tausnap", index) }

// Snapshots are a member's snapshot files: the state machine writes and restores them, the
// transport streams them (Open) and stores those it receives (Receive).
type Snapshots struct{ dir string }

// NewSnapshots keeps snapshot files in dir.
func NewSnapshots(dir string) (*Snapshots, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &Snapshots{dir: dir}, nil
}

func (s *Snapshots) path(index uint64) string { return filepath.Join(s.dir, snapshotName(index)) }

// Open is the transport's SnapshotSource: the file of the snapshot meta describes.
func (s *Snapshots) Open(meta *raftpb.SnapshotMetadata) (io.ReadCloser, int64, error) {
	f, err := os.Open(s.path(meta.GetIndex()))
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// Receive is the transport's SnapshotSink: it keeps the file only once r has yielded io.EOF
// (the transport has checked length and hash), durably.
func (s *Snapshots) Receive(meta *raftpb.SnapshotMetadata, r io.Reader) error {
	tmp, err := os.CreateTemp(s.dir, "receiving-*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if _, err := io.Copy(tmp, r); err != nil {
		_ = tmp.Close()
		return err
	}
	return s.keep(tmp, meta.GetIndex())
}

// keep makes tmp the file of the snapshot at index: synced, renamed, the directory synced;
// older snapshots beyond keepSnapshots are removed.
func (s *Snapshots) keep(tmp *os.File, index uint64) error {
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), s.path(index)); err != nil {
		return err
	}
	if d, err := os.Open(s.dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	s.prune()
	return nil
}

// prune removes all but the newest keepSnapshots files.
func (s *Snapshots) prune() {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tausnap") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for len(names) > keepSnapshots {
		_ = os.Remove(filepath.Join(s.dir, names[0]))
		names = names[1:]
	}
}

// write dumps e's state as the snapshot at index and returns its descriptor. It runs on the
// node's loop, where no write is applied meanwhile: the dump is the state at index.
func (s *Snapshots) write(e *engine.Engine, index uint64, settings *Settings) ([]byte, error) {
	tmp, err := os.CreateTemp(s.dir, "writing-*")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	h := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(tmp, h)}
	w := bufio.NewWriterSize(cw, 1<<20)
	if err := dump(e, w, settings); err != nil {
		_ = tmp.Close()
		return nil, err
	}
	if err := w.Flush(); err != nil {
		_ = tmp.Close()
		return nil, err
	}
	if err := s.keep(tmp, index); err != nil {
		return nil, err
	}
	d := descriptor{index: index, size: uint64(cw.n)}
	copy(d.sum[:], h.Sum(nil))
	return d.encode(), nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// dump writes every series, with its points, and every lens.
func dump(e *engine.Engine, w *bufio.Writer, settings *Settings) error {
	_, _ = w.WriteString(snapshotMagic)
	err := e.EachSeries(func(l series.Label) error {
		var pts []engine.BatchPoint
		if err := e.EachPoint(l, func(p engine.BatchPoint) { pts = append(pts, p) }); err != nil {
			return err
		}
		_ = w.WriteByte('S')
		_, _ = w.Write(l[:])
		var b [16]byte
		binary.BigEndian.PutUint64(b[:8], uint64(len(pts)))
		_, _ = w.Write(b[:8])
		for _, p := range pts {
			binary.BigEndian.PutUint64(b[:8], uint64(p.TS))
			binary.BigEndian.PutUint64(b[8:], p.Value)
			_, err := w.Write(b[:])
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, d := range e.LensDefinitions() {
		_ = w.WriteByte('L')
		_, _ = w.Write(d.Label[:])
		_, _ = w.Write(d.Source[:])
		_ = w.WriteByte(byte(len(d.Transforms)))
		for _, t := range d.Transforms {
			_ = w.WriteByte(byte(len(t)))
			_, _ = w.WriteString(t)
		}
	}
	if settings != nil {
		_ = w.WriteByte('C')
		var b [24]byte
		binary.BigEndian.PutUint64(b[:], uint64(settings.CatalogCapacity))
		binary.BigEndian.PutUint64(b[8:], uint64(settings.LensCapacity))
		binary.BigEndian.PutUint64(b[16:], uint64(settings.Retention))
		_, _ = w.Write(b[:])
	}
	return w.WriteByte('E')
}

// restore replaces e's state with the snapshot d describes, checked against its hash.
func (s *Snapshots) restore(e *engine.Engine, d descriptor) (*Settings, error) {
	f, err := os.Open(s.path(d.index))
	if err != nil {
		return nil, fmt.Errorf("replica: the snapshot at %d: %w", d.index, err)
	}
	defer func() { _ = f.Close() }()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	if !bytes.Equal(h.Sum(nil), d.sum[:]) {
		return nil, fmt.Errorf("replica: the snapshot at %d does not match its hash", d.index)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	if err := wipe(e); err != nil {
		return nil, err
	}
	return load(e, bufio.NewReaderSize(f, 1<<20))
}

// wipe drops every series and lens of e.
func wipe(e *engine.Engine) error {
	var labels []series.Label
	if err := e.EachSeries(func(l series.Label) error { labels = append(labels, l); return nil }); err != nil {
		return err
	}
	for _, l := range labels {
		if err := run(func(res *engine.Result) { e.Drop(l, res) }); err != nil {
			return err
		}
	}
	for _, d := range e.LensDefinitions() {
		if err := run(func(res *engine.Result) { e.DropLens(d.Label, res) }); err != nil {
			return err
		}
	}
	return nil
}

// load applies a snapshot file's records to an empty engine, and returns the settings it
// holds (nil: none).
func load(e *engine.Engine, r *bufio.Reader) (*Settings, error) {
	magic := make([]byte, len(snapshotMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != snapshotMagic {
		return nil, errBadSnapshot
	}
	var settings *Settings
	for {
		kind, err := r.ReadByte()
		if err != nil {
			return nil, errBadSnapshot
		}
		switch kind {
		case 'E':
			return settings, nil
		case 'S':
			err = loadSeries(e, r)
		case 'L':
			err = loadLens(e, r)
		case 'C':
			settings, err = loadSettings(r)
		default:
			err = errBadSnapshot
		}
		if err != nil {
			return nil, err
		}
	}
}

func loadSettings(r *bufio.Reader) (*Settings, error) {
	var b [24]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return nil, errBadSnapshot
	}
	return &Settings{CatalogCapacity: int(binary.BigEndian.Uint64(b[:])), LensCapacity: int(binary.BigEndian.Uint64(b[8:])),
		Retention: time.Duration(binary.BigEndian.Uint64(b[16:]))}, nil
}

func loadSeries(e *engine.Engine, r *bufio.Reader) error {
	var head [series.LabelSize + 8]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return errBadSnapshot
	}
	l := series.Label(head[:series.LabelSize])
	n := binary.BigEndian.Uint64(head[series.LabelSize:])
	if err := run(func(res *engine.Result) { e.Create(l, res) }); err != nil {
		return err
	}
	pts := make([]engine.BatchPoint, 0, min(n, engine.MaxBatchPoints))
	var b [16]byte
	for i := uint64(0); i < n; i++ {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return errBadSnapshot
		}
		pts = append(pts, engine.BatchPoint{TS: int64(binary.BigEndian.Uint64(b[:8])), Value: binary.BigEndian.Uint64(b[8:])})
		if len(pts) == cap(pts) || i == n-1 {
			if err := run(func(res *engine.Result) { e.AppendBatch(l, pts, res) }); err != nil {
				return err
			}
			pts = pts[:0]
		}
	}
	return nil
}

func loadLens(e *engine.Engine, r *bufio.Reader) error {
	var head [2*series.LabelSize + 1]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return errBadSnapshot
	}
	chain := make([]string, head[2*series.LabelSize])
	for i := range chain {
		n, err := r.ReadByte()
		if err != nil {
			return errBadSnapshot
		}
		name := make([]byte, n)
		if _, err := io.ReadFull(r, name); err != nil {
			return errBadSnapshot
		}
		chain[i] = string(name)
	}
	l, source := series.Label(head[:series.LabelSize]), series.Label(head[series.LabelSize:2*series.LabelSize])
	return run(func(res *engine.Result) { e.RestoreLens(l, source, chain, res) })
}

// run runs one request on the engine to its outcome, waiting out a full mailbox.
func run(req func(*engine.Result)) error {
	res := engine.NewResult()
	for {
		req(res)
		res.Wait()
		err := res.Durable()
		if !errors.Is(err, engine.ErrBusy) {
			return err
		}
		time.Sleep(busyBackoff)
	}
}
