// Package diskspace reads how full the filesystem under a directory is, for the metrics an
// operator's "disk nearly full" alert needs: the store's own bytes (tau_storage_disk_bytes) say
// nothing about what else fills the volume, or how big it is.
package diskspace

import "errors"

// Usage of one filesystem, in bytes.
type Usage struct {
	Size      uint64 // the filesystem's capacity
	Available uint64 // what an unprivileged process may still write (not the root reserve)
}

// ErrUnsupported is returned where the platform has no statfs.
var ErrUnsupported = errors.New("diskspace: not supported on this platform")

// Of reads the usage of the filesystem holding dir.
func Of(dir string) (Usage, error) { return statfs(dir) }
