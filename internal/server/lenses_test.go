package server

import (
	"slices"
	"testing"

	"github.com/taudb/tau/internal/engine"
	"github.com/taudb/tau/pkg/protocol"
)

// TestLensTransformNamesAgree: the names the wire package offers clients are exactly the
// ones the engine takes (E5); the two packages may not import each other, so this checks.
func TestLensTransformNamesAgree(t *testing.T) {
	if got := engine.LensTransforms(); !slices.Equal(got, protocol.Transforms) {
		t.Fatalf("engine takes %v, the wire offers %v", got, protocol.Transforms)
	}
}
