//go:build !unix

package tauproc

import "os"

// Without flock, concurrent test processes may each build; the rename keeps that correct, and
// nothing is swept.
func lockExclusive(*os.File) error   { return nil }
func lockShared(*os.File) error      { return nil }
func tryLockExclusive(*os.File) bool { return false }
