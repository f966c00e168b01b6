package main

import (
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/taudb/tau/internal/server/servertest"
)

// By default point i of a series is at start + i ns, start being now, with value i × 0.25,
// whether it goes out in APPENDs or in APPEND_BATCHes: what tau bench always wrote.
func TestBenchPointsDefault(t *testing.T) {
	c := &command{conn: &connFlags{}, stdout: io.Discard, stderr: io.Discard}
	before := time.Now().UnixNano()
	cfg, err := c.parseBench(nil)
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.points
	if p.start < before || p.start > time.Now().UnixNano() || p.step != 1 || p.values != valuesIndex ||
		p.even || p.window || p.record != "" {
		t.Fatalf("defaults: %+v", p)
	}
	g := newSeriesGen(7, p.values)
	for i := range int64(1000) {
		n, v := g.next()
		if n != i || p.timestamp(n) != p.start+i || v != float64(i)*0.25 {
			t.Fatalf("point %d: index %d ts %d value %v", i, n, p.timestamp(n), v)
		}
	}
}

// --values walk is a random walk rounded to 2 decimals with steps of at most 0.05, the same
// for a series on every run and different between series; gauge is such a walk that moves on
// about one point in ten.
func TestBenchWalkValues(t *testing.T) {
	const n = 100_000
	for _, values := range []string{valuesWalk, valuesGauge} {
		a, b, other := newSeriesGen(3, values), newSeriesGen(3, values), newSeriesGen(4, values)
		prev := a.value
		differ, moves := false, 0
		for i := range n {
			_, va := a.next()
			_, vb := b.next()
			_, vo := other.next()
			if math.Float64bits(va) != math.Float64bits(vb) {
				t.Fatalf("%s point %d: %v then %v: not the same on every run", values, i, va, vb)
			}
			differ = differ || va != vo
			s := strconv.FormatFloat(va, 'f', -1, 64)
			if _, frac, ok := strings.Cut(s, "."); ok && len(frac) > 2 {
				t.Fatalf("%s point %d: %s has more than 2 decimals", values, i, s)
			}
			if math.Abs(va-prev) > 0.05+1e-9 {
				t.Fatalf("%s point %d: step %v to %v", values, i, prev, va)
			}
			if va != prev {
				moves++
			}
			prev = va
		}
		if !differ {
			t.Errorf("%s: series 3 and 4 have the same values", values)
		}
		// A walk step rounds to 0 when it is under 0.005: one in ten. The gauge moves on one point
		// in ten, nine in ten of those.
		want := map[string]float64{valuesWalk: 0.9, valuesGauge: 0.09}[values]
		if got := float64(moves) / n; math.Abs(got-want) > 0.01 {
			t.Errorf("%s: moves on %.3f of the points, want about %.2f", values, got, want)
		}
	}
}

func TestBenchWindowIndices(t *testing.T) {
	p := pointsConfig{start: 1000, step: 10}
	for _, c := range []struct{ ts, want int64 }{{-5, 0}, {999, 0}, {1000, 0}, {1001, 1}, {1010, 1}, {1011, 2}, {1095, 10}} {
		if got := p.indexAtOrAfter(c.ts); got != c.want {
			t.Errorf("indexAtOrAfter(%d) = %d, want %d", c.ts, got, c.want)
		}
	}
}

