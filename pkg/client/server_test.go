package client_test

import (
	"testing"

	"github.com/taudb/tau/internal/server/servertest"
)

// serverAddr starts a real in-process server (on disk, in a temp dir) for the tests that need
// only the protocol's plain behaviour; the fake of clienttest serves the fault-injection tests.
func serverAddr(t *testing.T) string {
	t.Helper()
	return servertest.Start(t).Addr()
}
