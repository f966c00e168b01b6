// Package hang lets tests wait for a condition without turning a busy machine into a failure.
//
// A test that waits for something that must happen (a connection closed, a metric reaching a
// value, a server stopping) needs a bound only to report a hang. A fixed wall-clock bound (60 s
// on a socket, a loop of 20 s) is a timing assert in disguise: the same test passes alone in
// 15 s and fails when other work loads the cores. The bound here is the test binary's own
// -timeout (testing.T.Deadline), less a margin to report the hang cleanly before the binary
// panics: the verdict then depends on the condition, and a hang still fails, with a message.
package hang

import (
	"testing"
	"time"
)

// maxMargin is the most of the remaining time kept back to report a hang and clean up.
const maxMargin = 30 * time.Second

// Deadline is when a wait in t should give up: the test binary's deadline less a margin, or
// the zero time (no deadline: wait for ever, as net.Conn.SetDeadline takes it) when the binary
// runs without -timeout or t is not a test (a benchmark, a fuzz target's corpus runner).
func Deadline(t testing.TB) time.Time {
	d, ok := testDeadline(t)
	if !ok {
		return time.Time{}
	}
	return d.Add(-min(maxMargin, time.Until(d)/4))
}

func testDeadline(t testing.TB) (time.Time, bool) {
	dt, ok := t.(interface{ Deadline() (time.Time, bool) })
	if !ok {
		return time.Time{}, false
	}
	return dt.Deadline()
}

// After is a channel that fires at Deadline, or never without one: the hang case of a select.
func After(t testing.TB) <-chan time.Time {
	d := Deadline(t)
	if d.IsZero() {
		return nil // a nil channel never fires
	}
	return time.After(time.Until(d))
}

// Passed reports whether Deadline has passed: the exit of a polling loop that waits for a
// condition.
func Passed(t testing.TB) bool {
	d := Deadline(t)
	return !d.IsZero() && time.Now().After(d)
}
