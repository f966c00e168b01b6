package server

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func TestDepthHistogram(t *testing.T) {
	h := newDepthHistogram()
	for _, d := range []int{0, 0, 1, 2, 3, 4, 1024, 1 << 20} {
		h.observe(d)
	}
	ch := make(chan prometheus.Metric, 1)
	h.Collect(ch)
	var m dto.Metric
	if err := (<-ch).Write(&m); err != nil {
		t.Fatal(err)
	}
	hist := m.GetHistogram()
	if hist.GetSampleCount() != 8 || hist.GetSampleSum() != float64(0+0+1+2+3+4+1024+1<<20) {
		t.Fatalf("count %d sum %v", hist.GetSampleCount(), hist.GetSampleSum())
	}
	want := map[float64]uint64{0: 2, 1: 3, 3: 5, 7: 6, 1023: 6, 2047: 7, 32767: 7}
	for _, b := range hist.GetBucket() {
		if w, ok := want[b.GetUpperBound()]; ok && b.GetCumulativeCount() != w {
			t.Errorf("le=%v: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), w)
		}
	}
}
