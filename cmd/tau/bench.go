package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/taudb/tau/pkg/client"
)

// benchOp is one kind of request the benchmark sends.
type benchOp int

const (
	opAppend benchOp = iota // APPEND, or HSET series<N> <ts> <value> over RESP
	opQuery                 // QUERY_POINT, or HGET series<N> <ts>
	opPing                  // PING either way
	opBatch                 // APPEND_BATCH of --points points (Tau only)
	opRange                 // QUERY_RANGE: one raw page of up to --points points (Tau only)
)

var opNames = map[string]benchOp{"append": opAppend, "query": opQuery, "ping": opPing,
	"batch": opBatch, "range": opRange}

func (o benchOp) String() string {
	for n, v := range opNames {
		if v == o {
			return n
		}
	}
	return "?"
}

// benchConn is one connection of the benchmark: Tau's client or a RESP speaker. The worker
// queues a pipeline's worth of requests with add and sends them with exec, so both targets get
// the same batching and the same latency measure.
type benchConn interface {
	add(op benchOp, series int, ts int64, v float64)
	// addBatch queues an APPEND_BATCH to series and returns its points, which the caller fills
	// before exec (Tau only).
	addBatch(series int) []client.Point
	// points is how many points the batch and range requests carried so far, in all.
	points() int64
	// notFound is how many queries so far were answered "no such point".
	notFound() int64
	// exec sends the queued requests, waits for every answer and counts the requests that got
	// an error answer in errs by kind. Its error means the connection failed.
	exec(ctx context.Context, errs map[string]int64) error
	Close() error
}

// benchConfig is tau bench's flags.
type benchConfig struct {
	conns    int
	requests int
	pipeline int
	series   int
	npoints  int // points per APPEND_BATCH and per QUERY_RANGE page
	tests    []benchOp
	duration time.Duration
	resp     bool
	csv      bool
	json     bool
	quiet    bool
	points   pointsConfig
}

// errBenchFailures: some requests got error answers; the summary shows which (exit 1).
var errBenchFailures = errors.New("some requests failed")

const benchArgs = `

Sends -n requests of each test (or runs each for -d) over -c connections, each keeping -P
requests in flight, and prints throughput and latency percentiles. --resp measures a
redis-server instead, with the nearest commands: APPEND is HSET series<N> <ts> <value>,
QUERY_POINT is HGET series<N> <ts>, PING is PING. Each connection appends to series of its
own, so timestamps reach every series in order. batch sends APPEND_BATCHes of --points points
and range reads raw QUERY_RANGE pages of up to --points points from a random point already
written (Tau only: they have no Redis counterpart); both report points per second too.

Points: point i of a series (i = 0, 1, …, counted per series) has timestamp --start + i ×
--step; by default --start is now and --step 1ns, and the value is i × 0.25. --values walk
gives each series a random walk rounded to 2 decimals instead, the same on every run (seeded
by the series' number), as a gauge scraped every --step looks; --values gauge is that walk
moving on one point in ten only, a slowly moving gauge. --even gives
every series exactly -n / --series requests. --record FILE writes "LABEL TS BITS" (BITS as
tau query --bits prints them) for the points whose index is in --record-at, to check them
later with tau query. --from and --to (with --start and --step of the run that wrote the
points) make query and range pick points of an earlier run with from <= ts < to, instead of
points appended by this run.`

func (c *command) bench(args []string) error {
	cfg, err := c.parseBench(args)
	if err != nil {
		return err
	}
	return c.runBench(cfg)
}

