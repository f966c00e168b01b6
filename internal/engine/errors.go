package engine

import (
	"errors"

	"github.com/taudb/tau/internal/actor"
	"github.com/taudb/tau/internal/catalog"
	"github.com/taudb/tau/internal/lens"
	"github.com/taudb/tau/internal/storage"
)

// The errors the engine answers with. Every failure of a request is one of these (compare with
// errors.Is); front ends map them to their codes and must map every one.
var (
	// ErrSeriesNotFound: the label names no series, or it was dropped before the request ran.
	ErrSeriesNotFound = actor.ErrSeriesNotFound
	// ErrSeriesExists: creating a label that names a live series.
	ErrSeriesExists = catalog.ErrSeriesExists
	// ErrOutOfOrder: an append whose timestamp is not after the series' last point.
	ErrOutOfOrder = actor.ErrOutOfOrder
	// ErrBusy: the series' mailbox is full; nothing was done and the caller may retry.
	ErrBusy = errors.New("series busy")
	// ErrCatalogFull: creating a series beyond the catalog's capacity.
	ErrCatalogFull = catalog.ErrCatalogFull
	// ErrStorageFailed: the log refused the effect or could not make it durable. It wraps the
	// storage error; after it the log refuses every write until restart.
	ErrStorageFailed = actor.ErrStorageFailed
	// ErrInvalidBatch: AppendBatch of no points, or of more than MaxBatchPoints.
	ErrInvalidBatch = actor.ErrInvalidBatch
	// ErrInvalidQuery: a range read with an unknown aggregation, or a bucket that does not fit
	// its aggregation (raw needs 0, the others more than 0).
	ErrInvalidQuery = errors.New("invalid range query")

	// The lenses' errors (E5; lenses.go).

	// ErrLensNotFound: the label names no lens.
	ErrLensNotFound = lens.ErrNotFound
	// ErrLensExists: creating or composing a label that names a lens.
	ErrLensExists = lens.ErrExists
	// ErrLensCapacity: a new lens beyond the lens capacity.
	ErrLensCapacity = lens.ErrCapacity
	// ErrInvalidTransform: CreateLens with a transform name that names no transform.
	ErrInvalidTransform = lens.ErrUnknownTransform
	// ErrLensChainTooLong: ComposeLens of chains longer together than MaxLensChain.
	ErrLensChainTooLong = lens.ErrChainTooLong
)

// Errors lists every error above, for front ends to check that their mapping is complete.
var Errors = []error{ErrSeriesNotFound, ErrSeriesExists, ErrOutOfOrder, ErrBusy, ErrCatalogFull, ErrStorageFailed, ErrInvalidQuery, ErrInvalidBatch,
	ErrLensNotFound, ErrLensExists, ErrLensCapacity, ErrInvalidTransform, ErrLensChainTooLong}

// ErrLogFailed is the storage cause inside ErrStorageFailed once the log has failed.
var ErrLogFailed = storage.ErrLogFailed
