package server

import (
	"github.com/taudb/tau/internal/auth"
	"github.com/taudb/tau/pkg/protocol"
)

// session is one connection's authentication state (R5): unauthenticated until a CONNECT
// succeeds; a failed CONNECT ends it.
type session struct {
	keeper        *auth.Keeper
	authenticated bool
}

// newSession starts unauthenticated.
func newSession(k *auth.Keeper) session { return session{keeper: k} }

// Authenticated reports whether a CONNECT has succeeded.
func (s *session) Authenticated() bool { return s.authenticated }

// Connect checks a CONNECT payload and reports the position of the certificate it matched;
// on failure the session is no longer authenticated (the server closes the connection anyway).
func (s *session) Connect(cert []byte) (pos int, ok bool) {
	pos, s.authenticated = s.keeper.Check(cert)
	return pos, s.authenticated
}

// Allowed reports whether op may be handled in the current state (R0, R5).
func (s *session) Allowed(op protocol.Opcode) bool {
	return s.authenticated || op == protocol.OpConnect || op == protocol.OpDisconnect
}
