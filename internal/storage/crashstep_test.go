package storage

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/taudb/tau/internal/storage/vfs"
)

// stepFS is the real filesystem, calling step after every operation that changes it: a
// test copies the directory there, which is what a process killed (SIGKILL) right after
// that operation would leave.
type stepFS struct {
	vfs.FS
	mu   sync.Mutex
	step func(op string) // nil: not watching
}

func (s *stepFS) after(op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.step != nil {
		s.step(op)
	}
}

func (s *stepFS) watch(step func(op string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.step = step
}

func (s *stepFS) Create(name string) (vfs.File, error) {
	f, err := s.FS.Create(name)
	s.after("create " + name)
	return stepFile{f, s, name}, err
}

func (s *stepFS) OpenFile(name string, flag int, perm os.FileMode) (vfs.File, error) {
	f, err := s.FS.OpenFile(name, flag, perm)
	return stepFile{f, s, name}, err
}

func (s *stepFS) Rename(from, to string) error {
	err := s.FS.Rename(from, to)
	s.after("rename " + to)
	return err
}

func (s *stepFS) Remove(name string) error {
	err := s.FS.Remove(name)
	s.after("remove " + name)
	return err
}

func (s *stepFS) SyncDir(dir string) error {
	err := s.FS.SyncDir(dir)
	s.after("syncdir " + dir)
	return err
}

type stepFile struct {
	vfs.File
	fs   *stepFS
	name string
}

func (f stepFile) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	f.fs.after(fmt.Sprintf("write %d bytes to %s", n, f.name))
	return n, err
}

func (f stepFile) Sync() error {
	err := f.File.Sync()
	f.fs.after("fsync " + f.name)
	return err
}

func (f stepFile) Truncate(size int64) error {
	err := f.File.Truncate(size)
	f.fs.after(fmt.Sprintf("truncate %s to %d", f.name, size))
	return err
}

func (f stepFile) Allocate(size int64) error {
	err := f.File.Allocate(size)
	f.fs.after(fmt.Sprintf("allocate %d bytes to %s", size, f.name))
	return err
}

// TestR11_CrashAtEveryCheckpointStep: a checkpoint that writes a chunk file, merges four older
// ones into one, writes the checkpoint, and deletes the log segments, old checkpoint and
// merged files it supersedes, is interrupted after every single filesystem operation in
// turn. Whatever the instant, the directory recovers every logged point with its exact bits,
// and recovery leaves no chunk file that the checkpoint it loaded does not name.
func TestR11_CrashAtEveryCheckpointStep(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	dir := t.TempDir()
	sfs := &stepFS{FS: vfs.OS}
	d, _ := openRecovered(t, dir, DiskOptions{FS: sfs})
	w := newLoggedSeries(t, d, rng)
	w.filesThenWrite(500)
	m, err := d.BeginCheckpoint()
	must(t, err)
	w.write(50) // logged after the cut: replayed from the new segment
	snaps := []SeriesSnapshot{snapshotOf(w.label, 0, w.s)}
	crashes := t.TempDir()
	var ops []string
	sfs.watch(func(op string) {
		ops = append(ops, op)
		copyDir(t, dir, filepath.Join(crashes, fmt.Sprint(len(ops))))
	})
	must(t, d.CommitCheckpoint(m, snaps, func() { w.s.Install(&snaps[0]) }))
	sfs.watch(nil)
	if testutilCompactions(d) != 1 {
		t.Fatalf("the checkpoint merged no files: %v compactions", testutilCompactions(d))
	}
	must(t, d.Close())
	if len(ops) < 15 {
		t.Fatalf("only %d filesystem operations: %v", len(ops), ops)
	}
	for i, op := range ops {
		at := filepath.Join(crashes, fmt.Sprint(i+1))
		d, states := openRecovered(t, at, DiskOptions{})
		if len(states) != 1 {
			t.Fatalf("crash after %q: %d series", op, len(states))
		}
		checkRecovered(t, op, states[0].Series, w.all)
		named := map[string]bool{}
		for _, sp := range states[0].Series.spans {
			named[filepath.Join(at, chunkDirName, fmt.Sprintf("%016d", sp.ref.File))] = true
		}
		files, _ := filepath.Glob(filepath.Join(at, chunkDirName, "*"))
		for _, f := range files {
			if !named[f] {
				t.Fatalf("crash after %q: recovery left %s, which no checkpoint names", op, f)
			}
		}
		must(t, d.Close())
	}
}

// checkRecovered compares every point of s with want, in order, exact bits.
func checkRecovered(t *testing.T, op string, s *Series, want []point) {
	t.Helper()
	i := 0
	s.Iterate(func(ts int64, bits uint64) bool {
		if i >= len(want) || want[i] != (point{ts, bits}) {
			t.Fatalf("crash after %q: point %d is (%d, %#x)", op, i, ts, bits)
		}
		i++
		return true
	})
	if i != len(want) || s.TakeErr() != nil {
		t.Fatalf("crash after %q: %d points, want %d", op, i, len(want))
	}
}
