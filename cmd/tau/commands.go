package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/taudb/tau/pkg/client"
	"github.com/taudb/tau/pkg/protocol"
)

// command carries what every subcommand needs.
type command struct {
	conn   *connFlags
	env    env
	stdout io.Writer
	stderr io.Writer

	name      string // the command, for messages
	argsUsage string // its positional arguments, for -h and messages
}

func (c *command) dispatch(name string, args []string) error {
	switch name {
	case "ping":
		return c.ping(args)
	case "create":
		return c.series(args, "create", (*client.Conn).Create)
	case "drop":
		return c.series(args, "drop", (*client.Conn).Drop)
	case "append":
		return c.append(args)
	case "query":
		return c.query(args)
	case "bench":
		return c.bench(args)
	case "range":
		return c.rangeCmd(args)
	case "export":
		return c.export(args)
	case "import":
		return c.importCmd(args)
	case "list":
		return c.list(args)
	case "info":
		return c.info(args)
	case "plot":
		return c.plot(args)
	case "lens":
		return c.lens(args)
	case "cluster":
		return c.cluster(args)
	case "version":
		return c.version(args)
	case "help":
		return flag.ErrHelp
	}
	return usagef("unknown command %q", name)
}

// flags makes a command's flag set, with the connection flags on it too.
func (c *command) flags(name, argsUsage string) *flag.FlagSet {
	fs := flag.NewFlagSet("tau "+name, flag.ContinueOnError)
	// The flag package would print the whole usage on every mistake; parse prints it on -h only.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	c.conn.register(fs)
	c.name, c.argsUsage = name, argsUsage
	return fs
}

// printUsage is a command's -h.
func (c *command) printUsage(fs *flag.FlagSet) {
	_, _ = fmt.Fprintf(c.stdout, "Usage: %s [flags] %s\n\nFlags:\n", fs.Name(), c.argsUsage)
	fs.SetOutput(c.stdout)
	fs.PrintDefaults()
}

// parse parses a command's flags and checks it got exactly n arguments. Flags may come before,
// between or after the arguments; an argument that starts with "-" but names no flag of the
// command, such as a relative time (-1h), a negative number (-5) or -Inf, is an argument.
func (c *command) parse(fs *flag.FlagSet, args []string, n int) ([]string, error) {
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.printUsage(fs)
			return nil, errHelpShown
		}
		return nil, usagef("%s: %v", c.name, err)
	}
	switch {
	case len(pos) != n && n == 0:
		return nil, usagef("%s takes no arguments, got %q", c.name, pos)
	case len(pos) != n:
		return nil, usagef("%s wants %s, got %d arguments", c.name, c.argsUsage, len(pos))
	}
	return pos, nil
}

// parseInterspersed parses flags wherever they are among the arguments, and returns the
// arguments. Everything after "--" is an argument.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for len(args) > 0 {
		// Parse up to the next dash-argument that is not a flag; the flag package stops at
		// the first non-flag itself.
		cut := len(args)
		for i, a := range args {
			if a == "--" || isDashArgument(fs, a) {
				cut = i
				break
			}
		}
		if err := fs.Parse(args[:cut]); err != nil {
			return nil, err
		}
		rest := append(fs.Args(), args[cut:]...)
		if len(rest) == 0 {
			break
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
	return pos, nil
}

// isDashArgument reports whether a, which may start with "-", is an argument rather than a
// flag: a negative number, relative time or -Inf/-NaN that names no flag.
func isDashArgument(fs *flag.FlagSet, a string) bool {
	if len(a) < 2 || a[0] != '-' {
		return false
	}
	name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
	if fs.Lookup(name) != nil {
		return false
	}
	c := a[1]
	return c >= '0' && c <= '9' || c == '.' || c == '+' || strings.EqualFold(a, "-inf") ||
		strings.EqualFold(a, "-infinity") || strings.EqualFold(a, "-nan")
}

// errHelpShown ends a command whose -h printed its usage; it exits 0.
var errHelpShown = errors.New("help shown")

// dial connects with the resolved address and certificate; the returned context bounds the
// whole command (--timeout).
func (c *command) dial() (context.Context, *client.Conn, func(), error) {
	cert, err := c.conn.certificate(c.env)
	if err != nil {
		return nil, nil, nil, err
	}
	tlsConfig, err := c.conn.tls.config(c.env)
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.conn.timeout)
	conn, err := client.Dial(ctx, c.conn.address(c.env), cert, &client.Options{MaxRetries: 3, TLS: tlsConfig})
	if err != nil {
		cancel()
		return nil, nil, nil, err
	}
	return ctx, conn, func() { _ = conn.Close(); cancel() }, nil
}

func (c *command) ping(args []string) error {
	if _, err := c.parse(c.flags("ping", ""), args, 0); err != nil {
		return err
	}
	ctx, conn, done, err := c.dial()
	if err != nil {
		return err
	}
	defer done()
	if err := conn.Ping(ctx); err != nil {
		return err
	}
	_, _ = fmt.Fprintln(c.stdout, "PONG")
	return nil
}