func (c *command) parseBench(args []string) (*benchConfig, error) {
	fs := c.flags("bench", benchArgs)
	var cfg benchConfig
	var tests string
	fs.IntVar(&cfg.conns, "c", 50, "connections")
	fs.IntVar(&cfg.requests, "n", 100000, "requests per test (all connections together)")
	fs.IntVar(&cfg.pipeline, "P", 1, "pipeline depth: requests in flight per connection")
	fs.IntVar(&cfg.series, "series", 100, "series (RESP: hash keys series0..) to spread requests over")
	fs.StringVar(&tests, "t", "append,query,ping", "tests to run, in order: append, query, ping, batch, range")
	fs.IntVar(&cfg.npoints, "points", 1000, "points per APPEND_BATCH (batch) and per QUERY_RANGE page (range)")
	fs.DurationVar(&cfg.duration, "d", 0, "run each test this long instead of -n requests")
	fs.DurationVar(&cfg.duration, "duration", 0, "same as -d")
	fs.BoolVar(&cfg.resp, "resp", false, "speak RESP to a redis-server (default --addr 127.0.0.1:6379)")
	fs.BoolVar(&cfg.csv, "csv", false, "print one CSV line per test, with a header")
	fs.BoolVar(&cfg.json, "json", false, "print a JSON array with one object per test")
	fs.BoolVar(&cfg.quiet, "q", false, "no progress line")
	pf := cfg.points.register(fs)
	if _, err := c.parse(fs, args, 0); err != nil {
		return nil, err
	}
	if err := cfg.parseTests(tests); err != nil {
		return nil, err
	}
	if err := cfg.points.parse(pf, time.Now); err != nil {
		return nil, err
	}
	return &cfg, cfg.validate()
}

func (b *benchConfig) parseTests(s string) error {
	for _, name := range strings.Split(s, ",") {
		op, ok := opNames[strings.ToLower(strings.TrimSpace(name))]
		if !ok {
			return usagef("bench -t: unknown test %q (want append, query, ping, batch, range)", name)
		}
		b.tests = append(b.tests, op)
	}
	return nil
}

func (b *benchConfig) validate() error {
	switch {
	case b.conns < 1 || b.pipeline < 1 || b.series < 1:
		return usagef("bench: -c, -P and --series must be at least 1")
	case b.duration == 0 && b.requests < 1:
		return usagef("bench: -n must be at least 1 (or give -d)")
	case b.duration < 0:
		return usagef("bench: -d must be positive")
	case b.csv && b.json:
		return usagef("bench: --csv and --json exclude each other")
	case b.resp && (b.has(opBatch) || b.has(opRange)):
		return usagef("bench: -t batch and range have no Redis counterpart; leave them out with --resp")
	case b.npoints < 1 || b.npoints > client.MaxBatchPoints:
		return usagef("bench: --points must be between 1 and %d", client.MaxBatchPoints)
	case (b.has(opAppend) || b.has(opBatch)) && b.series < b.conns:
		return usagef("bench: --series (%d) must be at least -c (%d) for append and batch: each "+
			"connection appends to series of its own, so that timestamps arrive in order", b.series, b.conns)
	case b.points.even && (b.duration > 0 || b.requests%b.series != 0 || b.series < b.conns):
		return usagef("bench: --even needs -n (not -d) a multiple of --series (%d), and --series at least -c", b.series)
	}
	return nil
}

func (b *benchConfig) has(op benchOp) bool {
	for _, t := range b.tests {
		if t == op {
			return true
		}
	}
	return false
}

// runBench connects, prepares the series, runs every test and prints the results.
func (c *command) runBench(cfg *benchConfig) error {
	target, err := c.benchTarget(cfg)
	if err != nil {
		return err
	}
	conns, err := target.connect(cfg.conns)
	if err != nil {
		return err
	}
	defer closeAll(conns)
	if err := target.prepare(conns[0], cfg.series); err != nil {
		return err
	}
	rec, err := newRecorder(cfg.points.record, cfg.points.recordAt)
	if err != nil {
		return err
	}
	out := newReporter(c.stdout, cfg, target.describe())
	workers := newWorkers(conns, cfg, rec)
	failed := false
	for _, op := range cfg.tests {
		r, err := c.runTest(workers, cfg, op)
		if err != nil {
			_ = rec.close()
			return err
		}
		failed = failed || r.Errors > 0
		out.add(r)
	}
	if err := rec.close(); err != nil {
		return err
	}
	out.finish()
	if failed {
		return errBenchFailures
	}
	return nil
}

func closeAll(conns []benchConn) {
	for _, bc := range conns {
		_ = bc.Close()
	}
}

