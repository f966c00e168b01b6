// Package vfs is the filesystem seam of the storage package: everything storage does to disk
// goes through FS, so tests can swap in a fault-injecting implementation (package errorfs) and
// exercise torn writes, ENOSPC and failed fsyncs deterministically, as pebble's vfs does.
package vfs

import (
	"io"
	"os"
)

// File is an open file. Storage only appends with Write, reads with Read/ReadAt, repairs with
// Truncate and reserves room for the log with Allocate, so that is all a File must do.
type File interface {
	io.Reader
	io.ReaderAt
	io.Writer
	io.Closer
	// Seek moves the offset the next Write writes at: after a refused write is cut off, the
	// log writes again where the cut left the file, not where the torn write stopped.
	io.Seeker
	// Sync flushes the file's data and metadata to stable storage (fsync).
	Sync() error
	// Truncate changes the file's size.
	Truncate(size int64) error
	// Allocate reserves disk blocks for the file's first size bytes, growing it to size with
	// zeros if shorter (fallocate(2) mode 0). Writes into reserved blocks leave the file's size
	// alone, so an fsync after them has less metadata to commit. ErrUnsupported where the
	// system or filesystem has no such call.
	Allocate(size int64) error
	// Stat describes the file.
	Stat() (os.FileInfo, error)
}

// FS is a filesystem.
type FS interface {
	// Create creates or truncates name for reading and writing.
	Create(name string) (File, error)
	// Open opens name read-only.
	Open(name string) (File, error)
	// OpenFile is the general open, with os.O_* flags.
	OpenFile(name string, flag int, perm os.FileMode) (File, error)
	// Rename atomically replaces newname with oldname.
	Rename(oldname, newname string) error
	// Remove deletes a file or an empty directory.
	Remove(name string) error
	// ReadDir lists the names in dir, sorted.
	ReadDir(dir string) ([]string, error)
	// MkdirAll creates dir and its missing parents.
	MkdirAll(dir string, perm os.FileMode) error
	// Stat describes name.
	Stat(name string) (os.FileInfo, error)
	// SyncDir makes the directory's entries (creates, renames, removes) durable: a renamed or
	// new file is not crash-safe until its directory is synced.
	SyncDir(dir string) error
}
