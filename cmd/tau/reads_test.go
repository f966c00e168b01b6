package main

import (
	"context"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/taudb/tau/internal/server/servertest"
	"github.com/taudb/tau/pkg/client"
	"github.com/taudb/tau/pkg/client/clienttest"
	"github.com/taudb/tau/pkg/protocol"
)

// seeded starts a server holding series "sine": 600 points 10 s apart from 2025-01-01, and
// "mem" and "cpu.a", "cpu.b", empty.
func seeded(t *testing.T) *cli {
	t.Helper()
	addr := servertest.Start(t).Addr()
	ctx := context.Background()
	conn, err := client.Dial(ctx, addr, protocol.DevCertificate, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	var b client.Batch
	for _, n := range []string{"sine", "mem", "cpu.a", "cpu.b"} {
		b.Create(protocol.LabelFromString(n))
	}
	for i := range 600 {
		b.Append(protocol.LabelFromString("sine"), base+int64(i)*int64(10*time.Second), 20+5*math.Sin(float64(i)/40))
	}
	if err := conn.Do(ctx, &b); err != nil {
		t.Fatal(err)
	}
	for _, r := range b.Results() {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	return &cli{t: t, env: map[string]string{"TAU_LISTEN_ADDRESS": addr}}
}

var base = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()

func TestRangeCommand(t *testing.T) {
	c := seeded(t)
	o := c.expect(exitOK, "TIME (UTC)", "", "range", "sine", "2025-01-01T00:00:00Z", "2025-01-01T00:00:30Z")
	want := "TIME (UTC)                      VALUE\n" +
		"2025-01-01T00:00:00Z            20\n" +
		"2025-01-01T00:00:10Z            " + strconv.FormatFloat(20+5*math.Sin(1.0/40), 'g', -1, 64) + "\n" +
		"2025-01-01T00:00:20Z            " + strconv.FormatFloat(20+5*math.Sin(2.0/40), 'g', -1, 64) + "\n"
	if o.stdout != want {
		t.Fatalf("got\n%s\nwant\n%s", o.stdout, want)
	}
	// Flags after the arguments; buckets of 15 minutes; 600 points of 10 s are 100 minutes.
	o = c.expect(exitOK, "ts,value\n", "", "range", "sine", strconv.FormatInt(base, 10), "2025-01-02T00:00:00Z", "--agg", "count", "--bucket", "15m", "--format", "csv")
	lines := strings.Split(strings.TrimSpace(o.stdout), "\n")
	if len(lines) != 8 || lines[1] != strconv.FormatInt(base, 10)+",90" || lines[7] != strconv.FormatInt(base+int64(90*time.Minute), 10)+",60" {
		t.Fatalf("count per 15m:\n%s", o.stdout)
	}
	o = c.expect(exitOK, `{"ts":`+strconv.FormatInt(base, 10)+`,"time":"2025-01-01T00:00:00Z","value":20}`, "",
		"range", "--format", "json", "sine", "2025-01-01T00:00:00Z", "2025-01-01T00:00:20Z")
	if !strings.HasPrefix(o.stdout, "[\n") || !strings.HasSuffix(o.stdout, "}\n]\n") || strings.Count(o.stdout, "{") != 2 {
		t.Fatalf("json:\n%s", o.stdout)
	}
	c.expect(exitOK, "[]\n", "", "range", "--format", "json", "mem", "0", "10")
	c.expect(exitStatus, "", "ERR series_not_found", "range", "nope", "0", "10")
	c.expect(exitUsage, "", "--agg avg needs --bucket", "range", "sine", "0", "10", "--agg", "avg")
	c.expect(exitUsage, "", "--bucket needs --agg", "range", "sine", "0", "10", "--bucket", "1m")
	c.expect(exitUsage, "", `--format "xml"`, "range", "sine", "0", "10", "--format", "xml")
	c.expect(exitUsage, "", `aggregation "median"`, "range", "sine", "0", "10", "--agg", "median", "--bucket", "1")
	c.expect(exitUsage, "", `bucket "-1m"`, "range", "sine", "0", "10", "--agg", "avg", "--bucket=-1m")
}

// TestExportRoundTrips: every value export writes reads back as the same float64, and --bits
// keeps even a NaN's payload.
func TestExportRoundTrips(t *testing.T) {
	c := newCLI(t)
	c.expect(exitOK, "OK", "", "create", "x")
	values := []string{"0.1", "1e-300", "-0", "3.141592653589793", "-Inf", "1.7976931348623157e+308", "5e-324"}
	for i, v := range values {
		c.expect(exitOK, "OK", "", "append", "x", strconv.Itoa(i-3), v)
	}
	c.expect(exitOK, "OK", "", "append", "--bits", "x", "10", "0x7ff8000000000001")
	o := c.expect(exitOK, "ts,value\n", "", "export", "x", "-10", "100")
	lines := strings.Split(strings.TrimSpace(o.stdout), "\n")[1:]
	for i, v := range values {
		want, _ := strconv.ParseFloat(v, 64)
		ts, got, _ := strings.Cut(lines[i], ",")
		f, err := strconv.ParseFloat(got, 64)
		if err != nil || math.Float64bits(f) != math.Float64bits(want) || ts != strconv.Itoa(i-3) {
			t.Errorf("line %q: want ts %d value %v", lines[i], i-3, v)
		}
	}
	if lines[len(values)] != "10,NaN" {
		t.Errorf("NaN line %q", lines[len(values)])
	}
	o = c.expect(exitOK, "ts,bits\n", "", "export", "x", "10", "11", "--bits")
	if o.stdout != "ts,bits\n10,0x7ff8000000000001\n" {
		t.Errorf("--bits: %q", o.stdout)
	}
}

func TestListAndInfo(t *testing.T) {
	c := seeded(t)
	c.expect(exitOK, "cpu.a\ncpu.b\nmem\nsine\n", "", "list")
	o := c.expect(exitOK, "cpu.a\ncpu.b\n", "", "list", "cpu.")
	if o.stdout != "cpu.a\ncpu.b\n" {
		t.Fatalf("list cpu.: %q", o.stdout)
	}
	c.expect(exitOK, "", "", "list", "zzz")
	c.expect(exitOK, "points  600\nfirst   2025-01-01T00:00:00Z  (1735689600000000000)\nlast    2025-01-01T01:39:50Z  (1735695590000000000)\n", "", "info", "sine")
	c.expect(exitOK, "points  0\nfirst   -\nlast    -\n", "", "info", "mem")
	c.expect(exitStatus, "", "ERR series_not_found", "info", "nope")
	c.expect(exitUsage, "", "list wants [PREFIX], got 2 arguments", "list", "a", "b")
	if got := formatLabel(protocol.Label{0xff}); !strings.HasPrefix(got, "hex:ff00") {
		t.Errorf("formatLabel of a binary label: %q", got)
	}
}

func TestPlot(t *testing.T) {
	c := seeded(t)
	c.env["COLUMNS"], c.env["LINES"] = "70", "16"
	args := []string{"plot", "sine", "2025-01-01T00:00:00Z", "2025-01-01T01:40:00Z"}
	o := c.expect(exitOK, "sine  min–max per ", "", args...)
	lines := strings.Split(strings.TrimSuffix(o.stdout, "\n"), "\n")
	if len(lines) != 15 {
		t.Fatalf("%d lines, want 15 (LINES - 1):\n%s", len(lines), o.stdout)
	}
	for i, l := range lines {
		if n := utf8.RuneCountInString(l); n != 70 {
			t.Errorf("line %d has %d characters, want 70: %q", i, n, l)
		}
	}
	// Value axis: the top and bottom ticks are the data's max and min.
	if !strings.HasPrefix(strings.TrimSpace(lines[1]), "25 ┤") && !strings.Contains(lines[1], "┤") {
		t.Errorf("no top tick: %q", lines[1])
	}
	top, _ := strconv.ParseFloat(strings.TrimSpace(strings.Split(lines[1], "┤")[0]), 64)
	bottom, _ := strconv.ParseFloat(strings.TrimSpace(strings.Split(lines[12], "┤")[0]), 64)
	if top < 24.9 || top > 25 || bottom < 15 || bottom > 15.1 {
		t.Errorf("value ticks %v .. %v, want about 25 .. 15\n%s", top, bottom, o.stdout)
	}
	if !strings.Contains(lines[13], "└┬") || strings.Count(lines[13], "┬") < 3 {
		t.Errorf("time axis %q", lines[13])
	}
	if !strings.Contains(lines[14], "00:") {
		t.Errorf("time labels %q", lines[14])
	}
	braille := 0
	for _, l := range lines[1:13] {
		for _, r := range l {
			if r >= 0x2800 && r <= 0x28ff {
				braille++
			}
		}
	}
	if braille < 50 {
		t.Errorf("only %d braille cells drawn:\n%s", braille, o.stdout)
	}
	// Stable for a fixed size; flags override the environment.
	if again := c.run(args...); again.stdout != o.stdout {
		t.Errorf("a second plot differs:\n%s", again.stdout)
	}
	o = c.expect(exitOK, "sine  avg per ", "", append(args, "--width", "40", "--height", "10", "--agg", "avg")...)
	if lines := strings.Split(strings.TrimSuffix(o.stdout, "\n"), "\n"); len(lines) != 9 || utf8.RuneCountInString(lines[0]) != 40 {
		t.Errorf("--width 40 --height 10:\n%s", o.stdout)
	}
	c.expect(exitOK, "no points", "", "plot", "mem", "0", "100")
	c.expect(exitUsage, "", "needs at least", append(args, "--width", "10")...)
	c.expect(exitUsage, "", "TO must be after FROM", "plot", "sine", "10", "10")
}

// TestPlotAsksForBucketsNotPoints: a plot of a long range asks for about one bucket per dot
// column, never the raw points.
func TestPlotAsksForBucketsNotPoints(t *testing.T) {
	var ranges []protocol.QueryRange
	s := clienttest.Start(t, func(r clienttest.Request) *clienttest.Reply {
		if r.Op == protocol.OpQueryRange {
			ranges = append(ranges, protocol.QueryRangeRequest(r.Payload))
		}
		return nil
	})
	c := &cli{t: t, env: map[string]string{"TAU_LISTEN_ADDRESS": s.Addr, "COLUMNS": "80", "LINES": "24"}}
	c.expect(exitOK, "OK", "", "create", "big")
	c.expect(exitOK, "", "", "plot", "big", "0", strconv.FormatInt(int64(365*24*time.Hour), 10))
	if len(ranges) != 2 || ranges[0].Aggregation != protocol.AggMin || ranges[1].Aggregation != protocol.AggMax {
		t.Fatalf("requests %+v", ranges)
	}
	cols := 80 - 12
	if n := int64(365*24*time.Hour) / ranges[0].Bucket; n > int64(2*cols) || n < int64(2*cols)*9/10 {
		t.Fatalf("bucket %v gives %d buckets for %d dot columns", time.Duration(ranges[0].Bucket), n, 2*cols)
	}
}

func TestReadsOnAnOldServer(t *testing.T) {
	s := clienttest.StartWith(t, nil, clienttest.Options{V1Only: true})
	c := &cli{t: t, env: map[string]string{"TAU_LISTEN_ADDRESS": s.Addr}}
	c.expect(exitStatus, "", "ERR bad_opcode: the server does not support QUERY_RANGE", "range", "x", "0", "1")
	c.expect(exitStatus, "", "ERR bad_opcode: the server does not support LIST_SERIES", "list")
	c.expect(exitStatus, "", "ERR bad_opcode: the server does not support SERIES_INFO", "info", "x")
}

func TestParseTimestampForms(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	cases := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"now", now.UnixNano(), true},
		{"-1h", now.Add(-time.Hour).UnixNano(), true},
		{"+30m", now.Add(30 * time.Minute).UnixNano(), true},
		{"now-90s", now.Add(-90 * time.Second).UnixNano(), true},
		{"now+1h30m", now.Add(90 * time.Minute).UnixNano(), true},
		{"-5", -5, true},
		{"0", 0, true},
		{"9223372036854775807", math.MaxInt64, true},
		{"-9223372036854775808", math.MinInt64, true},
		{"2025-01-01T00:00:00Z", base, true},
		{"2025-01-01T01:00:00.5+01:00", base + int64(500*time.Millisecond), true},
		{"yesterday", 0, false},
		{"now-", 0, false},
		{"nowish", 0, false},
		{"-1x", 0, false},
		{"9223372036854775808", 0, false},
	}
	for _, tc := range cases {
		got, err := parseTimestamp(tc.in, clock)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("parseTimestamp(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
