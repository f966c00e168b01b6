package chunkenc

import (
	"runtime"
	"testing"
)

// TestHeapBytesPerPoint measures what a series really costs in memory, chunk headers and skip
// points included, not only its encoded bytes: the ≤ 2 bytes/point target holds in memory too
// for the slowly varying patterns.
func TestHeapBytesPerPoint(t *testing.T) {
	const n = 200_000
	for _, p := range patterns[:3] { // constant, gauge-int, gauge-slow-2dec
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s := buildRegular(p, n, 1)
		s.cut() // seal the head as a long-lived series' chunks are
		runtime.GC()
		runtime.ReadMemStats(&after)
		perPoint := float64(after.HeapAlloc-before.HeapAlloc) / n
		t.Logf("%-16s %.3f heap bytes/point", p.name, perPoint)
		if perPoint > 2 {
			t.Errorf("%s: %.3f heap bytes/point, want <= 2", p.name, perPoint)
		}
		runtime.KeepAlive(s)
	}
}