// series runs create or drop.
func (c *command) series(args []string, name string, op func(*client.Conn, context.Context, protocol.Label) error) error {
	if err := c.onSeries(args, name, op); err != nil {
		return err
	}
	_, _ = fmt.Fprintln(c.stdout, "OK")
	return nil
}

// onSeries parses a command whose only argument is a LABEL, connects, and runs op on it.
func (c *command) onSeries(args []string, name string, op func(*client.Conn, context.Context, protocol.Label) error) error {
	pos, err := c.parse(c.flags(name, "LABEL"), args, 1)
	if err != nil {
		return err
	}
	l, err := parseLabel(pos[0])
	if err != nil {
		return err
	}
	ctx, conn, done, err := c.dial()
	if err != nil {
		return err
	}
	defer done()
	return op(conn, ctx, l)
}

func (c *command) append(args []string) error {
	fs := c.flags("append", "LABEL TS VALUE")
	bits := fs.Bool("bits", false, "VALUE is the float64's IEEE-754 bits in hex (e.g. 0x7ff8000000000001)")
	pos, err := c.parse(fs, args, 3)
	if err != nil {
		return err
	}
	l, err := parseLabel(pos[0])
	if err != nil {
		return err
	}
	ts, err := parseTimestamp(pos[1], time.Now)
	if err != nil {
		return err
	}
	v, err := parseValue(pos[2], *bits)
	if err != nil {
		return err
	}
	ctx, conn, done, err := c.dial()
	if err != nil {
		return err
	}
	defer done()
	if err := conn.AppendBits(ctx, l, ts, v); err != nil {
		return err
	}
	_, _ = fmt.Fprintln(c.stdout, "OK")
	return nil
}

func (c *command) query(args []string) error {
	return c.pointQuery("query", "LABEL TS", args, (*client.Conn).QueryBits)
}

// pointQuery is query and lens query: a label and a timestamp, one value printed as a number,
// or as its bits with --bits.
func (c *command) pointQuery(name, usage string, args []string,
	fetch func(*client.Conn, context.Context, protocol.Label, int64) (uint64, bool, error)) error {
	fs := c.flags(name, usage)
	bits := fs.Bool("bits", false, "print the value's IEEE-754 bits in hex instead of the number")
	pos, err := c.parse(fs, args, 2)
	if err != nil {
		return err
	}
	l, err := parseLabel(pos[0])
	if err != nil {
		return err
	}
	ts, err := parseTimestamp(pos[1], time.Now)
	if err != nil {
		return err
	}
	ctx, conn, done, err := c.dial()
	if err != nil {
		return err
	}
	defer done()
	v, found, err := fetch(conn, ctx, l, ts)
	switch {
	case err != nil:
		return err
	case !found:
		_, _ = fmt.Fprintln(c.stdout, "(not found)")
	case *bits:
		_, _ = fmt.Fprintf(c.stdout, "%#016x\n", v)
	default:
		_, _ = fmt.Fprintln(c.stdout, strconv.FormatFloat(math.Float64frombits(v), 'g', -1, 64))
	}
	return nil
}

func parseLabel(s string) (protocol.Label, error) {
	l, err := client.ParseLabel(s)
	if err != nil {
		return l, usagef("%v", err)
	}
	return l, nil
}

// parseTimestamp accepts nanoseconds since the epoch (any int64), "now", a time relative to
// now ("-1h", "+30m", "now-90s": a signed Go duration), or RFC 3339.
func parseTimestamp(s string, now func() time.Time) (int64, error) {
	if s == "now" {
		return now().UnixNano(), nil
	}
	if ts, err := strconv.ParseInt(s, 10, 64); err == nil {
		return ts, nil
	}
	if rel, ok := strings.CutPrefix(s, "now"); ok && rel != "" || strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
		if !ok {
			rel = s
		}
		if (rel[0] == '-' || rel[0] == '+') && len(rel) > 1 {
			if d, err := time.ParseDuration(rel); err == nil {
				return now().Add(d).UnixNano(), nil
			}
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UnixNano(), nil
	}
	return 0, usagef("timestamp %q: want nanoseconds since the epoch, now, a time relative to now (-1h, now-30m) or RFC 3339", s)
}

// parseValue reads a float64 as strconv does (NaN, Inf, -Inf, hex floats), or with bits its
// IEEE-754 bits, returning the bits either way.
func parseValue(s string, bits bool) (uint64, error) {
	if bits {
		b, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(s), "0x"), 16, 64)
		if err != nil {
			return 0, usagef("value %q: want 16 hex digits of IEEE-754 bits", s)
		}
		return b, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, usagef("value %q: want a number (NaN, Inf and -Inf are numbers too)", s)
	}
	return math.Float64bits(v), nil
}
