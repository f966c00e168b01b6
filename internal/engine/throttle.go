package engine

import (
	"sync"
	"time"
)

// throttle lets one log line through per period and counts the events it held back, so a flood
// of the same refusal (a client creating series into a full catalog in a loop) is said once a
// period, with how many there were, instead of once an event.
type throttle struct {
	period time.Duration
	now    func() time.Time // time.Now; tests step it

	mu      sync.Mutex
	next    time.Time // no line before this
	skipped int       // events since the last line that printed none
}

func newThrottle(period time.Duration) *throttle {
	return &throttle{period: period, now: time.Now}
}

// allow reports whether this event may be logged and, if so, how many events before it were
// not.
func (t *throttle) allow() (ok bool, skipped int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if now.Before(t.next) {
		t.skipped++
		return false, 0
	}
	skipped, t.skipped = t.skipped, 0
	t.next = now.Add(t.period)
	return true, skipped
}
