package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/taudb/tau/internal/server/servertest"
	"github.com/taudb/tau/internal/version"
	"github.com/taudb/tau/pkg/client/clienttest"
)

// cli runs the program in-process with only the given environment.
type cli struct {
	t   *testing.T
	env map[string]string
}

type outcome struct {
	code           int
	stdout, stderr string
}

func (c *cli) run(args ...string) outcome {
	c.t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, func(k string) string { return c.env[k] }, &stdout, &stderr)
	return outcome{code, stdout.String(), stderr.String()}
}

// expect runs args and checks the exit code and that stdout and stderr contain the given texts.
func (c *cli) expect(code int, stdout, stderr string, args ...string) outcome {
	c.t.Helper()
	o := c.run(args...)
	if o.code != code || !strings.Contains(o.stdout, stdout) || !strings.Contains(o.stderr, stderr) {
		c.t.Fatalf("tau %s\n exit %d, want %d\n stdout %q, want it to contain %q\n stderr %q, want it to contain %q",
			strings.Join(args, " "), o.code, code, o.stdout, stdout, o.stderr, stderr)
	}
	return o
}

// newCLI points the CLI at a fresh in-process server through TAU_LISTEN_ADDRESS, as an operator
// who shares the server's environment would.
func newCLI(t *testing.T) *cli {
	return &cli{t: t, env: map[string]string{"TAU_LISTEN_ADDRESS": servertest.Start(t).Addr()}}
}

func TestCommandsAndExitCodes(t *testing.T) {
	c := newCLI(t)
	steps := []struct {
		args           []string
		code           int
		stdout, stderr string
	}{
		{[]string{"ping"}, exitOK, "PONG\n", ""},
		{[]string{"create", "cpu"}, exitOK, "OK\n", ""},
		{[]string{"create", "cpu"}, exitStatus, "", "ERR series_already_exists: a series with that label already exists\n"},
		{[]string{"append", "cpu", "100", "1.5"}, exitOK, "OK\n", ""},
		{[]string{"append", "cpu", "100", "2"}, exitStatus, "", "ERR out_of_order: the timestamp is not after the series' last point\n"},
		{[]string{"query", "cpu", "100"}, exitOK, "1.5\n", ""},
		{[]string{"query", "cpu", "99"}, exitOK, "(not found)\n", ""},
		{[]string{"query", "mem", "1"}, exitStatus, "", "ERR series_not_found: no series has that label\n"},
		{[]string{"drop", "cpu"}, exitOK, "OK\n", ""},
		{[]string{"drop", "cpu"}, exitStatus, "", "ERR series_not_found: no series has that label\n"},
		{[]string{"--cert", strings.Repeat("ee", 32), "ping"}, exitStatus, "", "ERR auth_failed: the certificate does not match the server's\n"},
	}
	for _, s := range steps {
		o := c.expect(s.code, s.stdout, s.stderr, s.args...)
		if s.code != exitOK && o.stdout != "" {
			t.Errorf("tau %v printed %q on stdout as well", s.args, o.stdout)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	c := newCLI(t)
	long := strings.Repeat("x", 33)
	cases := []struct {
		args   []string
		stderr string
	}{
		{nil, "Usage: tau"},
		{[]string{"frob"}, `unknown command "frob"`},
		{[]string{"create"}, "create wants LABEL, got 0 arguments"},
		{[]string{"ping", "extra"}, "ping takes no arguments"},
		{[]string{"version", "extra"}, "version takes no arguments"},
		{[]string{"create", long}, "33 bytes; at most 32 fit"},
		{[]string{"create", "hex:12"}, "want hex: and 64 hex digits"},
		{[]string{"append", "cpu", "yesterday", "1"}, `timestamp "yesterday"`},
		{[]string{"append", "cpu", "1", "one"}, `value "one": want a number`},
		{[]string{"append", "--bits", "cpu", "1", "0xzz"}, "want 16 hex digits"},
		{[]string{"ping", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"--bogus", "ping"}, "flag provided but not defined: -bogus"},
		{[]string{"--cert", "abc", "ping"}, "--cert: want 64 hex characters, got 3 characters"},
		{[]string{"--cert", strings.Repeat("00", 32), "--cert-file", "x", "ping"}, "--cert and --cert-file are both set"},
		{[]string{"--cert-file", "/nonexistent/cert", "ping"}, "--cert-file: open /nonexistent/cert"},
		{[]string{"--cert", strings.Repeat("00", 32) + "," + strings.Repeat("11", 32), "ping"}, "--cert: want 64 hex characters, got 129 characters"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			c.t = t
			o := c.expect(exitUsage, "", tc.stderr, tc.args...)
			if strings.Contains(o.stderr, "00000000") {
				t.Errorf("a certificate leaked into %q", o.stderr)
			}
		})
	}
}

func TestConnectionFailureExits3(t *testing.T) {
	s := clienttest.Start(t, nil)
	s.Close() // a port where nothing listens
	c := &cli{t: t}
	o := c.expect(exitConn, "", "tau: cannot connect to "+s.Addr+": ", "--addr", s.Addr, "ping")
	if strings.Contains(o.stderr, "tau: tau:") {
		t.Errorf("doubled prefix: %q", o.stderr)
	}
}

func TestTimeoutExits3(t *testing.T) {
	addr := clienttest.Start(t, func(clienttest.Request) *clienttest.Reply {
		time.Sleep(300 * time.Millisecond)
		return nil
	}).Addr
	c := &cli{t: t}
	c.expect(exitConn, "", "timed out", "--addr", addr, "--timeout", "30ms", "ping")
}

func TestHelp(t *testing.T) {
	c := &cli{t: t}
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		c.expect(exitOK, "Exit codes: 0 ok, 1 the server answered an error status, 2 usage, 3 connection failure", "", args...)
	}
	c.expect(exitOK, "Usage: tau append [flags] LABEL TS VALUE", "", "append", "-h")
	c.expect(exitOK, "pipeline depth", "", "bench", "-h")
}

