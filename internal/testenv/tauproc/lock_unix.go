//go:build unix

package tauproc

import (
	"errors"
	"os"
	"syscall"
)

func lockExclusive(f *os.File) error { return flock(f, syscall.LOCK_EX) }

// lockShared turns the exclusive lock into a shared one, held until the process exits.
func lockShared(f *os.File) error { return flock(f, syscall.LOCK_SH) }

func tryLockExclusive(f *os.File) bool { return flock(f, syscall.LOCK_EX|syscall.LOCK_NB) == nil }

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
