package status

import (
	"errors"
	"fmt"
	"testing"

	"github.com/taudb/tau/internal/engine"
	"github.com/taudb/tau/pkg/protocol"
)

func TestOf(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want protocol.Status
	}{
		{"ok", nil, 0},
		{"not found", engine.ErrSeriesNotFound, protocol.StatusSeriesNotFound},
		{"exists", engine.ErrSeriesExists, protocol.StatusSeriesAlreadyExists},
		{"out of order", engine.ErrOutOfOrder, protocol.StatusOutOfOrder},
		{"busy", engine.ErrBusy, protocol.StatusBusy},
		{"catalog full", engine.ErrCatalogFull, protocol.StatusInternalError},
		{"invalid query", engine.ErrInvalidQuery, protocol.StatusInvalidPayload},
		{"invalid batch", engine.ErrInvalidBatch, protocol.StatusInvalidPayload},
		{"lens not found", engine.ErrLensNotFound, protocol.StatusLensNotFound},
		{"lens exists", engine.ErrLensExists, protocol.StatusLensAlreadyExists},
		{"unknown transform", engine.ErrInvalidTransform, protocol.StatusInvalidPayload},
		{"lens capacity", engine.ErrLensCapacity, protocol.StatusInternalError},
		{"lens chain too long", engine.ErrLensChainTooLong, protocol.StatusInternalError},
		{"storage wrapped", fmt.Errorf("%w: %w", engine.ErrStorageFailed, engine.ErrLogFailed), protocol.StatusInternalError},
		{"unknown", errors.New("a bug"), protocol.StatusInternalError},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Of(c.err); got != c.want {
				t.Fatalf("Of(%v) = %v, want %v", c.err, got, c.want)
			}
		})
	}
}

// TestEveryEngineErrorIsMapped fails when the engine gains an error this table forgets.
func TestEveryEngineErrorIsMapped(t *testing.T) {
	for _, err := range engine.Errors {
		found := false
		for _, e := range table {
			found = found || errors.Is(err, e.err)
		}
		if !found {
			t.Errorf("engine error %q has no status", err)
		}
	}
}
