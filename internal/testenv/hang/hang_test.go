package hang

import (
	"testing"
	"time"
)

// fakeT is a testing.TB with a chosen deadline.
type fakeT struct {
	testing.TB
	deadline time.Time
	ok       bool
}

func (f fakeT) Deadline() (time.Time, bool) { return f.deadline, f.ok }

func TestDeadline(t *testing.T) {
	now := time.Now()
	cases := []struct {
		name     string
		t        testing.TB
		earliest time.Duration // from now; Deadline must lie in [earliest, latest]
		latest   time.Duration
		zero     bool
	}{
		{"no -timeout", fakeT{}, 0, 0, true},
		{"ten minutes left: 30 s kept back", fakeT{deadline: now.Add(10 * time.Minute), ok: true},
			10*time.Minute - 31*time.Second, 10*time.Minute - 29*time.Second, false},
		{"a minute left: a quarter kept back", fakeT{deadline: now.Add(time.Minute), ok: true},
			44 * time.Second, 46 * time.Second, false},
		{"a benchmark has none", &testing.B{}, 0, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := Deadline(tc.t)
			if tc.zero {
				if !d.IsZero() || After(tc.t) != nil || Passed(tc.t) {
					t.Fatalf("Deadline = %v, want none", d)
				}
				return
			}
			if d.Before(now.Add(tc.earliest)) || d.After(now.Add(tc.latest)) {
				t.Fatalf("Deadline = now%+v, want between now+%v and now+%v", d.Sub(now), tc.earliest, tc.latest)
			}
		})
	}
}

func TestPassed(t *testing.T) {
	if !Passed(fakeT{deadline: time.Now().Add(-time.Second), ok: true}) {
		t.Fatal("a deadline in the past has not passed")
	}
	if Passed(fakeT{deadline: time.Now().Add(time.Hour), ok: true}) {
		t.Fatal("a deadline an hour away has passed")
	}
	<-After(fakeT{deadline: time.Now().Add(-time.Second), ok: true}) // fires at once (a hang otherwise)
}
