package tauproc

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

const module = "github.com/taudb/tau"

// binDir holds the built binaries, one directory per source key, shared by every test process
// of the machine: the packages of one `go test ./...` run (and the runs of other worktrees
// with the same sources) build once.
var binDir = filepath.Join(os.TempDir(), "tau-server-test")

// unusedFor is how long a binary of other sources stays after its last use, so a machine
// where sources change all day does not fill its temp directory.
const unusedFor = 6 * time.Hour

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// Binary returns the path of cmd/tau-server built from this module's current sources. It is
// built once per test process (sync.Once), and across processes once per source key: a hash of
// every non-test Go file and go.mod/go.sum, the Go version and platform, GOFLAGS, and whether
// the tests run with -race. A test process built with -race gets a race-enabled server, so the
// binary tests check the server's own goroutines for races too (a report fails the test, see
// Process.Wait); without -race, a plain one.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() { builtBin, buildErr = build() })
	if buildErr != nil {
		t.Fatalf("building tau-server: %v", buildErr)
	}
	return builtBin
}

func build() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	key, err := sourceKey(root)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(binDir, key)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// The lock makes concurrent test processes wait for one build instead of each building;
	// the binary is written under a temporary name and renamed, so no one ever runs half of it.
	// The lock stays held shared for the life of this process (the file is never closed), so
	// the sweep of another process never removes a binary in use.
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	if err := lockExclusive(lock); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "tau-server")
	if _, err := os.Stat(bin); errors.Is(err, fs.ErrNotExist) {
		tmp := fmt.Sprintf("%s.%d.tmp", bin, os.Getpid())
		args := []string{"build", "-o", tmp}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "./cmd/tau-server")...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			_ = os.Remove(tmp)
			return "", fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
		}
		if err := os.Rename(tmp, bin); err != nil {
			return "", err
		}
	} else if err != nil {
		return "", err
	}
	now := time.Now()
	_ = os.Chtimes(bin, now, now) // used: the sweep measures from here
	if err := lockShared(lock); err != nil {
		return "", err
	}
	sweep(key)
	return bin, nil
}

// sweep removes the binaries of other source keys that no live process holds and that were
// last used long ago. It is best effort: a failure only leaves a file behind.
func sweep(keep string) {
	entries, err := os.ReadDir(binDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || e.Name() == keep {
			continue
		}
		dir := filepath.Join(binDir, e.Name())
		bin := filepath.Join(dir, "tau-server")
		fi, err := os.Stat(bin)
		if err != nil || time.Since(fi.ModTime()) < unusedFor {
			continue
		}
		f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			continue
		}
		if tryLockExclusive(f) {
			_ = os.Remove(bin) // the next user of these sources builds it again
		}
		_ = f.Close()
	}
}

// moduleRoot walks up from the working directory (a test runs in its package's directory) to
// this module's go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if f, err := os.Open(filepath.Join(dir, "go.mod")); err == nil {
			line, _ := bufio.NewReader(f).ReadString('\n')
			_ = f.Close()
			if strings.TrimSpace(line) == "module "+module {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of %s above the working directory", module)
		}
		dir = parent
	}
}

// sourceKey hashes what the binary is built from. Test files, testdata and nested modules
// (hack/k8s/…) do not go into the binary and are left out, so editing a test does not rebuild.
func sourceKey(root string) (string, error) {
	h := sha256.New()
	_, _ = fmt.Fprintf(h, "%s %s/%s race=%v GOFLAGS=%q CGO_ENABLED=%q GOEXPERIMENT=%q\n", runtime.Version(),
		runtime.GOOS, runtime.GOARCH, raceEnabled, os.Getenv("GOFLAGS"), os.Getenv("CGO_ENABLED"),
		os.Getenv("GOEXPERIMENT"))
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path == root {
				return nil
			}
			if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir // another module
			}
			return nil
		}
		isSource := strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go")
		if !isSource && (filepath.Dir(path) != root || (name != "go.mod" && name != "go.sum")) {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		_, _ = fmt.Fprintf(h, "%s\n", rel) // a hash.Hash never fails a write
		_, err = io.Copy(h, f)
		return err
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:20], nil
}
