package chunkenc

import (
	"syscall"
	"testing"
	"time"
)

// cpuPerOp starts counting the process's CPU time (user and system, every thread, the
// collector's included); the function it returns reports it per op as cpu-ns/op. On a shared
// machine wall time also counts waiting for a core; CPU time does much less.
func cpuPerOp(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
