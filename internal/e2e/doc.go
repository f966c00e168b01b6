// Package e2e holds the end-to-end tests: each starts a real server in-process on loopback
// ports and speaks raw TAU frames to it over TCP. Test names carry the docs/protocol.md rule they
// prove (TestR5_…).
package e2e
