package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/taudb/tau/pkg/client"
	"github.com/taudb/tau/pkg/protocol"
)

// The read commands: range, export, list, info (and plot, in plot.go). They use the server's
// read extensions (docs/protocol.md, E1, E2, E4); a server without them (1.3.0) answers
// bad_opcode, which report prints as "the server does not support …".

// rangeArgs parses LABEL FROM TO.
func rangeArgs(pos []string) (l protocol.Label, from, to int64, err error) {
	if l, err = parseLabel(pos[0]); err != nil {
		return l, 0, 0, err
	}
	if from, err = parseTimestamp(pos[1], time.Now); err != nil {
		return l, 0, 0, err
	}
	to, err = parseTimestamp(pos[2], time.Now)
	return l, from, to, err
}

// parseBucket reads a bucket width: a Go duration (1m, 250ms) or integer nanoseconds.
func parseBucket(s string) (time.Duration, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		return time.Duration(n), nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d, nil
	}
	return 0, usagef("bucket %q: want a positive duration (1m, 250ms) or nanoseconds", s)
}

// formatValue writes a value so that strconv.ParseFloat reads back the same float64: the
// shortest 'g' form that round-trips (strconv 'g', -1). NaN payloads and the sign of a NaN are
// not kept by any decimal form; --bits prints the exact bits instead.
func formatValue(p client.Point, bits bool) string {
	if bits {
		return fmt.Sprintf("%#016x", p.Bits)
	}
	return strconv.FormatFloat(p.Value, 'g', -1, 64)
}

func formatTime(ts int64) string { return time.Unix(0, ts).UTC().Format(time.RFC3339Nano) }

func (c *command) rangeCmd(args []string) error {
	fs := c.flags("range", "LABEL FROM TO")
	agg := fs.String("agg", "raw", "aggregation per bucket: raw, avg, sum, min, max, count, first, last")
	bucket := fs.String("bucket", "", "bucket width for --agg (1m, 250ms, or nanoseconds)")
	format := fs.String("format", "table", "output: table (UTC time and value), csv (ts,value) or json")
	bits := fs.Bool("bits", false, "print values as their IEEE-754 bits in hex")
	pos, err := c.parse(fs, args, 3)
	if err != nil {
		return err
	}
	l, from, to, err := rangeArgs(pos)
	if err != nil {
		return err
	}
	opts, err := rangeOptions(*agg, *bucket)
	if err != nil {
		return err
	}
	var w pointWriter
	switch *format {
	case "table":
		w = &tableWriter{bits: *bits}
	case "csv":
		w = &csvWriter{bits: *bits}
	case "json":
		w = &jsonWriter{bits: *bits}
	default:
		return usagef("--format %q: want table, csv or json", *format)
	}
	return c.writeRange(l, from, to, opts, w)
}

