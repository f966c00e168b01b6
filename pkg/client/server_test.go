package client_test

import (
	"testing"

	"github.com/taudb/tau/pkg/client/clienttest"
)

// serverAddr starts a server for the tests that need only the protocol's plain behaviour.
func serverAddr(t *testing.T) string {
	t.Helper()
	return clienttest.Start(t, nil).Addr
}
