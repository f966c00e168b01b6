package server

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/taudb/tau/pkg/protocol"
)

// TestLatencyHistogramExportsWhatHistogramVecDoes feeds the same observations to the latency
// histogram (n at a time) and to client_golang's HistogramVec (one at a time), and requires the
// same exposition: names, labels, bucket bounds and counts, count and sum.
func TestLatencyHistogramExportsWhatHistogramVecDoes(t *testing.T) {
	upper := prometheus.ExponentialBuckets(10e-6, 4, 10)
	ours := newLatencyHistogram(upper)
	theirs := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tau_request_duration_seconds",
		Help:    "Time from reading a request to writing its answer (durability wait included), by opcode.",
		Buckets: upper}, []string{"opcode"})
	for i := range 256 { // every label exists before its first request, as the server makes them
		theirs.WithLabelValues(opLabel(protocol.Opcode(i)))
	}

	rng := rand.New(rand.NewPCG(1, 2))
	edges := []time.Duration{0, 10 * time.Microsecond, 10*time.Microsecond + 1, 40 * time.Microsecond, 3 * time.Second, time.Hour}
	for i := range 2000 {
		op := protocol.Opcode(rng.IntN(256))
		latency := time.Duration(rng.Int64N(int64(3 * time.Second)))
		if i < len(edges) {
			latency = edges[i]
		}
		n := 1 + rng.IntN(20)
		ours.observeN(op, latency, n)
		for range n {
			theirs.WithLabelValues(opLabel(op)).Observe(latency.Seconds())
		}
	}

	got, want := gather(t, ours), gather(t, theirs)
	if len(got) != len(want) {
		t.Fatalf("%d series, want %d", len(got), len(want))
	}
	for label, w := range want {
		g, ok := got[label]
		switch {
		case !ok:
			t.Errorf("opcode %q missing", label)
		case g.GetSampleCount() != w.GetSampleCount():
			t.Errorf("opcode %q: count %d, want %d", label, g.GetSampleCount(), w.GetSampleCount())
		case !closeEnough(g.GetSampleSum(), w.GetSampleSum()):
			t.Errorf("opcode %q: sum %v, want %v", label, g.GetSampleSum(), w.GetSampleSum())
		case len(g.GetBucket()) != len(w.GetBucket()):
			t.Errorf("opcode %q: %d buckets, want %d", label, len(g.GetBucket()), len(w.GetBucket()))
		default:
			for i, wb := range w.GetBucket() {
				gb := g.GetBucket()[i]
				if gb.GetUpperBound() != wb.GetUpperBound() || gb.GetCumulativeCount() != wb.GetCumulativeCount() {
					t.Errorf("opcode %q: bucket %d is le=%v %d, want le=%v %d", label, i,
						gb.GetUpperBound(), gb.GetCumulativeCount(), wb.GetUpperBound(), wb.GetCumulativeCount())
				}
			}
		}
	}
}

// gather registers c alone and returns its histograms by opcode label.
func gather(t *testing.T, c prometheus.Collector) map[string]*dto.Histogram {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(families) != 1 || families[0].GetName() != "tau_request_duration_seconds" || families[0].GetType() != dto.MetricType_HISTOGRAM {
		t.Fatalf("gathered %v, want the one histogram tau_request_duration_seconds", families)
	}
	out := map[string]*dto.Histogram{}
	for _, m := range families[0].GetMetric() {
		out[m.GetLabel()[0].GetValue()] = m.GetHistogram()
	}
	return out
}

// closeEnough compares sums added in a different order and unit (nanoseconds against seconds).
func closeEnough(a, b float64) bool {
	d := a - b
	return d < 1e-9*max(1, b) && -d < 1e-9*max(1, b)
}

// TestSameAnswersSplitsRuns: countAnswers counts a run at once only when its answers share
// opcode, status and the read they came in, so they share one latency.
func TestSameAnswersSplitsRuns(t *testing.T) {
	t0 := time.Unix(100, 0)
	t1 := t0.Add(time.Microsecond)
	ping := answered{op: protocol.OpPing, start: t0}
	for _, tc := range []struct {
		name string
		done []answered
		want int
	}{
		{"one", []answered{ping}, 1},
		{"all alike", []answered{ping, ping, ping}, 3},
		{"another opcode", []answered{ping, ping, {op: protocol.OpAppend, start: t0}, ping}, 2},
		{"another status", []answered{ping, {op: protocol.OpPing, status: protocol.StatusBusy, start: t0}}, 1},
		{"another read", []answered{ping, ping, {op: protocol.OpPing, start: t1}}, 2},
	} {
		if got := sameAnswers(tc.done); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}
