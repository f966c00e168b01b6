// Package dirlock makes a data directory one process's. Two servers on one directory delete
// each other's log segments and overwrite each other's checkpoints, and acknowledged writes are
// lost without a word; on Kubernetes that takes only a ReadWriteMany volume, a force-deleted
// pod on a partitioned node, or a Deployment scaled by mistake. So the server takes an
// exclusive, non-blocking flock(2) on a file in the directory at open and holds it for its
// life, as Prometheus and VictoriaMetrics do.
//
// The lock is the kernel's: it goes with the process, however it ends (SIGKILL included), so a
// crash never leaves a stale lock behind. The file itself stays; it holds the holder's PID
// for the message a second process prints. Read-only tools (inspect) may open a locked
// directory without taking the lock.
package dirlock

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// FileName is the lock file in the data directory.
const FileName = "LOCK"

// Lock is a held lock on one directory.
type Lock struct {
	f   *os.File
	dir string
}

// HeldError says that another process holds the directory.
type HeldError struct {
	Dir string
	PID int // the holder's, as it wrote it; 0 when it is not known yet
}

func (e *HeldError) Error() string {
	holder := "another process (pid not known)"
	if e.PID > 0 {
		holder = "process " + strconv.Itoa(e.PID)
	}
	return fmt.Sprintf("data directory %s is in use by %s: one server per data directory (%s)",
		e.Dir, holder, filepath.Join(e.Dir, FileName))
}

// ErrUnsupported is returned where the system has no flock.
var ErrUnsupported = errors.New("dirlock: not supported on this system")

// Acquire creates dir if needed and locks it, or returns a *HeldError when another process
// holds it. The lock is per open file: a second Acquire in the same process fails too.
func Acquire(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("dirlock: create %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("dirlock: open %s: %w", path, err)
	}
	held, err := tryLock(f)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("dirlock: lock %s: %w", path, err)
	}
	if held {
		pid := readPID(f)
		_ = f.Close()
		return nil, &HeldError{Dir: dir, PID: pid}
	}
	if err := writePID(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("dirlock: write %s: %w", path, err)
	}
	return &Lock{f: f, dir: dir}, nil
}

// Release gives the directory up. The file stays: removing it would let a third process lock
// a new file while a second still holds the old one.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// Dir is the locked directory.
func (l *Lock) Dir() string { return l.dir }

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

func readPID(f *os.File) int {
	buf := make([]byte, 32)
	n, _ := f.ReadAt(buf, 0)
	pid, err := strconv.Atoi(string(bytes.TrimSpace(buf[:n])))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
