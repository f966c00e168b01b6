package diskspace

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestOf(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" && runtime.GOOS != "freebsd" {
		if _, err := Of(t.TempDir()); !errors.Is(err, ErrUnsupported) {
			t.Fatalf("Of on %s: %v, want ErrUnsupported", runtime.GOOS, err)
		}
		return
	}
	dir := t.TempDir()
	before, err := Of(dir)
	if err != nil {
		t.Fatal(err)
	}
	if before.Size == 0 || before.Available > before.Size {
		t.Fatalf("Of(%s) = %+v: want a size, and no more available than that", dir, before)
	}
	if _, err := Of(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Of(a missing directory): %v, want ErrNotExist", err)
	}
}
