package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// benchResult is one test's outcome; the JSON names are the --json format.
type benchResult struct {
	Test        string           `json:"test"`
	Target      string           `json:"target"`
	Connections int              `json:"connections"`
	Pipeline    int              `json:"pipeline"`
	Series      int              `json:"series"`
	Requests    int64            `json:"requests"`
	Errors      int64            `json:"errors"`
	ErrorKinds  map[string]int64 `json:"error_kinds"`
	Seconds     float64          `json:"seconds"`
	RPS         float64          `json:"requests_per_second"`
	Points      int64            `json:"points,omitempty"`            // batch and range: points carried
	PPS         float64          `json:"points_per_second,omitempty"` // batch and range
	NotFound    int64            `json:"not_found"`                   // queries answered "no such point"
	Latency     latencyMS        `json:"latency_ms"`
	// ClientCPU is tau bench's own CPU time during the test (user and system, every thread):
	// on a small machine the client shares the cores with the server it measures.
	ClientCPU float64 `json:"client_cpu_seconds"`
}

type latencyMS struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99.9"`
	Max  float64 `json:"max"`
}

// summarize merges the workers' histograms and error counts.
func summarize(ws []*worker, op benchOp, elapsed time.Duration) *benchResult {
	h := newHistogram()
	kinds := map[string]int64{}
	for _, w := range ws {
		h.Merge(w.hist)
		for k, n := range w.errs {
			kinds[k] += n
		}
	}
	r := &benchResult{Test: op.String(), Requests: h.TotalCount(), ErrorKinds: kinds,
		Seconds: elapsed.Seconds()}
	for _, n := range kinds {
		r.Errors += n
	}
	r.RPS = float64(r.Requests) / r.Seconds
	for _, w := range ws {
		r.Points += w.conn.points() - w.pointsBefore
		r.NotFound += w.conn.notFound() - w.notFoundBefore
	}
	r.PPS = float64(r.Points) / r.Seconds
	ms := func(q float64) float64 { return float64(h.ValueAtQuantile(q)) / 1000 }
	r.Latency = latencyMS{P50: ms(50), P90: ms(90), P99: ms(99), P999: ms(99.9), Max: float64(h.Max()) / 1000}
	return r
}

// reporter prints results as they come (text, CSV) or at the end (JSON).
type reporter struct {
	w       io.Writer
	cfg     *benchConfig
	target  string
	results []*benchResult
	csv     *csv.Writer
}

func newReporter(w io.Writer, cfg *benchConfig, target string) *reporter {
	r := &reporter{w: w, cfg: cfg, target: target}
	if cfg.csv {
		r.csv = csv.NewWriter(w)
		_ = r.csv.Write(csvHeader)
		r.csv.Flush()
	}
	return r
}

var csvHeader = []string{"test", "target", "connections", "pipeline", "series", "requests", "errors",
	"seconds", "requests_per_second", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms", "points",
	"points_per_second", "not_found", "client_cpu_seconds"}

func (p *reporter) add(r *benchResult) {
	r.Target, r.Connections, r.Pipeline, r.Series = p.target, p.cfg.conns, p.cfg.pipeline, p.cfg.series
	p.results = append(p.results, r)
	switch {
	case p.cfg.csv:
		p.writeCSV(r)
	case !p.cfg.json:
		p.writeText(r)
	}
}

func (p *reporter) finish() {
	if p.cfg.json {
		enc := json.NewEncoder(p.w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(p.results)
	}
}

func (p *reporter) writeText(r *benchResult) {
	_, _ = fmt.Fprintf(p.w, "====== %s ======\n", strings.ToUpper(r.Test))
	_, _ = fmt.Fprintf(p.w, "  %d requests in %.3f s: %d connections, pipeline %d, %d series, %s\n",
		r.Requests, r.Seconds, r.Connections, r.Pipeline, r.Series, r.Target)
	_, _ = fmt.Fprintf(p.w, "  throughput: %.1f requests per second\n", r.RPS)
	if r.Points > 0 {
		_, _ = fmt.Fprintf(p.w, "  points: %d, %.1f per second\n", r.Points, r.PPS)
	}
	if r.Test == opQuery.String() {
		_, _ = fmt.Fprintf(p.w, "  not found: %d\n", r.NotFound)
	}
	l := r.Latency
	_, _ = fmt.Fprintf(p.w, "  latency (ms): p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n",
		l.P50, l.P90, l.P99, l.P999, l.Max)
	if r.Requests > 0 && r.ClientCPU > 0 {
		_, _ = fmt.Fprintf(p.w, "  client CPU: %.2f µs a request\n", r.ClientCPU*1e6/float64(r.Requests))
	}
	_, _ = fmt.Fprintf(p.w, "  errors: %s\n\n", describeErrors(r))
}

// describeErrors is "none" or e.g. "12 (busy 10, out_of_order 2)".
func describeErrors(r *benchResult) string {
	if r.Errors == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(r.ErrorKinds)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, r.ErrorKinds[k]))
	}
	return fmt.Sprintf("%d (%s)", r.Errors, strings.Join(parts, ", "))
}

func (p *reporter) writeCSV(r *benchResult) {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
	i := strconv.Itoa
	l := r.Latency
	_ = p.csv.Write([]string{r.Test, r.Target, i(r.Connections), i(r.Pipeline), i(r.Series),
		strconv.FormatInt(r.Requests, 10), strconv.FormatInt(r.Errors, 10), f(r.Seconds), f(r.RPS),
		f(l.P50), f(l.P90), f(l.P99), f(l.P999), f(l.Max), strconv.FormatInt(r.Points, 10), f(r.PPS),
		strconv.FormatInt(r.NotFound, 10), strconv.FormatFloat(r.ClientCPU, 'f', 6, 64)})
	p.csv.Flush()
}
