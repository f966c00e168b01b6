// Package memlimit gives the Go runtime a soft memory limit just below the container's, so the
// garbage collector works harder before the kernel's OOM killer would step in (README.md,
// "Configuration": memory). GOMEMLIMIT, when set, wins; the cgroup (v1 or v2) is read through
// github.com/KimMachineGun/automemlimit.
package memlimit

import (
	"errors"
	"math"
	"os"
	"runtime/debug"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"go.uber.org/zap"
)

// Ratio is the share of the container's limit given to the Go runtime's soft limit: the rest is
// for what the runtime does not count (the binary, page tables, page cache of mapped files) and
// for the time the collector needs to react.
const Ratio = 0.9

// Apply sets the limit from the process' cgroup unless GOMEMLIMIT is set, and logs what it did.
// It returns the limit in force. It never fails the start: without a readable cgroup the runtime
// keeps its default (no limit).
func Apply(log *zap.Logger) int64 { return apply(log, memlimit.FromCgroup) }

func apply(log *zap.Logger, provider memlimit.Provider) int64 {
	if v, ok := os.LookupEnv("GOMEMLIMIT"); ok {
		limit := debug.SetMemoryLimit(-1) // the runtime has parsed it already
		log.Info("memory limit from GOMEMLIMIT", zap.String("GOMEMLIMIT", v), zap.Int64("bytes", limit))
		return limit
	}
	container, err := provider()
	switch {
	case errors.Is(err, memlimit.ErrNoLimit):
		log.Info("no container memory limit; the Go runtime runs without a soft limit")
		return debug.SetMemoryLimit(-1)
	case err != nil:
		log.Info("no cgroup memory limit found; the Go runtime runs without a soft limit", zap.Error(err))
		return debug.SetMemoryLimit(-1)
	}
	limit := int64(min(float64(container)*Ratio, math.MaxInt64))
	debug.SetMemoryLimit(limit)
	log.Info("memory limit set from the container's", zap.Uint64("container_bytes", container),
		zap.Int64("GOMEMLIMIT_bytes", limit), zap.Float64("ratio", Ratio))
	return limit
}
