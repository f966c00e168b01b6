package auth

import "github.com/taudb/tau/pkg/protocol"

// Session is one connection's authentication state (R5): unauthenticated until a CONNECT
// succeeds; a failed CONNECT ends it.
type Session struct {
	keeper        *Keeper
	authenticated bool
}

// NewSession starts unauthenticated.
func NewSession(k *Keeper) Session { return Session{keeper: k} }

// Authenticated reports whether a CONNECT has succeeded.
func (s *Session) Authenticated() bool { return s.authenticated }

// Connect checks a CONNECT payload; on failure the session is no longer authenticated (the
// server closes the connection anyway).
func (s *Session) Connect(cert []byte) bool {
	s.authenticated = s.keeper.Check(cert)
	return s.authenticated
}

// Allowed reports whether op may be handled in the current state (R0, R5).
func (s *Session) Allowed(op protocol.Opcode) bool {
	return s.authenticated || op == protocol.OpConnect || op == protocol.OpDisconnect
}
