package main

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/taudb/tau/pkg/client/clienttest"
)

// TestImportRoundTrip: tau export --bits, then tau import into another series, then export
// again: the same points with the same bits (NaN payloads, -0), across several batches.
func TestImportRoundTrip(t *testing.T) {
	c := newCLI(t)
	c.expect(exitOK, "OK", "", "create", "src")
	var b strings.Builder
	b.WriteString("ts,bits\n")
	for i := range 2500 {
		bits := math.Float64bits(float64(i) / 3)
		switch i % 5 {
		case 1:
			bits = 0x7ff8000000000001 + uint64(i)
		case 2:
			bits = 1 << 63 // -0
		}
		b.WriteString(strconv.Itoa(i*7-1000) + ",0x" + strconv.FormatUint(bits, 16) + "\n")
	}
	seed := writeFile(t, "seed.csv", b.String())
	c.expect(exitOK, "imported 2500 points into src", "", "import", seed, "src", "--batch", "300")
	for _, bits := range []bool{true, false} {
		args := []string{"export", "src", "-100000", "100000"}
		if bits {
			args = append(args, "--bits")
		}
		exported := c.expect(exitOK, "ts,", "", args...).stdout
		file := writeFile(t, "export.csv", exported)
		dst := "dst-" + strconv.FormatBool(bits)
		c.expect(exitOK, "imported 2500 points into "+dst, "", "import", "--create", file, dst)
		again := c.expect(exitOK, "", "", append([]string{"export", dst}, args[2:]...)...).stdout
		if again != exported {
			t.Fatalf("bits %v: export of the imported series differs", bits)
		}
	}
	// --bits with a header-less file; and the exact bits, NaN payloads included, survived.
	o := c.expect(exitOK, "", "", "export", "dst-true", "-994", "-992", "--bits")
	if o.stdout != "ts,bits\n-993,0x7ff8000000000002\n" {
		t.Fatalf("NaN payload: %q", o.stdout)
	}
}

func TestImportInputs(t *testing.T) {
	c := newCLI(t)
	c.expect(exitOK, "OK", "", "create", "x")
	// No header, spaces, blank lines, RFC 3339 timestamps, --bits without a header.
	f := writeFile(t, "a.csv", "1, 1.5\n\n2025-01-01T00:00:00Z,-Inf\n")
	c.expect(exitOK, "imported 2 points", "", "import", f, "x")
	c.expect(exitOK, "-Inf", "", "query", "x", "2025-01-01T00:00:00Z")
	f = writeFile(t, "b.csv", strconv.FormatInt(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano(), 10)+",7ff0000000000001\n")
	c.expect(exitOK, "imported 1 points", "", "import", "--bits", f, "x")

	// Bad rows are usage errors naming the line (here before any batch was full, so none was sent).
	c.expect(exitUsage, "", "line 3", "import", writeFile(t, "c.csv", "ts,value\n3000000000000000000,1\nthree,2\n"), "x")
	c.expect(exitUsage, "", "line 1", "import", writeFile(t, "d.csv", "1,2,3\n"), "x")
	c.expect(exitUsage, "", "no such file", "import", filepath.Join(t.TempDir(), "none.csv"), "x")
	c.expect(exitUsage, "", "--batch", "import", f, "x", "--batch", "0")

	// A refused batch: the batches before it are stored, and the message says so.
	rows := "ts,value\n"
	for i := range 10 {
		ts := int64(4e18) + int64(i)
		if i == 7 {
			ts = int64(4e18) // out of order, in the third batch of 3
		}
		rows += strconv.FormatInt(ts, 10) + ",1\n"
	}
	o := c.expect(exitStatus, "", "out_of_order", "import", writeFile(t, "e.csv", rows), "x", "--batch", "3")
	if !strings.Contains(o.stderr, "6 points stored") {
		t.Fatalf("stderr %q does not say 6 points are stored", o.stderr)
	}
	c.expect(exitStatus, "", "series_not_found", "import", writeFile(t, "f.csv", "1,1\n"), "none")
}

func TestImportUnsupported(t *testing.T) {
	srv := clienttest.StartWith(t, nil, clienttest.Options{V1Only: true})
	c := &cli{t: t, env: map[string]string{"TAU_LISTEN_ADDRESS": srv.Addr}}
	c.expect(exitOK, "OK", "", "create", "x")
	c.expect(exitStatus, "", "does not support APPEND_BATCH", "import", writeFile(t, "a.csv", "1,1\n"), "x")
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