// worker drives one connection. It owns a set of series: only it appends to them, so their
// timestamps stay in order.
type worker struct {
	conn  benchConn
	owned []int
	gen   []seriesGen // the owned series' next points
	pc    *pointsConfig
	rec   *recorder
	// pointsBefore and notFoundBefore are conn.points() and conn.notFound() when the current
	// test began.
	pointsBefore, notFoundBefore int64
	next                         int    // round-robin position in owned
	rng                          uint64 // xorshift state for queries
	hist                         *hdrhistogram.Histogram
	errs                         map[string]int64
}

func newWorkers(conns []benchConn, cfg *benchConfig, rec *recorder) []*worker {
	ws := make([]*worker, len(conns))
	for i, bc := range conns {
		w := &worker{conn: bc, pc: &cfg.points, rec: rec, rng: uint64(i)*0x9e3779b97f4a7c15 + 1}
		w.owned = ownedSeries(i, len(conns), cfg.series)
		w.gen = make([]seriesGen, len(w.owned))
		for j, s := range w.owned {
			w.gen[j] = newSeriesGen(s, cfg.points.values)
		}
		ws[i] = w
	}
	return ws
}

// ownedSeries deals the series out to connections like cards: w gets w, w+conns, …; with fewer
// series than connections (allowed without append) connections share them.
func ownedSeries(w, conns, series int) []int {
	if series < conns {
		return []int{w % series}
	}
	var s []int
	for i := w; i < series; i += conns {
		s = append(s, i)
	}
	return s
}

// latency histograms count microseconds, from 1 µs to a minute, to 3 significant digits.
func newHistogram() *hdrhistogram.Histogram { return hdrhistogram.New(1, 60_000_000, 3) }

