// Package status is the one table that turns the engine's errors into TAU status codes
// (docs/protocol.md, "Status codes"). The server answers through it, and so does the client's
// fake server (pkg/client/clienttest), so the two can never disagree.
package status

import (
	"errors"

	"github.com/taudb/tau/internal/engine"
	"github.com/taudb/tau/pkg/protocol"
)

// table maps each engine error to its status. Order matters only where one error wraps
// another; none of these do.
var table = []struct {
	err    error
	status protocol.Status
}{
	{engine.ErrSeriesNotFound, protocol.StatusSeriesNotFound},
	{engine.ErrSeriesExists, protocol.StatusSeriesAlreadyExists},
	{engine.ErrOutOfOrder, protocol.StatusOutOfOrder},
	{engine.ErrBusy, protocol.StatusBusy},
	// The front end checks a range read's fields before the engine sees them (E4); this is the
	// engine's own check, answered as the front end would.
	{engine.ErrInvalidQuery, protocol.StatusInvalidPayload},
	// Likewise a batch's point count (E3).
	{engine.ErrInvalidBatch, protocol.StatusInvalidPayload},
	// Lenses (E5): an unknown transform name is a payload field the contract refuses; a full
	// lens capacity is internal_error, as a full catalog is; so is a composition past this
	// server's bound on chains, which the contract does not foresee.
	{engine.ErrLensNotFound, protocol.StatusLensNotFound},
	{engine.ErrLensExists, protocol.StatusLensAlreadyExists},
	{engine.ErrInvalidTransform, protocol.StatusInvalidPayload},
	{engine.ErrLensCapacity, protocol.StatusInternalError},
	{engine.ErrLensChainTooLong, protocol.StatusInternalError},
	// The original server reports a full catalog and a failed disk as internal_error (R10, R11).
	{engine.ErrCatalogFull, protocol.StatusInternalError},
	{engine.ErrStorageFailed, protocol.StatusInternalError},
}

// Of is the status for err: 0 (no error) for nil, internal_error for an error the table does
// not know (a bug, never a reason to crash or to answer OK).
func Of(err error) protocol.Status {
	if err == nil {
		return 0
	}
	for _, e := range table {
		if errors.Is(err, e.err) {
			return e.status
		}
	}
	return protocol.StatusInternalError
}
