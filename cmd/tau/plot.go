package main

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/taudb/tau/pkg/client"
	"github.com/taudb/tau/pkg/protocol"
)

// tau plot draws a series in the terminal with braille characters: each character cell holds
// 2×4 dots, so a plot of C columns has 2C dot columns. It asks the server for one bucket per
// dot column (QUERY_RANGE with min and max, or one aggregation), so it never fetches the raw
// points of a long range: at most 2C buckets come back, whatever the range holds.
//
// The terminal size is --width and --height, else $COLUMNS and $LINES, else 80×24. The plot
// fills the width and height − 1 lines (the shell prompt keeps the last): a title line, the
// plot rows with the value axis on the left, the time axis and its tick labels. Times are UTC.

const (
	defaultWidth  = 80
	defaultHeight = 24
	minWidth      = 30
	minHeight     = 8
)

func (c *command) plot(args []string) error {
	fs := c.flags("plot", "LABEL FROM TO")
	width := fs.Int("width", 0, "columns to fill (default $COLUMNS, else 80)")
	height := fs.Int("height", 0, "terminal lines; the plot uses one less (default $LINES, else 24)")
	agg := fs.String("agg", "minmax", "what each dot column shows: minmax (the envelope of its bucket), or an aggregation: avg, sum, min, max, count, first, last")
	pos, err := c.parse(fs, args, 3)
	if err != nil {
		return err
	}
	l, from, to, err := rangeArgs(pos)
	if err != nil {
		return err
	}
	if to <= from {
		return usagef("plot: TO must be after FROM")
	}
	w, err := c.termSize(*width, "COLUMNS", defaultWidth, minWidth, "--width")
	if err != nil {
		return err
	}
	h, err := c.termSize(*height, "LINES", defaultHeight, minHeight, "--height")
	if err != nil {
		return err
	}
	aggs := []client.Aggregation{client.Min, client.Max}
	if *agg != "minmax" {
		a, err := client.ParseAggregation(*agg)
		if err != nil || a == client.Raw {
			return usagef("--agg %q: want minmax, avg, sum, min, max, count, first or last", *agg)
		}
		aggs = []client.Aggregation{a}
	}
	ctx, conn, done, err := c.dial()
	if err != nil {
		return err
	}
	defer done()
	p := newPlot(pos[0], from, to, w, h, aggs)
	if err := p.fetch(ctx, conn, l); err != nil {
		return err
	}
	_, err = fmt.Fprint(c.stdout, p.render())
	return err
}

// termSize is the flag, else the environment variable, else the default.
func (c *command) termSize(flagValue int, envName string, def, least int, flagName string) (int, error) {
	n := flagValue
	if n == 0 {
		if v, err := strconv.Atoi(c.env(envName)); err == nil && v > 0 {
			n = v
		} else {
			n = def
		}
	}
	if n < least {
		return 0, usagef("%s (or $%s) is %d; the plot needs at least %d", flagName, envName, n, least)
	}
	return n, nil
}

// plot is one drawing: its geometry, the buckets asked for, and what came back.
type plot struct {
	title      string
	from, to   int64
	width      int // characters a line
	rows, cols int // plot area in character cells
	yw         int // width of the value labels
	aggs       []client.Aggregation
	bucket     int64
	origin     int64 // the start of the bucket holding from: dot column 0
	lo, hi     []float64
	has        []bool
}

func newPlot(name string, from, to int64, width, height int, aggs []client.Aggregation) *plot {
	p := &plot{title: name, from: from, to: to, width: width, rows: height - 4, aggs: aggs}
	p.yw = 10 // the value labels' width; fixed so the bucket can be chosen before the values are known
	p.cols = width - p.yw - 2
	dots := uint64(2*p.cols - 1)
	span := uint64(to) - uint64(from) // to > from: the difference fits a uint64
	// With bucket = ceil(span / (2C−1)), the buckets from the one holding from up to to number
	// at most 2C, one per dot column.
	p.bucket = roundBucket(int64((span + dots - 1) / dots))
	r := from % p.bucket
	if r < 0 {
		r += p.bucket
	}
	if from < math.MinInt64+r {
		p.origin = math.MinInt64
	} else {
		p.origin = from - r
	}
	n := 2 * p.cols
	p.lo, p.hi, p.has = make([]float64, n), make([]float64, n), make([]bool, n)
	return p
}

// roundBucket rounds a bucket width up to a whole number of the largest unit (ns, µs, ms, s,
// m, h) at most a tenth of it, so that 44.4s becomes 45s: readable, and at most 10% wider.
func roundBucket(b int64) int64 {
	for _, u := range []time.Duration{time.Hour, time.Minute, time.Second, time.Millisecond, time.Microsecond} {
		if unit := int64(u); b/10 >= unit && b <= math.MaxInt64-unit {
			return (b + unit - 1) / unit * unit
		}
	}
	return b
}

// fetch asks for each aggregation's buckets and folds them into the dot columns.
func (p *plot) fetch(ctx context.Context, conn *client.Conn, l protocol.Label) error {
	for _, agg := range p.aggs {
		opts := &client.RangeOptions{Agg: agg, Bucket: time.Duration(p.bucket)}
		for pt, err := range conn.Range(ctx, l, p.from, p.to, opts) {
			if err != nil {
				return err
			}
			if math.IsNaN(pt.Value) || math.IsInf(pt.Value, 0) {
				continue // nowhere to draw it
			}
			d := int((uint64(pt.TS) - uint64(p.origin)) / uint64(p.bucket))
			if pt.TS < p.origin || d >= len(p.lo) {
				continue
			}
			if !p.has[d] {
				p.lo[d], p.hi[d], p.has[d] = pt.Value, pt.Value, true
				continue
			}
			p.lo[d], p.hi[d] = min(p.lo[d], pt.Value), max(p.hi[d], pt.Value)
		}
	}
	return nil
}