// runTest runs one test on every connection at once and merges their measurements.
func (c *command) runTest(ws []*worker, cfg *benchConfig, op benchOp) (*benchResult, error) {
	var left, done atomic.Int64
	left.Store(int64(cfg.requests))
	ctx := context.Background()
	deadline := time.Time{}
	if cfg.duration > 0 {
		deadline = time.Now().Add(cfg.duration)
	}
	stopProgress := c.progress(cfg, op, &done)
	start, cpu := time.Now(), processCPU()
	errs := make([]error, len(ws))
	var wg sync.WaitGroup
	for i, w := range ws {
		w.hist, w.errs = newHistogram(), map[string]int64{}
		w.pointsBefore, w.notFoundBefore = w.conn.points(), w.conn.notFound()
		claim := claimer(&left, deadline)
		if cfg.points.even {
			// Each worker's own share: -n / --series requests for every series it owns.
			mine := new(atomic.Int64)
			mine.Store(int64(cfg.requests / cfg.series * len(w.owned)))
			claim = claimer(mine, time.Time{})
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = w.run(ctx, op, cfg.pipeline, claim, &done)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	stopProgress()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	r := summarize(ws, op, elapsed)
	r.ClientCPU = (processCPU() - cpu).Seconds()
	return r, nil
}

// claimer hands out work: batches of up to p requests until -n are handed out, or until the
// deadline in -d mode.
func claimer(left *atomic.Int64, deadline time.Time) func(p int) int {
	if !deadline.IsZero() {
		return func(p int) int {
			if time.Now().After(deadline) {
				return 0
			}
			return p
		}
	}
	return func(p int) int {
		n := left.Add(-int64(p))
		return int(max(0, min(int64(p), n+int64(p))))
	}
}

// run sends batches until the claimer says stop. Every request of a batch is recorded with the
// batch's latency, from the first byte sent to the last answer read, as redis-benchmark does.
func (w *worker) run(ctx context.Context, op benchOp, pipeline int, claim func(int) int, done *atomic.Int64) error {
	for {
		k := claim(pipeline)
		if k == 0 {
			return nil
		}
		for range k {
			w.queue(op)
		}
		start := time.Now()
		if err := w.conn.exec(ctx, w.errs); err != nil {
			return err
		}
		us := max(time.Since(start).Microseconds(), 1)
		_ = w.hist.RecordValues(us, int64(k)) // fails only beyond the histogram's minute
		done.Add(int64(k))
	}
}

// queue adds one request: appends go round-robin over the owned series with their next
// points; queries pick a random point already appended (or the first timestamp, a miss, if
// none was), or a random point of the --from/--to window.
func (w *worker) queue(op benchOp) {
	i := w.next
	w.next = (w.next + 1) % len(w.owned)
	switch op {
	case opAppend:
		ts, v := w.point(i)
		w.conn.add(op, w.owned[i], ts, v)
	case opBatch:
		pts := w.conn.addBatch(w.owned[i])
		for j := range pts {
			pts[j].TS, pts[j].Value = w.point(i)
		}
	case opQuery, opRange:
		lo, hi := int64(0), w.gen[i].count
		if w.pc.window {
			lo, hi = w.pc.lo, w.pc.hi
		}
		off := lo
		if hi > lo {
			off += int64(w.rand() % uint64(hi-lo))
		}
		w.conn.add(op, w.owned[i], w.pc.timestamp(off), 0)
	default:
		w.conn.add(op, 0, 0, 0)
	}
}

// point is the next point of owned series i, recorded when --record-at asks for its index.
func (w *worker) point(i int) (int64, float64) {
	g := &w.gen[i]
	n, v := g.next()
	ts := w.pc.timestamp(n)
	if w.rec != nil && g.rec < len(w.rec.at) && w.rec.at[g.rec] == n {
		g.rec++
		w.rec.write(w.owned[i], ts, math.Float64bits(v))
	}
	return ts, v
}

// rand is xorshift64: cheap, allocation-free, and deterministic per worker.
func (w *worker) rand() uint64 {
	w.rng ^= w.rng << 13
	w.rng ^= w.rng >> 7
	w.rng ^= w.rng << 17
	return w.rng
}

// progress shows a live line on a terminal (never in a pipe or file, never with --csv/--json)
// and returns the function that clears it.
func (c *command) progress(cfg *benchConfig, op benchOp, done *atomic.Int64) func() {
	f, ok := c.stdout.(*os.File)
	if !ok || cfg.quiet || cfg.csv || cfg.json || !isTerminal(f) {
		return func() {}
	}
	stop, stopped := make(chan struct{}), make(chan struct{})
	start := time.Now()
	go func() {
		defer close(stopped)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				_, _ = fmt.Fprint(f, "\r\033[K")
				return
			case <-t.C:
				n := done.Load()
				_, _ = fmt.Fprintf(f, "\r\033[K%s: %d requests, %.0f requests/s", strings.ToUpper(op.String()), n,
					float64(n)/time.Since(start).Seconds())
			}
		}
	}()
	return func() { close(stop); <-stopped }
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// benchTarget is what tau bench measures: a Tau server or a redis-server.
type benchTarget interface {
	connect(n int) ([]benchConn, error)
	prepare(first benchConn, series int) error
	describe() string
}

func (c *command) benchTarget(cfg *benchConfig) (benchTarget, error) {
	if cfg.resp {
		addr := c.conn.addr
		if addr == "" {
			addr = "127.0.0.1:6379"
		}
		return &respTarget{addr: addr, timeout: c.conn.timeout, series: cfg.series}, nil
	}
	cert, err := c.conn.certificate(c.env)
	if err != nil {
		return nil, err
	}
	tlsConfig, err := c.conn.tls.config(c.env)
	if err != nil {
		return nil, err
	}
	rangeEnd := int64(math.MaxInt64)
	if cfg.points.window {
		rangeEnd = cfg.points.to
	}
	wire := true
	for _, op := range cfg.tests {
		wire = wire && (op == opPing || op == opAppend || op == opQuery)
	}
	return &tauTarget{addr: c.conn.address(c.env), cert: cert, tls: tlsConfig, timeout: c.conn.timeout,
		pipeline: cfg.pipeline, series: cfg.series, npoints: cfg.npoints, rangeEnd: rangeEnd,
		wire: wire}, nil
}
