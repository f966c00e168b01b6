package storage

import "testing"

func TestTakeBackKeepsThePrefix(t *testing.T) {
	for _, tc := range []struct{ points, keep int }{{0, 0}, {5, 5}, {5, 3}, {300, 0}, {300, 121}, {300, 240}, {300, 299}} {
		s := NewSeries()
		for i := 1; i <= tc.points; i++ {
			s.Append(int64(i), uint64(i))
		}
		s.TakeBack(tc.keep)
		if s.Len() != tc.keep {
			t.Fatalf("%d points, take back to %d: %d left", tc.points, tc.keep, s.Len())
		}
		for i := 1; i <= tc.points; i++ {
			bits, found := s.Lookup(int64(i))
			if want := i <= tc.keep; found != want || (found && bits != uint64(i)) {
				t.Fatalf("%d points, take back to %d: point %d found=%v bits=%d", tc.points, tc.keep, i, found, bits)
			}
		}
		if last, ok := s.LastTimestamp(); ok != (tc.keep > 0) || (ok && last != int64(tc.keep)) {
			t.Fatalf("%d points, take back to %d: last %d, %v", tc.points, tc.keep, last, ok)
		}
		s.Append(int64(tc.keep+1), 7) // appends go on after it
		if bits, found := s.Lookup(int64(tc.keep + 1)); !found || bits != 7 {
			t.Fatalf("append after a take-back: %d, %v", bits, found)
		}
	}
}