// rangeOptions checks --agg and --bucket.
func rangeOptions(aggName, bucket string) (*client.RangeOptions, error) {
	agg, err := client.ParseAggregation(aggName)
	if err != nil {
		return nil, usagef("--agg: %v", err)
	}
	o := &client.RangeOptions{Agg: agg}
	switch {
	case agg == client.Raw && bucket != "":
		return nil, usagef("--bucket needs --agg (raw points have no buckets)")
	case agg != client.Raw && bucket == "":
		return nil, usagef("--agg %s needs --bucket", agg)
	case agg != client.Raw:
		if o.Bucket, err = parseBucket(bucket); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// export writes a range as CSV: ts,value with the values exactly round-tripping.
func (c *command) export(args []string) error {
	fs := c.flags("export", "LABEL FROM TO")
	bits := fs.Bool("bits", false, "write ts,bits: each value's IEEE-754 bits in hex (keeps NaN payloads)")
	pos, err := c.parse(fs, args, 3)
	if err != nil {
		return err
	}
	l, from, to, err := rangeArgs(pos)
	if err != nil {
		return err
	}
	return c.writeRange(l, from, to, nil, &csvWriter{bits: *bits})
}

// pointWriter formats a range's points as they stream in.
type pointWriter interface {
	begin(w io.Writer)
	point(w io.Writer, p client.Point)
	end(w io.Writer)
}

func (c *command) writeRange(l protocol.Label, from, to int64, opts *client.RangeOptions, pw pointWriter) error {
	ctx, conn, done, err := c.dial()
	if err != nil {
		return err
	}
	defer done()
	bw := bufio.NewWriter(c.stdout)
	begun := false
	for p, err := range conn.Range(ctx, l, from, to, opts) {
		if err != nil {
			_ = bw.Flush()
			return err
		}
		if !begun {
			pw.begin(bw)
			begun = true
		}
		pw.point(bw, p)
	}
	if !begun {
		pw.begin(bw)
	}
	pw.end(bw)
	return bw.Flush()
}

type tableWriter struct{ bits bool }

func (t *tableWriter) begin(w io.Writer) { _, _ = fmt.Fprintf(w, "%-30s  %s\n", "TIME (UTC)", "VALUE") }
func (t *tableWriter) point(w io.Writer, p client.Point) {
	_, _ = fmt.Fprintf(w, "%-30s  %s\n", formatTime(p.TS), formatValue(p, t.bits))
}
func (t *tableWriter) end(io.Writer) {}

// csvWriter writes ts (nanoseconds since the epoch) and the value, exactly (formatValue).
type csvWriter struct{ bits bool }

func (c *csvWriter) begin(w io.Writer) {
	if c.bits {
		_, _ = io.WriteString(w, "ts,bits\n")
		return
	}
	_, _ = io.WriteString(w, "ts,value\n")
}
func (c *csvWriter) point(w io.Writer, p client.Point) {
	_, _ = fmt.Fprintf(w, "%d,%s\n", p.TS, formatValue(p, c.bits))
}
func (c *csvWriter) end(io.Writer) {}

// jsonWriter writes one JSON array of {"ts", "time", "value"}; values JSON cannot hold (NaN,
// ±Inf) are written as the strings "NaN", "+Inf", "-Inf", and --bits writes "bits" instead.
type jsonWriter struct {
	bits bool
	n    int
}

func (j *jsonWriter) begin(w io.Writer) { _, _ = io.WriteString(w, "[") }
func (j *jsonWriter) point(w io.Writer, p client.Point) {
	sep := ",\n "
	if j.n == 0 {
		sep = "\n "
	}
	j.n++
	v := formatValue(p, false)
	switch {
	case j.bits:
		_, _ = fmt.Fprintf(w, `%s{"ts":%d,"time":%q,"bits":"%#016x"}`, sep, p.TS, formatTime(p.TS), p.Bits)
		return
	case math.IsNaN(p.Value) || math.IsInf(p.Value, 0):
		v = strconv.Quote(v)
	}
	_, _ = fmt.Fprintf(w, `%s{"ts":%d,"time":%q,"value":%s}`, sep, p.TS, formatTime(p.TS), v)
}
func (j *jsonWriter) end(w io.Writer) {
	if j.n > 0 {
		_, _ = io.WriteString(w, "\n")
	}
	_, _ = io.WriteString(w, "]\n")
}

// list prints the labels of the series, or of those beginning with PREFIX, one a line.
func (c *command) list(args []string) error {
	fs := c.flags("list", "[PREFIX]")
	pos, err := c.parseBetween(fs, args, 0, 1)
	if err != nil {
		return err
	}
	var prefix []byte
	if len(pos) == 1 {
		if prefix = []byte(pos[0]); len(prefix) > protocol.LabelSize {
			return usagef("prefix %q is %d bytes; a label has at most %d", pos[0], len(prefix), protocol.LabelSize)
		}
	}
	ctx, conn, done, err := c.dial()
	if err != nil {
		return err
	}
	defer done()
	bw := bufio.NewWriter(c.stdout)
	for l, err := range conn.ListSeriesPrefix(ctx, prefix) {
		if err != nil {
			_ = bw.Flush()
			return err
		}
		_, _ = fmt.Fprintln(bw, formatLabel(l))
	}
	return bw.Flush()
}

// formatLabel writes a label as parseLabel reads it: the name when it is printable text padded
// with zero bytes, else hex: and its 64 hex digits.
func formatLabel(l protocol.Label) string {
	name := strings.TrimRight(string(l[:]), "\x00")
	for _, r := range name {
		if r == unicode.ReplacementChar || !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return "hex:" + hex.EncodeToString(l[:])
		}
	}
	if name == "" || strings.HasPrefix(name, "hex:") {
		return "hex:" + hex.EncodeToString(l[:])
	}
	return name
}

// info prints how many points a series holds and its first and last timestamps.
func (c *command) info(args []string) error {
	return c.onSeries(args, "info", func(conn *client.Conn, ctx context.Context, l protocol.Label) error {
		in, err := conn.SeriesInfo(ctx, l)
		if err != nil {
			return err
		}
		_, _ = fmt.Fprintf(c.stdout, "points  %d\n", in.Points)
		if in.Points == 0 {
			_, _ = fmt.Fprintln(c.stdout, "first   -\nlast    -")
			return nil
		}
		_, _ = fmt.Fprintf(c.stdout, "first   %s  (%d)\nlast    %s  (%d)\n", formatTime(in.First), in.First, formatTime(in.Last), in.Last)
		return nil
	})
}

// parseBetween is parse for a command taking from lo to hi arguments.
func (c *command) parseBetween(fs *flag.FlagSet, args []string, lo, hi int) ([]string, error) {
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.printUsage(fs)
			return nil, errHelpShown
		}
		return nil, usagef("%s: %v", c.name, err)
	}
	if len(pos) < lo || len(pos) > hi {
		return nil, usagef("%s wants %s, got %d arguments", c.name, c.argsUsage, len(pos))
	}
	return pos, nil
}
