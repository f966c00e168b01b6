// Package client is a Go client for the TAU v1 wire protocol (docs/protocol.md).
//
// A Conn is one authenticated TCP connection that many goroutines may use at once. Requests are
// pipelined: each is written as soon as it is made (writes from concurrent callers are coalesced
// into one system call), and a single reader goroutine matches the answers to the requests in
// the order they were sent, which is the order the server answers them in (R1). How many
// requests may be in flight on one connection is bounded (Options.MaxInFlight); further callers
// wait for an answer to free a place.
//
// Every ERR status has a sentinel error to test with errors.Is (ErrSeriesNotFound, ErrBusy,
// ErrOutOfOrder, …); the error itself is a *StatusError saying what the status means. Requests
// answered busy are retried with jittered exponential backoff (Options.MaxRetries). A request
// whose context ends returns ctx.Err(); its answer, when it comes, is read and discarded in
// order, so the connection stays usable.
//
// Values travel as their exact IEEE-754 bits: NaN payloads, -0 and ±Inf come back as they went.
// AppendBits and QueryBits work on the raw bits directly.
//
// Of the extensions (docs/protocol.md, "Extensions") it speaks E1 LIST_SERIES, E2 SERIES_INFO
// and E4 QUERY_RANGE (reads.go), E3 APPEND_BATCH (AppendBatch: many points of one series in
// one atomic request) and the E5 lenses (lens.go: CreateLens, DropLens, QueryLens, ComposeLens,
// ListLenses). A server without one answers bad_opcode, which matches ErrUnsupported.
package client
