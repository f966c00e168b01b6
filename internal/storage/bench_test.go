package storage

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taudb/tau/internal/series"
)

// appendParallelism is goroutines per GOMAXPROCS: many appenders, as many connections would be.
const appendParallelism = 32

// BenchmarkAppend: concurrent appenders, each waiting for its ticket as a connection does
// before answering OK. ns/op is wall time per acknowledged append across all appenders.
func BenchmarkAppend(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) Store
	}{
		{"always", func(b *testing.B) Store { return openBenchDisk(b, DiskOptions{Fsync: FsyncAlways}) }},
		{"interval", func(b *testing.B) Store { return openBenchDisk(b, DiskOptions{Fsync: FsyncInterval}) }},
		{"memory", func(*testing.B) Store { return NewMemory() }},
	}
	for _, s := range stores {
		b.Run(s.name, func(b *testing.B) {
			st := s.open(b)
			defer func() { _ = st.Close() }()
			var next atomic.Int64
			b.SetParallelism(appendParallelism)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				r := Record{Type: RecordAppend, Label: lbl(fmt.Sprintf("bench-%d", next.Add(1)))}
				for pb.Next() {
					r.TS++
					t, err := st.Append(&r)
					if err == nil {
						err = t.Wait()
					}
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func openBenchDisk(b *testing.B, opts DiskOptions) *Disk {
	d, err := OpenDisk(b.TempDir(), opts)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := d.Recover(); err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkRecovery: open and recover a store of benchSeries x benchPoints points, from the log
// alone and from a checkpoint. Reports points/s.
func BenchmarkRecovery(b *testing.B) {
	const nSeries, points = 100, 10000
	for _, withCheckpoint := range []bool{false, true} {
		name := "log"
		if withCheckpoint {
			name = "checkpoint"
		}
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			fillForRecovery(b, dir, nSeries, points, withCheckpoint)
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				d, states := openRecovered(b, dir, DiskOptions{})
				if len(states) != nSeries || states[0].Series.Len() != points {
					b.Fatalf("recovered %d nSeries", len(states))
				}
				_ = d.Close()
			}
			b.ReportMetric(float64(nSeries*points*b.N)/time.Since(start).Seconds(), "points/s")
		})
	}
}

// fillForRecovery logs the points without waiting for each one, then optionally checkpoints
// them all.
func fillForRecovery(b *testing.B, dir string, nSeries, points int, withCheckpoint bool) {
	d, _ := openRecovered(b, dir, DiskOptions{Fsync: FsyncInterval})
	snaps := make([]SeriesSnapshot, 0, nSeries)
	for s := 0; s < nSeries; s++ {
		l := series.Label{}
		copy(l[:], fmt.Sprintf("nSeries-%d", s))
		r := Record{Type: RecordCreate, Label: l}
		if _, err := d.Append(&r); err != nil {
			b.Fatal(err)
		}
		data := NewSeries()
		for p := 1; p <= points; p++ {
			r = Record{Type: RecordAppend, Label: l, TS: int64(p) * 1e9, Value: uint64(p)}
			if _, err := d.Append(&r); err != nil {
				b.Fatal(err)
			}
			data.Append(r.TS, r.Value)
		}
		snaps = append(snaps, snapshotOf(l, r.LSN, data))
	}
	if withCheckpoint {
		m, err := d.BeginCheckpoint()
		if err != nil {
			b.Fatal(err)
		}
		if err := d.CommitCheckpoint(m, snaps, nil); err != nil {
			b.Fatal(err)
		}
	}
	if err := d.Close(); err != nil {
		b.Fatal(err)
	}
}
