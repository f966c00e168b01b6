// Package engine is the core every front end calls: it creates, drops, appends to and queries
// series, and owns their durability. It knows nothing of any wire format. A front end hands it
// series labels (package series) and a reusable Result, and maps the typed errors below to its
// own codes; the TAU server does so in one table (internal/server/status).
//
// Inside, a catalog routes labels to series actors (package catalog), a pool of workers runs
// the actors (package actor), and the storage package makes every effect durable: a request's
// Result completes once its actor has run it, and Result.Durable waits for the log.
//
// Room to grow: each new read or write is one more method here and one more message kind for
// the actors, answering in the same Result. The reads beyond a point (reads.go: SeriesInfo,
// QueryRange, ListSeries) answer variable-size pages into buffers the caller keeps and reuses.
// Lenses (lenses.go, package lens) are the one state beside the series: their changes complete
// on the caller's goroutine once durable, and a lens query is a lookback on its source's actor
// whose points Result.Wait turns into the lens' value.
package engine