// --start, --step, --values walk, --even and --record: every series holds exactly -n/--series
// points on the grid, the recorded points read back with the same bits, and APPEND_BATCHes
// of the same flags write the very same points.
func TestBenchGridWalkRecord(t *testing.T) {
	const start = "2025-01-01T00:00:00Z"
	startNS := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	dir := t.TempDir()
	var records [2]string
	for k, load := range [][]string{
		{"-t", "append", "-n", "400", "-P", "7"},
		{"-t", "batch", "-n", "8", "--points", "50"},
	} {
		s := servertest.Start(t)
		c := &cli{t: t}
		rec := filepath.Join(dir, strconv.Itoa(k))
		args := append([]string{"--addr", s.Addr(), "bench", "-c", "2", "--series", "4", "--even",
			"--start", start, "--step", "10s", "--values", "walk", "--record", rec, "--record-at", "99,0,50,50,1000", "--json"}, load...)
		o := c.expect(exitOK, "", "", args...)
		var results []benchResult
		if err := json.Unmarshal([]byte(o.stdout), &results); err != nil || len(results) != 1 || results[0].Errors != 0 {
			t.Fatalf("load %v: %v\n%s", load, err, o.stdout)
		}
		for i := range 4 {
			o := c.expect(exitOK, "", "", "--addr", s.Addr(), "info", seriesName(i))
			want := regexp.MustCompile(`(?m)^points\s+100$`)
			if !want.MatchString(o.stdout) || !strings.Contains(o.stdout, strconv.FormatInt(startNS, 10)) ||
				!strings.Contains(o.stdout, strconv.FormatInt(startNS+99*10e9, 10)) {
				t.Errorf("load %v: %s is not 100 points 10 s apart from %s:\n%s", load, seriesName(i), start, o.stdout)
			}
		}
		b, err := os.ReadFile(rec)
		if err != nil {
			t.Fatal(err)
		}
		records[k] = string(b)
		lines := strings.Split(strings.TrimSpace(records[k]), "\n")
		if len(lines) != 12 { // 4 series × indices 0, 50, 99 (1000 is never reached)
			t.Fatalf("load %v: %d recorded points, want 12:\n%s", load, len(lines), records[k])
		}
		for _, line := range lines {
			f := strings.Fields(line)
			if len(f) != 3 {
				t.Fatalf("record line %q", line)
			}
			o := c.expect(exitOK, "", "", "--addr", s.Addr(), "query", "--bits", f[0], f[1])
			if strings.TrimSpace(o.stdout) != f[2] {
				t.Errorf("%s at %s: server has %s, recorded %s", f[0], f[1], strings.TrimSpace(o.stdout), f[2])
			}
		}
	}
	// Lines come in the order workers wrote them; compare them as sets.
	sorted := func(s string) string {
		l := strings.Split(strings.TrimSpace(s), "\n")
		slices.Sort(l)
		return strings.Join(l, "\n")
	}
	if sorted(records[0]) != sorted(records[1]) {
		t.Errorf("append and batch wrote different points:\n%s\n---\n%s", records[0], records[1])
	}
}

// --from/--to make queries pick points written by an earlier run, inside the window only.
func TestBenchQueryWindow(t *testing.T) {
	const start = "1000000000000"
	c := newCLI(t)
	c.expect(exitOK, "", "", "bench", "-t", "append", "-n", "400", "-c", "2", "--series", "4", "--even",
		"--start", start, "--step", "1s", "-q")
	query := func(from, to string) benchResult {
		o := c.expect(exitOK, "", "", "bench", "-t", "query", "-n", "300", "-c", "2", "-P", "4", "--series", "4",
			"--start", start, "--step", "1s", "--from", from, "--to", to, "--json")
		var results []benchResult
		if err := json.Unmarshal([]byte(o.stdout), &results); err != nil || len(results) != 1 {
			t.Fatalf("%v\n%s", err, o.stdout)
		}
		return results[0]
	}
	base := int64(1_000_000_000_000)
	ts := func(i int64) string { return strconv.FormatInt(base+i*1e9, 10) }
	if r := query(ts(0), ts(10)); r.Requests != 300 || r.NotFound != 0 || r.Errors != 0 {
		t.Errorf("window on the first 10 points: %+v", r)
	}
	if r := query(ts(95), ts(100)); r.NotFound != 0 || r.Errors != 0 {
		t.Errorf("window on the last 5 points: %+v", r)
	}
	// Points 100..199 were never written: every query misses, and says so.
	if r := query(ts(100), ts(200)); r.NotFound != 300 {
		t.Errorf("window after the last point: %+v", r)
	}
	o := c.expect(exitOK, "not found: 0", "", "bench", "-t", "query", "-n", "10", "-c", "1", "--series", "4",
		"--start", start, "--step", "1s", "--from", ts(0), "--to", ts(1))
	if strings.Contains(o.stdout, "not found: 1") {
		t.Error(o.stdout)
	}
}

func TestBenchPointsUsage(t *testing.T) {
	c := &cli{t: t}
	cases := map[string][]string{
		"--step must be positive":     {"bench", "--step", "0s"},
		"want index, walk or gauge":   {"bench", "--values", "sine"},
		`--values "sine"`:             {"bench", "--values", "sine"},
		"--even needs -n":             {"bench", "--even", "-d", "1s", "--series", "100", "-c", "10"},
		"--even needs":                {"bench", "--even", "-n", "1001", "--series", "100", "-c", "10"},
		"--record and --record-at":    {"bench", "--record", "/tmp/x"},
		"is not a point index":        {"bench", "--record", "/tmp/x", "--record-at", "1,-2"},
		"--from and --to go together": {"bench", "--from", "0", "--to", "10"},
		"no point index in --from":    {"bench", "--start", "0", "--step", "10ns", "--from", "1", "--to", "10"},
	}
	for want, args := range cases {
		c.expect(exitUsage, "", want, args...)
	}
}
