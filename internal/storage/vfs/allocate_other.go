//go:build !linux

package vfs

import (
	"errors"
	"os"
)

// allocate has no portable system call behind it here.
func allocate(*os.File, int64) error { return errors.ErrUnsupported }
