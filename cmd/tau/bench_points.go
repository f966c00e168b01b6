package main

import (
	"bufio"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// pointsConfig is which points tau bench writes and reads: point i of every series has the
// timestamp start + i × step and a value from the values generator.
type pointsConfig struct {
	start    int64 // first timestamp of every series
	step     int64 // ns between a series' points, at least 1
	values   string
	even     bool    // every series gets -n / --series requests
	record   string  // file for the recorded points, or ""
	recordAt []int64 // indices of the points to record, ascending, no duplicates
	// window: query and range pick indices in [lo, hi), the points with from <= ts < to.
	window   bool
	from, to int64
	lo, hi   int64
}

// Value generators (--values).
const (
	valuesIndex = "index" // point i is i × 0.25
	valuesWalk  = "walk"  // a random walk rounded to 2 decimals, seeded by the series' number
	valuesGauge = "gauge" // the same walk, moving on one point in ten only
)

// pointsFlags holds the raw flag values that parse turns into a pointsConfig.
type pointsFlags struct {
	start, from, to, recordAt string
	step                      time.Duration
}

func (p *pointsConfig) register(fs *flag.FlagSet) *pointsFlags {
	var f pointsFlags
	fs.StringVar(&f.start, "start", "", "timestamp of every series' first point (default now)")
	fs.DurationVar(&f.step, "step", time.Nanosecond, "time between a series' points")
	fs.StringVar(&p.values, "values", valuesIndex, "values: index (point i is i × 0.25), walk (a random walk rounded to 2 decimals, the same every run) or gauge (the walk, moving on one point in ten)")
	fs.BoolVar(&p.even, "even", false, "give every series exactly -n / --series requests (default: connections share -n, the faster do more)")
	fs.StringVar(&p.record, "record", "", `write "LABEL TS BITS" to this file for each point written whose index is in --record-at`)
	fs.StringVar(&f.recordAt, "record-at", "", "comma-separated indices (0 = a series' first point) of the points --record writes, in every series")
	fs.StringVar(&f.from, "from", "", "query and range pick points with from <= ts < to written by an earlier run (needs --start, --to)")
	fs.StringVar(&f.to, "to", "", "end of the --from window (exclusive)")
	return &f
}

// parse checks the points flags and resolves the timestamps.
func (p *pointsConfig) parse(f *pointsFlags, now func() time.Time) error {
	if f.step < 1 {
		return usagef("bench: --step must be positive")
	}
	p.step = int64(f.step)
	if p.values != valuesIndex && p.values != valuesWalk && p.values != valuesGauge {
		return usagef("bench: --values %q: want index, walk or gauge", p.values)
	}
	p.start = now().UnixNano()
	if f.start != "" {
		ts, err := parseTimestamp(f.start, now)
		if err != nil {
			return err
		}
		p.start = ts
	}
	if err := p.parseRecord(f.recordAt); err != nil {
		return err
	}
	return p.parseWindow(f)
}

func (p *pointsConfig) parseRecord(at string) error {
	if (p.record == "") != (at == "") {
		return usagef("bench: --record and --record-at go together")
	}
	if at == "" {
		return nil
	}
	for _, s := range strings.Split(at, ",") {
		i, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || i < 0 {
			return usagef("bench: --record-at: %q is not a point index (0 or more)", s)
		}
		p.recordAt = append(p.recordAt, i)
	}
	slices.Sort(p.recordAt)
	p.recordAt = slices.Compact(p.recordAt)
	return nil
}

// parseWindow turns --from and --to into the indices [lo, hi) of the points in the window.
func (p *pointsConfig) parseWindow(f *pointsFlags) error {
	if f.from == "" && f.to == "" {
		return nil
	}
	if f.from == "" || f.to == "" || f.start == "" {
		return usagef("bench: --from and --to go together, with the --start (and --step) the points were written with")
	}
	var err error
	if p.from, err = parseTimestamp(f.from, time.Now); err != nil {
		return err
	}
	if p.to, err = parseTimestamp(f.to, time.Now); err != nil {
		return err
	}
	p.window = true
	p.lo, p.hi = p.indexAtOrAfter(p.from), p.indexAtOrAfter(p.to)
	if p.hi <= p.lo {
		return usagef("bench: no point index in --from %d --to %d with --start %d --step %s", p.from, p.to, p.start, time.Duration(p.step))
	}
	return nil
}

// indexAtOrAfter is the smallest index i >= 0 with timestamp(i) >= ts.
func (p *pointsConfig) indexAtOrAfter(ts int64) int64 {
	if ts <= p.start {
		return 0
	}
	d := uint64(ts) - uint64(p.start) // no overflow: ts > start
	return int64((d + uint64(p.step) - 1) / uint64(p.step))
}

// timestamp is point i's timestamp.
func (p *pointsConfig) timestamp(i int64) int64 { return p.start + i*p.step }

// seriesGen makes one series' points in order.
type seriesGen struct {
	count int64 // points made so far: the next has index count
	walk  bool
	slow  bool       // gauge: the walk moves on one point in ten
	value float64    // walk and gauge: the last value
	rng   *rand.Rand // walk and gauge
	rec   int        // position in the recorder's indices of the next one to record
}

func newSeriesGen(series int, values string) seriesGen {
	if values != valuesWalk && values != valuesGauge {
		return seriesGen{}
	}
	return seriesGen{walk: true, slow: values == valuesGauge, value: float64(20 + series%80),
		rng: rand.New(rand.NewPCG(uint64(series), 0x7461752d77616c6b))}
}

// next is the next point's index and value.
func (g *seriesGen) next() (int64, float64) {
	n := g.count
	g.count++
	if !g.walk {
		return n, float64(n) * 0.25
	}
	// Steps of ±0.05 at most, rounded to 2 decimals: a gauge scraped every step. The slow one
	// (as internal/storage/chunkenc's gauge-slow-2dec) holds still on nine points in ten.
	if g.slow && g.rng.IntN(10) != 0 {
		return n, g.value
	}
	g.value = math.Round((g.value+(g.rng.Float64()-0.5)/10)*100) / 100
	return n, g.value
}

// recorder writes the recorded points; workers share it.
type recorder struct {
	at []int64
	mu sync.Mutex
	f  *os.File
	w  *bufio.Writer
}

// newRecorder opens path, or returns nil (no recording) when path is "".
func newRecorder(path string, at []int64) (*recorder, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, usagef("bench --record: %v", err)
	}
	return &recorder{at: at, f: f, w: bufio.NewWriter(f)}, nil
}

func (r *recorder) write(series int, ts int64, bits uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, _ = fmt.Fprintf(r.w, "%s %d %#016x\n", seriesName(series), ts, bits)
}

func (r *recorder) close() error {
	if r == nil {
		return nil
	}
	err := r.w.Flush()
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("bench --record: %w", err)
	}
	return nil
}

// seriesName is series number i's label (Tau) or hash key (RESP).
func seriesName(i int) string { return "series" + strconv.Itoa(i) }
