package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/taudb/tau/pkg/protocol"
)

// StatusError is an ERR answer from the server. Test for a particular status with errors.Is and
// the sentinels below (errors.Is(err, ErrSeriesNotFound)), or read Status after errors.As.
type StatusError struct {
	// Op is the request that was answered; zero in the sentinels.
	Op protocol.Opcode
	// Status is the status code the server sent.
	Status protocol.Status
}

// Error says which request failed, the status name and what it means, e.g.
// "tau: QUERY_POINT: series_not_found: no series has that label".
func (e *StatusError) Error() string {
	msg := e.Status.String() + ": " + Meaning(e.Status)
	if e.unsupported() {
		msg = e.Status.String() + ": the server does not support " + e.Op.String() +
			" (it predates the extensions, as 1.3.0 does)"
	}
	if e.Op == 0 {
		return "tau: " + msg
	}
	return "tau: " + e.Op.String() + ": " + msg
}

// Is matches a sentinel with the same status, whatever the request; and ErrUnsupported for a
// bad_opcode answer to an extension (LIST_SERIES, SERIES_INFO, QUERY_RANGE, APPEND_BATCH, the
// lens family).
func (e *StatusError) Is(target error) bool {
	if target == ErrUnsupported {
		return e.unsupported()
	}
	t, ok := target.(*StatusError)
	return ok && t.Op == 0 && t.Status == e.Status
}

// unsupported reports whether e is a bad_opcode answer to an extension the client sent.
func (e *StatusError) unsupported() bool {
	switch e.Op {
	case protocol.OpListSeries, protocol.OpSeriesInfo, protocol.OpQueryRange, protocol.OpAppendBatch,
		protocol.OpCreateLens, protocol.OpDropLens, protocol.OpQueryLens, protocol.OpComposeLens, protocol.OpListLenses:
		return e.Status == protocol.StatusBadOpcode
	}
	return false
}

// Sentinels for every status code of docs/protocol.md ("Status codes"), for errors.Is.
var (
	ErrBadMagic            error = &StatusError{Status: protocol.StatusBadMagic}
	ErrBadVersion          error = &StatusError{Status: protocol.StatusBadVersion}
	ErrBadOpcode           error = &StatusError{Status: protocol.StatusBadOpcode}
	ErrPayloadTooLarge     error = &StatusError{Status: protocol.StatusPayloadTooLarge}
	ErrNotAuthenticated    error = &StatusError{Status: protocol.StatusNotAuthenticated}
	ErrAuthFailed          error = &StatusError{Status: protocol.StatusAuthFailed}
	ErrSeriesNotFound      error = &StatusError{Status: protocol.StatusSeriesNotFound}
	ErrSeriesAlreadyExists error = &StatusError{Status: protocol.StatusSeriesAlreadyExists}
	ErrInvalidPayload      error = &StatusError{Status: protocol.StatusInvalidPayload}
	ErrInternalError       error = &StatusError{Status: protocol.StatusInternalError}
	ErrOutOfOrder          error = &StatusError{Status: protocol.StatusOutOfOrder}
	ErrLensNotFound        error = &StatusError{Status: protocol.StatusLensNotFound}
	ErrLensAlreadyExists   error = &StatusError{Status: protocol.StatusLensAlreadyExists}
	ErrBusy                error = &StatusError{Status: protocol.StatusBusy}
)

// meanings are written for the person reading a CLI error line, not for the protocol lawyer.
var meanings = map[protocol.Status]string{
	protocol.StatusBadMagic:            "the server did not recognise the frame (magic is not TAU)",
	protocol.StatusBadVersion:          "the server does not speak this protocol version",
	protocol.StatusBadOpcode:           "the server does not know this request",
	protocol.StatusPayloadTooLarge:     "the request is larger than the server accepts",
	protocol.StatusNotAuthenticated:    "the connection has not sent CONNECT with a certificate",
	protocol.StatusAuthFailed:          "the certificate does not match the server's",
	protocol.StatusSeriesNotFound:      "no series has that label",
	protocol.StatusSeriesAlreadyExists: "a series with that label already exists",
	protocol.StatusInvalidPayload:      "the request is malformed (a wrong payload length, or a field the server refuses, such as an unknown lens transform)",
	protocol.StatusInternalError:       "the server could not do it (catalog or lens capacity full, or storage failure)",
	protocol.StatusOutOfOrder:          "the timestamp is not after the series' last point",
	protocol.StatusLensNotFound:        "no lens has that label",
	protocol.StatusLensAlreadyExists:   "a lens with that label already exists",
	protocol.StatusBusy:                "the server is overloaded; nothing was done, try again later",
}

// Meaning is a short explanation of a status code.
func Meaning(s protocol.Status) string {
	if m, ok := meanings[s]; ok {
		return m
	}
	return "a status code this client does not know"
}

// ErrClosed is returned for requests on a connection after Close.
var ErrClosed = errors.New("tau: connection closed")

// ErrUnexpectedAnswer means the server answered with a frame that does not fit the request
// (e.g. OK to a PING): a server bug, not a status.
var ErrUnexpectedAnswer = errors.New("tau: unexpected answer")

// ConnError means the connection could not be made (Dial is true) or broke. A request that
// gets it may or may not have been carried out by the server.
type ConnError struct {
	Addr string
	Dial bool
	Err  error
}

func (e *ConnError) Error() string {
	if e.Dial {
		return "tau: cannot connect to " + e.Addr + ": " + describe(e.Err)
	}
	return "tau: connection to " + e.Addr + " lost: " + describe(e.Err)
}

func (e *ConnError) Unwrap() error { return e.Err }

// describe shortens the usual causes to what a person needs to read.
func describe(err error) string {
	var op *net.OpError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the server closed the connection"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "timed out"
	case errors.As(err, &op) && op.Err != nil:
		return op.Err.Error()
	}
	return err.Error()
}

// closedByServer is an ERR the server sent with no request waiting for it: its way of saying
// why it is closing the connection (busy at shutdown).
type closedByServer struct{ status protocol.Status }

func (e *closedByServer) Error() string {
	return "the server ended the connection with " + e.status.String() + ": " + Meaning(e.status)
}

func (e *closedByServer) Unwrap() error { return &StatusError{Status: e.status} }

// unsolicited describes a frame that arrived when no request was waiting.
func unsolicited(h protocol.Header, p []byte) error {
	if h.Opcode == protocol.OpErr && len(p) == 1 {
		return &closedByServer{status: protocol.Status(p[0])}
	}
	return fmt.Errorf("%w: %s frame with no request waiting", ErrUnexpectedAnswer, h.Opcode)
}
