package dirlock_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/taudb/tau/internal/dirlock"
)

func TestSecondAcquireIsRefusedWithTheHoldersPID(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	first, err := dirlock.Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = dirlock.Acquire(dir)
	var held *dirlock.HeldError
	if !errors.As(err, &held) {
		t.Fatalf("second Acquire: %v, want a HeldError", err)
	}
	if held.PID != os.Getpid() || held.Dir != dir {
		t.Fatalf("HeldError %+v, want pid %d and dir %s", held, os.Getpid(), dir)
	}
	if msg := err.Error(); !strings.Contains(msg, dir) || !strings.Contains(msg, "process ") {
		t.Fatalf("message %q names neither the directory nor the holder", msg)
	}
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	again, err := dirlock.Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	_ = again.Release()
}

func TestUnknownHolderPID(t *testing.T) {
	for _, content := range []string{"", "garbage\n", "-4\n"} {
		dir := t.TempDir()
		first, err := dirlock.Acquire(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, dirlock.FileName), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = dirlock.Acquire(dir)
		var held *dirlock.HeldError
		if !errors.As(err, &held) || held.PID != 0 || !strings.Contains(err.Error(), "not known") {
			t.Fatalf("content %q: %v, want a HeldError with pid 0", content, err)
		}
		_ = first.Release()
	}
}

func TestReleaseIsIdempotent(t *testing.T) {
	l, err := dirlock.Acquire(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	var nilLock *dirlock.Lock
	if err := nilLock.Release(); err != nil {
		t.Fatal(err)
	}
}
