package server

import (
	"testing"

	"github.com/taudb/tau/internal/engine"
	"github.com/taudb/tau/pkg/protocol"
)

// TestReadBoundsMatchTheWire: the engine's page limits are the wire's, and the wire's check of
// a QUERY_RANGE's aggregation and bucket agrees with the engine's for every byte, so the
// engine's own check never answers what the front end let through.
func TestReadBoundsMatchTheWire(t *testing.T) {
	if engine.MaxRangeLimit != protocol.MaxRangeLimit || engine.MaxListLimit != protocol.MaxListLimit {
		t.Fatalf("engine limits %d, %d; wire %d, %d", engine.MaxRangeLimit, engine.MaxListLimit,
			protocol.MaxRangeLimit, protocol.MaxListLimit)
	}
	for b := 0; b < 256; b++ {
		for _, bucket := range []int64{-1, 0, 1} {
			q := protocol.QueryRange{Aggregation: protocol.Aggregation(b), Bucket: bucket, Limit: 0}
			if !q.Valid() {
				continue
			}
			if b >= len(aggregations) {
				t.Fatalf("aggregation %d is valid on the wire but has no engine mapping", b)
			}
			if eq := rangeQuery(&q); !eq.Valid() || eq.Limit != engine.MaxRangeLimit {
				t.Fatalf("aggregation %d bucket %d: the engine refuses %+v", b, bucket, eq)
			}
		}
	}
	names := map[engine.Aggregation]bool{}
	for _, a := range aggregations {
		names[a] = true
	}
	if len(names) != len(aggregations) {
		t.Fatal("two wire aggregations map to one engine aggregation")
	}
}
