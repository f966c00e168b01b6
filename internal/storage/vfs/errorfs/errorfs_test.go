package errorfs

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/taudb/tau/internal/storage/vfs"
)

func TestFaults(t *testing.T) {
	tests := []struct {
		name      string
		arm       func(fs *FS)
		writes    []string
		wantFile  string
		wantErr   error // from the last write
		wantSyncE error
	}{
		{"no fault", func(*FS) {}, []string{"abc", "def"}, "abcdef", nil, nil},
		{"torn write", func(fs *FS) { fs.FailWriteAfter(4, syscall.ENOSPC) }, []string{"abc", "def"}, "abcd", syscall.ENOSPC, nil},
		{"full disk stays full", func(fs *FS) { fs.FailWriteAfter(3, syscall.EIO) }, []string{"abc", "def", "g"}, "abc", syscall.EIO, nil},
		{"failed sync", func(fs *FS) { fs.FailSync(syscall.EIO) }, []string{"abc"}, "abc", nil, syscall.EIO},
		{"filtered out", func(fs *FS) {
			fs.OnlyPaths(func(string) bool { return false })
			fs.FailWriteAfter(0, syscall.EIO)
			fs.FailSync(syscall.EIO)
		}, []string{"abc"}, "abc", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := Wrap(vfs.OS)
			path := filepath.Join(t.TempDir(), "f")
			f, err := fs.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = f.Close() }()
			tc.arm(fs)
			var werr error
			for _, w := range tc.writes {
				_, werr = f.Write([]byte(w))
			}
			if !errors.Is(werr, tc.wantErr) {
				t.Fatalf("write error %v, want %v", werr, tc.wantErr)
			}
			if err := f.Sync(); !errors.Is(err, tc.wantSyncE) {
				t.Fatalf("sync error %v, want %v", err, tc.wantSyncE)
			}
			if fs.Syncs() != 1 {
				t.Fatalf("Syncs() = %d, want 1", fs.Syncs())
			}
			got, _ := os.ReadFile(path)
			if string(got) != tc.wantFile {
				t.Fatalf("file %q, want %q", got, tc.wantFile)
			}
			if fs.BytesWritten() != int64(len(tc.wantFile)) {
				t.Fatalf("BytesWritten %d, want %d", fs.BytesWritten(), len(tc.wantFile))
			}
		})
	}
}

func TestFailTruncateKeepsData(t *testing.T) {
	fs := Wrap(vfs.OS)
	path := filepath.Join(t.TempDir(), "f")
	f, err := fs.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if _, err := f.Write([]byte("abcdef")); err != nil {
		t.Fatal(err)
	}
	fs.FailTruncate(syscall.EIO)
	if err := f.Truncate(2); !errors.Is(err, syscall.EIO) {
		t.Fatalf("truncate error %v", err)
	}
	fs.Reset()
	if err := f.Truncate(2); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "ab" {
		t.Fatalf("file %q", got)
	}
}
