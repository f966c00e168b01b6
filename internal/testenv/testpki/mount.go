package testpki

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Mount is a directory laid out as kubelet mounts a Secret: each file is a link through
// "..data", itself a link to a timestamped directory that an update replaces whole, by
// renaming a new "..data" link over the old one.
type Mount struct {
	t   testing.TB
	Dir string
	n   int
}

// NewMount mounts files (name to content), as kubelet does at a pod's start.
func NewMount(t testing.TB, files map[string][]byte) *Mount {
	t.Helper()
	m := &Mount{t: t, Dir: t.TempDir()}
	m.Update(files)
	for name := range files {
		if err := os.Symlink(filepath.Join("..data", name), m.Path(name)); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// Path is where a file of the mount is read.
func (m *Mount) Path(name string) string { return filepath.Join(m.Dir, name) }

// Update swaps in new contents for every file at once, as a Secret update does.
func (m *Mount) Update(files map[string][]byte) {
	m.t.Helper()
	m.n++
	ts := filepath.Join(m.Dir, fmt.Sprintf("..2026_01_01_00_00_%02d.%d", m.n%60, m.n))
	tmp := filepath.Join(m.Dir, "..data_tmp")
	if err := os.Mkdir(ts, 0o755); err != nil {
		m.t.Fatal(err)
	}
	for name, b := range files {
		WriteFile(m.t, filepath.Join(ts, name), b)
	}
	old, _ := os.Readlink(filepath.Join(m.Dir, "..data"))
	for _, err := range []error{
		os.Symlink(filepath.Base(ts), tmp),
		os.Rename(tmp, filepath.Join(m.Dir, "..data")),
	} {
		if err != nil {
			m.t.Fatal(err)
		}
	}
	if old != "" { // kubelet removes the old directory once the link points at the new one
		if err := os.RemoveAll(filepath.Join(m.Dir, old)); err != nil {
			m.t.Fatal(err)
		}
	}
}

// TLSFiles are the contents of a kubernetes.io/tls Secret with its CA, as cert-manager writes it.
func TLSFiles(p Pair, ca *CA) map[string][]byte {
	return map[string][]byte{"tls.crt": p.CertPEM, "tls.key": p.KeyPEM, "ca.crt": ca.CertPEM}
}
