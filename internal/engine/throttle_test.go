package engine

import (
	"testing"
	"time"
)

func TestThrottle(t *testing.T) {
	clock := time.Unix(1000, 0)
	th := newThrottle(time.Minute)
	th.now = func() time.Time { return clock }
	steps := []struct {
		advance time.Duration
		ok      bool
		skipped int
	}{
		{0, true, 0},            // the first event is logged
		{time.Second, false, 0}, // then held back for a period
		{30 * time.Second, false, 0},
		{29 * time.Second, true, 2}, // a period after the last line: logged, with the two held back
		{time.Minute, true, 0},
		{59 * time.Second, false, 0},
		{time.Hour, true, 1},
	}
	for i, s := range steps {
		clock = clock.Add(s.advance)
		if ok, skipped := th.allow(); ok != s.ok || skipped != s.skipped {
			t.Fatalf("step %d (+%v): allow() = %v, %d; want %v, %d", i, s.advance, ok, skipped, s.ok, s.skipped)
		}
	}
}
