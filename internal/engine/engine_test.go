package engine

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/taudb/tau/internal/series"
)

// TestStopWaitsForRunningCheckpoint calls Stop while a Checkpoint runs beside it, round after
// round. Stop must wait for the running checkpoint (its snapshots need the worker pool that
// Stop stops), and a checkpoint asked for after Stop must refuse with ErrStopped; otherwise a
// snapshot waits forever on a worker that has quit, which the deadline catches.
func TestStopWaitsForRunningCheckpoint(t *testing.T) {
	const rounds, nSeries = 20, 2000
	for round := 0; round < rounds; round++ {
		e, err := Open(Options{Capacity: nSeries, Workers: 2, MailboxCapacity: 16, MaxCallers: 1, Store: MemoryStore()},
			zap.NewNop(), prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Recover(); err != nil {
			t.Fatal(err)
		}
		ran := make(chan error, 1)
		go func() { ran <- e.Run() }()
		res := NewResult()
		for i := 0; i < nSeries; i++ {
			e.Create(series.LabelFromString(fmt.Sprintf("s%05d", i)), res)
			res.Wait()
			if err := res.Durable(); err != nil {
				t.Fatal(err)
			}
		}
		checkpointed := make(chan error, 1)
		go func() { checkpointed <- e.Checkpoint() }()
		e.Stop()
		select {
		case err := <-checkpointed:
			if err != nil && !errors.Is(err, ErrStopped) {
				t.Fatalf("round %d: checkpoint: %v", round, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: a checkpoint running beside Stop hangs: its snapshot waits on the stopped pool", round)
		}
		if err := <-ran; err != nil {
			t.Fatal(err)
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
