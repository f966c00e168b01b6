// Package golden compares bytes an encoder writes today with a golden file committed under
// testdata/, so a format cannot change by accident (docs/storage-format.md). Each test package
// keeps its own -update flag and passes it in.
package golden

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// Check fails t unless got equals the golden file at path, naming the first differing offset;
// with update it rewrites the file instead.
func Check(t testing.TB, path string, got []byte, update bool) {
	t.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote %s (%d bytes)", path, len(got))
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		off := 0
		for off < len(got) && off < len(want) && got[off] == want[off] {
			off++
		}
		t.Fatalf("today's encoder no longer writes %s: %d bytes, want %d, first difference at offset %d",
			path, len(got), len(want), off)
	}
}
