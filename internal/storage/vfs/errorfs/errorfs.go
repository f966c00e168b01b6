// Package errorfs wraps a vfs.FS to inject faults and count what reaches the disk, in the
// spirit of pebble's vfs/errorfs: tests arm a fault (a write that fails after N bytes, leaving a
// torn prefix; a failing fsync; a failing truncate) and check that storage neither loses an
// acknowledged record nor acknowledges a lost one.
package errorfs

import (
	"os"
	"sync"
	"sync/atomic"

	"github.com/taudb/tau/internal/storage/vfs"
)

// FS is a vfs.FS with injectable faults. The zero value is not usable; call Wrap.
// Faults apply only to paths accepted by the filter set with OnlyPaths (all paths by default).
type FS struct {
	inner vfs.FS

	mu        sync.Mutex
	match     func(path string) bool
	writeErr  error // armed write fault
	writeLeft int64 // bytes still allowed before writeErr fires
	syncErr   error
	truncErr  error
	allocErr  error

	syncs    atomic.Int64 // file Sync calls
	dirSyncs atomic.Int64 // SyncDir calls
	written  atomic.Int64 // bytes written through the wrapper
}

// Wrap returns an FS that passes everything to inner until a fault is armed.
func Wrap(inner vfs.FS) *FS { return &FS{inner: inner} }

// FailWriteAfter arms a write fault: once n more bytes have been written, the write that
// crosses the limit writes only its first bytes up to n (a torn write) and returns err, and
// every later write returns err without writing (a full disk stays full).
func (fs *FS) FailWriteAfter(n int64, err error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.writeErr, fs.writeLeft = err, n
}

// FailSync makes every later file Sync and SyncDir return err.
func (fs *FS) FailSync(err error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.syncErr = err
}

// FailTruncate makes every later Truncate return err without truncating: with a failed write
// it leaves the torn prefix on disk, as a crash right after the write would.
func (fs *FS) FailTruncate(err error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.truncErr = err
}

// FailAllocate makes every later Allocate return err without reserving anything, as a full
// disk or a filesystem without fallocate does.
func (fs *FS) FailAllocate(err error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.allocErr = err
}

// OnlyPaths limits the faults to the paths for which match returns true (nil: every path).
func (fs *FS) OnlyPaths(match func(path string) bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.match = match
}

// Reset disarms every fault; the counters keep counting.
func (fs *FS) Reset() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.writeErr, fs.syncErr, fs.truncErr, fs.allocErr, fs.match = nil, nil, nil, nil, nil
}

// Syncs is the number of file Sync calls so far, failed ones included.
func (fs *FS) Syncs() int64 { return fs.syncs.Load() }

// DirSyncs is the number of SyncDir calls so far.
func (fs *FS) DirSyncs() int64 { return fs.dirSyncs.Load() }

// BytesWritten is the number of bytes that reached the inner filesystem through Write.
func (fs *FS) BytesWritten() int64 { return fs.written.Load() }

func (fs *FS) applies(path string) bool { return fs.match == nil || fs.match(path) }

// writeLimit says how many of want bytes to path may be written, and the error to return.
func (fs *FS) writeLimit(path string, want int) (int, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.writeErr == nil || !fs.applies(path) {
		return want, nil
	}
	if int64(want) <= fs.writeLeft {
		fs.writeLeft -= int64(want)
		return want, nil
	}
	n := int(fs.writeLeft)
	fs.writeLeft = 0
	return n, fs.writeErr
}

// fault is the error armed in *armed (one of the FS's fault fields) if it applies to path.
func (fs *FS) fault(armed *error, path string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if *armed != nil && fs.applies(path) {
		return *armed
	}
	return nil
}

func (fs *FS) syncFault(path string) error     { return fs.fault(&fs.syncErr, path) }
func (fs *FS) truncateFault(path string) error { return fs.fault(&fs.truncErr, path) }
func (fs *FS) allocateFault(path string) error { return fs.fault(&fs.allocErr, path) }

func (fs *FS) wrap(f vfs.File, name string, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return &file{File: f, fs: fs, name: name}, nil
}

// Create creates name through the inner FS.
func (fs *FS) Create(name string) (vfs.File, error) {
	f, err := fs.inner.Create(name)
	return fs.wrap(f, name, err)
}

// Open opens name through the inner FS.
func (fs *FS) Open(name string) (vfs.File, error) {
	f, err := fs.inner.Open(name)
	return fs.wrap(f, name, err)
}

// OpenFile opens name through the inner FS.
func (fs *FS) OpenFile(name string, flag int, perm os.FileMode) (vfs.File, error) {
	f, err := fs.inner.OpenFile(name, flag, perm)
	return fs.wrap(f, name, err)
}

// Rename passes through.
func (fs *FS) Rename(oldname, newname string) error { return fs.inner.Rename(oldname, newname) }

// Remove passes through.
func (fs *FS) Remove(name string) error { return fs.inner.Remove(name) }

// ReadDir passes through.
func (fs *FS) ReadDir(dir string) ([]string, error) { return fs.inner.ReadDir(dir) }

// MkdirAll passes through.
func (fs *FS) MkdirAll(dir string, perm os.FileMode) error { return fs.inner.MkdirAll(dir, perm) }

// Stat passes through.
func (fs *FS) Stat(name string) (os.FileInfo, error) { return fs.inner.Stat(name) }

// SyncDir counts the call and fails it when a sync fault is armed.
func (fs *FS) SyncDir(dir string) error {
	fs.dirSyncs.Add(1)
	if err := fs.syncFault(dir); err != nil {
		return err
	}
	return fs.inner.SyncDir(dir)
}

// file injects the FS's faults into one open file.
type file struct {
	vfs.File
	fs   *FS
	name string
}

func (f *file) Write(p []byte) (int, error) {
	n, ferr := f.fs.writeLimit(f.name, len(p))
	if n > 0 {
		w, err := f.File.Write(p[:n])
		f.fs.written.Add(int64(w))
		if err != nil {
			return w, err
		}
	}
	if ferr != nil {
		return n, ferr
	}
	return n, nil
}

func (f *file) Sync() error {
	f.fs.syncs.Add(1)
	if err := f.fs.syncFault(f.name); err != nil {
		return err
	}
	return f.File.Sync()
}

func (f *file) Truncate(size int64) error {
	if err := f.fs.truncateFault(f.name); err != nil {
		return err
	}
	return f.File.Truncate(size)
}

func (f *file) Allocate(size int64) error {
	if err := f.fs.allocateFault(f.name); err != nil {
		return err
	}
	return f.File.Allocate(size)
}
