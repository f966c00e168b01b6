package lens

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/taudb/tau/internal/storage/vfs"
)

// store keeps the lenses durable in their own directory (<TAU_DATA_DIR>/lenses), apart from
// the series' log and checkpoints: lens changes are rare and the whole state is small (under
// 100 bytes a lens), so each change rewrites it whole as a new file, named by a sequence
// number of 16 digits:
//
//  1. write <seq>.tmp, fsync it;
//  2. rename it to <seq>, fsync the directory: from here the change is durable;
//  3. delete the files before it.
//
// A crash anywhere leaves the old file or the new one whole. Load takes the newest that
// verifies and deletes the temporaries. The registry serialises changes, so store needs no
// lock of its own.
type store struct {
	fs  vfs.FS
	dir string
	log *zap.Logger
	seq uint64 // the highest file number seen or written: the next file is seq+1
	// failed is set when a rename or directory fsync failed: whether the new file will
	// survive a crash is then unknown, so no further change is accepted until restart (as the
	// series' log does after a failed fsync).
	failed error
}

const (
	seqDigits = 16
	tmpSuffix = ".tmp"
)

func seqName(n uint64) string { return fmt.Sprintf("%0*d", seqDigits, n) }

func parseSeq(name string) (uint64, bool) {
	if len(name) != seqDigits || strings.Trim(name, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseUint(name, 10, 64)
	return n, err == nil
}

// errFailed is returned by save after an earlier save left the directory in doubt.
var errFailed = errors.New("an earlier lens change could not be made durable; restart to resume lens changes")

// load returns the lenses of the newest file that verifies (none when there is no file), and
// deletes temporaries. A damaged file is skipped with a warning; a file of an unknown version
// stops the load.
func (s *store) load() ([]Lens, error) {
	names, err := s.fs.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("lens: %w", err)
	}
	var seqs []uint64
	for _, name := range names {
		if strings.HasSuffix(name, tmpSuffix) {
			if err := s.fs.Remove(filepath.Join(s.dir, name)); err != nil {
				s.log.Warn("cannot remove a temporary lens file", zap.String("name", name), zap.Error(err))
			}
			continue
		}
		if n, ok := parseSeq(name); ok {
			seqs = append(seqs, n) // ascending: ReadDir sorts, and the width is fixed
			s.seq = max(s.seq, n)
		}
	}
	for i := len(seqs) - 1; i >= 0; i-- {
		path := filepath.Join(s.dir, seqName(seqs[i]))
		lenses, err := s.read(path, seqs[i])
		if err == nil {
			return lenses, nil
		}
		var ve *VersionError
		if errors.As(err, &ve) {
			ve.Path = path
			return nil, ve
		}
		if !errors.Is(err, errDamaged) {
			return nil, fmt.Errorf("lens: read %s: %w", path, err)
		}
		s.log.Warn("skipping a damaged lens state file", zap.String("path", path), zap.Error(err))
	}
	return nil, nil
}

func (s *store) read(path string, seq uint64) ([]Lens, error) {
	f, err := s.fs.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read only: a failed close loses nothing
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	return decode(b, seq)
}

// save makes lenses the durable state (steps 1–3 above). An error before the rename leaves
// the old state; after it, the outcome is unknown and store refuses every later save.
func (s *store) save(lenses []Lens) error {
	if s.failed != nil {
		return fmt.Errorf("%w (%w)", errFailed, s.failed)
	}
	seq := s.seq + 1
	path := filepath.Join(s.dir, seqName(seq))
	tmp := path + tmpSuffix
	if err := s.writeFile(tmp, encode(seq, lenses)); err != nil {
		_ = s.fs.Remove(tmp) // best effort; load removes temporaries anyway
		s.log.Error("lens change not made: its state file could not be written", zap.Error(err))
		return err
	}
	s.seq = seq
	err := s.fs.Rename(tmp, path)
	if err == nil {
		err = s.fs.SyncDir(s.dir)
	}
	if err != nil {
		s.failed = err
		_ = s.fs.Remove(tmp)
		s.log.Error("lens state in doubt after a failed rename or directory fsync; lens changes are refused until restart", zap.Error(err))
		return err
	}
	s.removeBefore(seq)
	return nil
}

func (s *store) writeFile(path string, b []byte) error {
	f, err := s.fs.Create(path)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// removeBefore deletes the files the one numbered seq supersedes. A failure only leaves a
// file that load never prefers to the newer one: it is logged.
func (s *store) removeBefore(seq uint64) {
	names, err := s.fs.ReadDir(s.dir)
	if err != nil {
		s.log.Warn("cannot list lens state files", zap.Error(err))
		return
	}
	for _, name := range names {
		if n, ok := parseSeq(name); ok && n < seq {
			if err := s.fs.Remove(filepath.Join(s.dir, name)); err != nil {
				s.log.Warn("cannot remove a superseded lens state file", zap.String("name", name), zap.Error(err))
			}
		}
	}
}