// TestVersion: tau version needs no server and prints this build (a test binary is not
// stamped; cmd/tau-server's TestMakeBuildStampsVersion checks a stamped one).
func TestVersion(t *testing.T) {
	c := &cli{t: t, env: map[string]string{"TAU_LISTEN_ADDRESS": "127.0.0.1:1"}}
	c.expect(exitOK, "tau "+version.Get().String()+"\n", "", "version")
}

// Values go through the CLI with their exact bits; labels may be raw bytes.
func TestValuesAndLabels(t *testing.T) {
	c := newCLI(t)
	label := "hex:" + strings.Repeat("00", 31) + "ff"
	c.expect(exitOK, "OK", "", "create", label)
	points := []struct{ ts, value, printed string }{
		{"1", "NaN", "NaN"},
		{"2", "+Inf", "+Inf"},
		{"3", "-Inf", "-Inf"},
		{"4", "-0", "-0"},
		{"5", "0x1p-2", "0.25"},
		{"6", "1e308", "1e+308"},
	}
	for _, p := range points {
		c.expect(exitOK, "OK", "", "append", label, p.ts, p.value)
		c.expect(exitOK, p.printed+"\n", "", "query", label, p.ts)
	}
	c.expect(exitOK, "OK", "", "append", "--bits", label, "7", "0x7ff80000deadbeef")
	c.expect(exitOK, "0x7ff80000deadbeef\n", "", "query", "--bits", label, "7")
	c.expect(exitOK, "OK", "", "append", label, "2030-01-02T03:04:05Z", "1")
	ts := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano()
	c.expect(exitOK, "1\n", "", "query", label, strconv.FormatInt(ts, 10))
	c.expect(exitStatus, "", "ERR out_of_order", "append", label, "now", "2") // now is before 2030
	c.expect(exitOK, "OK", "", "create", "clock")
	c.expect(exitOK, "OK", "", "append", "clock", "now", "2")
}