// render draws the plot: exactly height − 1 lines of exactly width characters each.
func (p *plot) render() string {
	ymin, ymax, hasData := math.Inf(1), math.Inf(-1), false
	for d, ok := range p.has {
		if ok {
			ymin, ymax, hasData = min(ymin, p.lo[d]), max(ymax, p.hi[d]), true
		}
	}
	if !hasData {
		ymin, ymax = 0, 1
	} else if ymin == ymax {
		ymin, ymax = ymin-1, ymax+1
	}
	what := "min–max"
	if len(p.aggs) == 1 {
		what = p.aggs[0].String()
	}
	if !hasData {
		what = "no points"
	}
	var sb strings.Builder
	p.line(&sb, fmt.Sprintf("%s  %s per %v  %s .. %s", p.title, what, time.Duration(p.bucket),
		formatTime(p.from), formatTime(p.to)))
	grid := p.dots(ymin, ymax)
	dotRows := 4 * p.rows
	for r := range p.rows {
		label, axis := "", "│"
		switch {
		case r == 0:
			label = fmtTick(ymax)
		case r == p.rows-1:
			label = fmtTick(ymin)
		case (p.rows-1-r)%4 == 0 && r > 1 && r < p.rows-2:
			// The value at the row's middle dot line.
			label = fmtTick(ymax - (float64(4*r)+1.5)/float64(dotRows-1)*(ymax-ymin))
		}
		if label != "" {
			axis = "┤"
		}
		var row strings.Builder
		fmt.Fprintf(&row, "%*s %s", p.yw, label, axis)
		for x := range p.cols {
			row.WriteRune(braille(grid, r, x))
		}
		p.line(&sb, row.String())
	}
	p.timeAxis(&sb)
	return sb.String()
}

// dots sets the dots of each column's envelope, joined to the previous column's so that a line
// stays connected.
func (p *plot) dots(ymin, ymax float64) [][]bool {
	dotRows := 4 * p.rows
	grid := make([][]bool, dotRows)
	for i := range grid {
		grid[i] = make([]bool, 2*p.cols)
	}
	toRow := func(v float64) int {
		r := int(math.Round((ymax - v) / (ymax - ymin) * float64(dotRows-1)))
		return min(max(r, 0), dotRows-1)
	}
	prevTop, prevBottom, prev := 0, 0, false
	for d := range p.has {
		if !p.has[d] {
			prev = false
			continue
		}
		top, bottom := toRow(p.hi[d]), toRow(p.lo[d])
		t, b := top, bottom
		if prev && top > prevBottom+1 {
			t = prevBottom + 1 // the previous column is above: reach up to it
		}
		if prev && bottom < prevTop-1 {
			b = prevTop - 1 // below: reach down to it
		}
		for r := t; r <= b; r++ {
			grid[r][d] = true
		}
		prevTop, prevBottom, prev = top, bottom, true
	}
	return grid
}

// braille is the character of cell (row r, column x): dot bits as Unicode numbers them.
func braille(grid [][]bool, r, x int) rune {
	bits := [4][2]rune{{0x01, 0x08}, {0x02, 0x10}, {0x04, 0x20}, {0x40, 0x80}}
	var ch rune
	for dy := range 4 {
		for dx := range 2 {
			if grid[4*r+dy][2*x+dx] {
				ch |= bits[dy][dx]
			}
		}
	}
	if ch == 0 {
		return ' '
	}
	return 0x2800 + ch
}

// timeAxis draws the time axis with a tick every few columns and the time of each tick's
// column (the start of its first bucket) below it.
func (p *plot) timeAxis(sb *strings.Builder) {
	layout := p.timeLayout()
	step := utf8.RuneCountInString(time.Unix(0, 0).UTC().Format(layout)) + 3
	axis := []rune(strings.Repeat("─", p.cols))
	labels := []rune(strings.Repeat(" ", p.width))
	for x := 0; x+step/2 < p.cols || x == 0; x += step {
		axis[x] = '┬'
		t := p.origin + int64(2*x)*p.bucket
		lab := time.Unix(0, t).UTC().Format(layout)
		at := p.yw + 2 + x - len(lab)/2
		at = min(max(at, 0), p.width-len(lab))
		copy(labels[at:], []rune(lab))
	}
	p.line(sb, strings.Repeat(" ", p.yw)+" └"+string(axis))
	p.line(sb, string(labels))
}

// timeLayout picks how much of a time the tick labels show, from the range's length.
func (p *plot) timeLayout() string {
	span := time.Duration(uint64(p.to)-uint64(p.from)) * time.Nanosecond
	switch {
	case uint64(p.to)-uint64(p.from) > uint64(math.MaxInt64):
		return "2006-01-02"
	case span < time.Minute:
		return "15:04:05.000"
	case span <= 24*time.Hour:
		return "15:04:05"
	case span <= 366*24*time.Hour:
		return "01-02 15:04"
	}
	return "2006-01-02"
}

// line writes s cut or padded to exactly the plot's width, and a newline.
func (p *plot) line(sb *strings.Builder, s string) {
	n := utf8.RuneCountInString(s)
	if n > p.width {
		s = string([]rune(s)[:p.width])
	}
	sb.WriteString(s)
	sb.WriteString(strings.Repeat(" ", max(p.width-n, 0)))
	sb.WriteByte('\n')
}

// fmtTick formats a value label in at most 10 characters.
func fmtTick(v float64) string {
	for prec := 6; prec > 0; prec-- {
		if s := strconv.FormatFloat(v, 'g', prec, 64); len(s) <= 10 {
			return s
		}
	}
	return strconv.FormatFloat(v, 'e', 0, 64)
}