func TestEnvironmentAndFlags(t *testing.T) {
	s := servertest.Start(t)
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good"), filepath.Join(dir, "bad")
	devFirst, devSecond := filepath.Join(dir, "dev-first"), filepath.Join(dir, "dev-second")
	dev, other := "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", strings.Repeat("ee", 32)
	for path, content := range map[string]string{
		good: dev + "\n", bad: other,
		devFirst: dev + "\n" + other + "\n", devSecond: other + "\n" + dev + "\n",
	} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name string
		env  map[string]string
		args []string
		code int
	}{
		{"address from env", map[string]string{"TAU_LISTEN_ADDRESS": s.Addr()}, nil, exitOK},
		{"--addr wins over env", map[string]string{"TAU_LISTEN_ADDRESS": "127.0.0.1:1"}, []string{"--addr", s.Addr()}, exitOK},
		{"--addr after the command", map[string]string{}, []string{"ping", "--addr", s.Addr()}, exitOK},
		{"flags on both sides", map[string]string{}, []string{"--timeout", "3s", "ping", "--addr", s.Addr()}, exitOK},
		{"TAU_CERTIFICATE", map[string]string{"TAU_CERTIFICATE": dev}, []string{"--addr", s.Addr()}, exitOK},
		{"TAU_CERTIFICATE wrong", map[string]string{"TAU_CERTIFICATE": strings.Repeat("ee", 32)}, []string{"--addr", s.Addr()}, exitStatus},
		{"TAU_CERTIFICATE_FILE", map[string]string{"TAU_CERTIFICATE_FILE": good}, []string{"--addr", s.Addr()}, exitOK},
		{"--cert-file wins over env", map[string]string{"TAU_CERTIFICATE_FILE": bad}, []string{"--addr", s.Addr(), "--cert-file", good}, exitOK},
		{"--cert wins over env file", map[string]string{"TAU_CERTIFICATE_FILE": bad}, []string{"--addr", s.Addr(), "--cert", dev}, exitOK},
		{"both env set", map[string]string{"TAU_CERTIFICATE": dev, "TAU_CERTIFICATE_FILE": good}, []string{"--addr", s.Addr()}, exitUsage},
		{"bad TAU_CERTIFICATE", map[string]string{"TAU_CERTIFICATE": "zz"}, []string{"--addr", s.Addr()}, exitUsage},
		// Several certificates (a rotation): the client presents the first.
		{"TAU_CERTIFICATE list, first accepted", map[string]string{"TAU_CERTIFICATE": dev + "," + other}, []string{"--addr", s.Addr()}, exitOK},
		{"TAU_CERTIFICATE list, first refused", map[string]string{"TAU_CERTIFICATE": other + "," + dev}, []string{"--addr", s.Addr()}, exitStatus},
		{"TAU_CERTIFICATE list, bad second", map[string]string{"TAU_CERTIFICATE": dev + ",zz"}, []string{"--addr", s.Addr()}, exitUsage},
		{"file of two lines, first accepted", map[string]string{"TAU_CERTIFICATE_FILE": devFirst}, []string{"--addr", s.Addr()}, exitOK},
		{"file of two lines, first refused", nil, []string{"--addr", s.Addr(), "--cert-file", devSecond}, exitStatus},
		{"--cert takes one certificate", nil, []string{"--addr", s.Addr(), "--cert", dev + "," + other}, exitUsage},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &cli{t: t, env: tc.env}
			args := tc.args
			if !slices.Contains(args, "ping") {
				args = append(args, "ping")
			}
			o := c.run(args...)
			if o.code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %q", o.code, tc.code, o.stderr)
			}
		})
	}
}

func TestParseValue(t *testing.T) {
	cases := []struct {
		in   string
		bits bool
		want uint64
	}{
		{"1.5", false, math.Float64bits(1.5)},
		{"NaN", false, math.Float64bits(math.NaN())},
		{"inf", false, math.Float64bits(math.Inf(1))},
		{"-Infinity", false, math.Float64bits(math.Inf(-1))},
		{"0x7ff0000000000001", true, 0x7ff0000000000001},
		{"FFF8000000000000", true, 0xfff8000000000000},
	}
	for _, tc := range cases {
		got, err := parseValue(tc.in, tc.bits)
		if err != nil || got != tc.want {
			t.Errorf("parseValue(%q, %v) = %#x, %v; want %#x", tc.in, tc.bits, got, err, tc.want)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	now := func() time.Time { return time.Unix(0, 42) }
	cases := map[string]int64{"now": 42, "-5": -5, "9223372036854775807": math.MaxInt64,
		"1970-01-01T00:00:01.5Z": 1_500_000_000}
	for in, want := range cases {
		if got, err := parseTimestamp(in, now); err != nil || got != want {
			t.Errorf("parseTimestamp(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := parseTimestamp("9223372036854775808", now); err == nil {
		t.Error("an overflowing timestamp was accepted")
	}
}
